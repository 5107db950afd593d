// Retry budgets: one Budget shared by policies caps the retries of all of them together; a
// ratio budget caps them at a share of the requests.
#include <redress/redress.hpp>
#include <redress/testing.hpp>

#include <cstdio>

using namespace std::chrono_literals;

int main() {
    redress::testing::ManualClock clock;
    // snippet-begin: budgets-1
    // snippet-begin: usage-patterns-5
    redress::Budget budget{{.max_retries = 3, .window = 60s, .clock = clock}};
    // snippet-end: usage-patterns-5

    // snippet-begin: usage-patterns-6
    redress::RetryPolicy policy{redress::Retry{
        .classifier = redress::default_classifier,
        .strategy = redress::decorrelated_jitter({.max = 5s}),
        .budget = budget,
        // snippet-hide: usage-patterns-6
        // snippet-hide: budgets-1
        // snippet-show: usage-patterns-6
        .sleeper = redress::testing::AdvancingSleeper(clock),
        .clock = clock,
        // snippet-hide: usage-patterns-6
        // snippet-show: budgets-1
        // snippet-show: usage-patterns-6
    }};
    // snippet-end: usage-patterns-6
    // A second policy given a copy of the budget draws from the same retries.
    redress::RetryPolicy other{redress::Retry{
        .strategy = redress::constant(1s),
        .budget = budget,
        // snippet-hide: budgets-1
        .sleeper = redress::testing::AdvancingSleeper(clock),
        .clock = clock,
        // snippet-show: budgets-1
    }};
    // snippet-end: budgets-1

    auto always_down = []() -> int { throw redress::ServerError("503"); };

    auto first = policy.execute(always_down);  // retries 3 times, then the budget is spent
    auto second = other.execute(always_down);  // the other policy: no retry left in the window
    std::printf("first: attempts=%d %s; second: attempts=%d %s; remaining=%d\n", first.attempts,
                std::string(redress::to_string(*first.stop_reason)).c_str(), second.attempts,
                std::string(redress::to_string(*second.stop_reason)).c_str(), budget.remaining());

    if (first.stop_reason != redress::StopReason::BudgetExhausted || first.attempts != 4) return 1;
    if (second.stop_reason != redress::StopReason::BudgetExhausted || second.attempts != 1) return 1;
    clock.advance(63s);  // the window moves on: retries are available again
    if (budget.remaining() != 3) return 1;

    // snippet-begin: budgets-ratio
    // Retries may be 20 % of the requests of the last 10 s, plus 1 a second whatever the traffic.
    redress::Budget share(redress::RatioBudgetOptions{
        .ratio = 0.2,
        .ttl = 10s,
        .min_retries_per_second = 1,
        // snippet-hide: budgets-ratio
        .clock = clock,
        // snippet-show: budgets-ratio
    });
    redress::RetryPolicy counted{redress::Retry{
        .strategy = redress::constant(100ms),
        .budget = share,  // the policy tells the budget of every operation it starts
        // snippet-hide: budgets-ratio
        .sleeper = redress::testing::AdvancingSleeper(clock),
        .clock = clock,
        // snippet-show: budgets-ratio
    }};
    // snippet-end: budgets-ratio
    for (int i = 0; i < 50; ++i) counted.call([] { return 1; });
    // 50 requests: 0.2 x 50 + 1/s x 10 s = 20 retries
    std::printf("ratio budget after 50 requests: remaining=%d\n", share.remaining());
    return share.remaining() == 20 ? 0 : 1;
}
