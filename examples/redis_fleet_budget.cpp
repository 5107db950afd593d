// A retry budget shared by every process that names the same Redis key: run this program
// twice and the second run finds the fleet's retries already spent by the first.
//   redress_example_redis_fleet_budget [port] [key]      (a Redis on 127.0.0.1, default 6379)
#include <redress/contrib/redis.hpp>
#include <redress/redress.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

using namespace std::chrono_literals;

int main(int argc, char** argv) {
    const int port = argc > 1 ? std::atoi(argv[1]) : 6379;
    const std::string key = argc > 2 ? argv[2] : "example:payments-retries";

    // snippet-begin: redis-window
    redress::Budget budget = redress::contrib::redis_budget({
        .host = "127.0.0.1",
        .port = port,
        .key = key,  // every process naming this key draws from one budget
        .limit = redress::contrib::RedisWindowLimit{.max_retries = 3, .window = 60s},
        .timeout = 50ms,                                          // per decision, connecting included
        .failure_mode = redress::contrib::FailureMode::FailOpen,  // Redis down: a local budget decides
    });
    redress::RetryPolicy policy{redress::Retry{
        .strategy = redress::constant(10ms),
        .budget = budget,
    }};
    // snippet-end: redis-window

    auto always_down = []() -> int { throw redress::ServerError("503"); };
    const auto outcome = policy.execute(always_down);
    std::printf("attempts=%d retries=%d stop=%s fleet_remaining=%d\n", outcome.attempts, outcome.attempts - 1,
                std::string(redress::to_string(*outcome.stop_reason)).c_str(), budget.remaining());

    // snippet-begin: redis-ratio
    // Retries at most 20 % of the fleet's requests over the last 10 s, plus 1 retry a second.
    redress::Budget ratio = redress::contrib::redis_budget({
        .port = port,
        .key = key + ":ratio",
        .limit = redress::contrib::RedisRatioLimit{.ratio = 0.2, .ttl = 10s, .min_retries_per_second = 1},
        .failure_mode = redress::contrib::FailureMode::FailClosed,  // Redis down: no retries
    });
    // snippet-end: redis-ratio
    std::printf("ratio budget: counts_requests=%d remaining=%d\n", ratio.counts_requests() ? 1 : 0, ratio.remaining());
    return outcome.stop_reason == redress::StopReason::BudgetExhausted ? 0 : 1;
}
