// Uses redress::redis: a budget kept on a closed loopback port, so hiredis is linked and
// called, and the decision falls back to the local budget (fail-open).
#include <redress/contrib/redis.hpp>

#include <iostream>

int main() {
    using namespace std::chrono_literals;
    auto budget = std::make_shared<redress::contrib::RedisBudget>(redress::contrib::RedisBudgetOptions{
        .port = 1, .key = "consumer", .limit = redress::contrib::RedisWindowLimit{.max_retries = 1, .window = 1s}});
    const auto first = budget->decide();
    const auto second = budget->decide();
    std::cout << "consumer_redis: first_admitted_unavailable="
              << (first.verdict == redress::BudgetVerdict::AdmittedUnavailable)
              << " second_refused_unavailable=" << (second.verdict == redress::BudgetVerdict::RefusedUnavailable)
              << " answered=" << first.server_time.has_value() << "\n";
    return 0;
}
