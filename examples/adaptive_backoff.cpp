// Adaptive backoff: scale a fallback strategy by the recent failure rate. It never goes
// below the fallback, and returns to it as successes dominate.
#include <redress/redress.hpp>
#include <redress/testing.hpp>

#include <cstdio>
#include <vector>

using namespace std::chrono_literals;

int main() {
    redress::testing::ManualClock clock;

    // snippet-begin: usage-patterns-17
    auto strategy = redress::adaptive(redress::decorrelated_jitter({.max = 10s}), {
        .window = 60s,
        .target_success = 0.9,
        .max_multiplier = 5.0,
        .clock = clock,
    });
    // snippet-end: usage-patterns-17

    // With Retry-After as well, wrap adaptive() inside retry_after_or so hints stay untouched.
    // snippet-begin: usage-patterns-18
    auto with_hints = redress::retry_after_or(redress::adaptive(redress::decorrelated_jitter({.max = 10s})));
    // snippet-end: usage-patterns-18
    (void)with_hints;

    redress::RetryPolicy policy{redress::Retry{
        .strategy = strategy,
        .max_attempts = 4,
        .sleeper = redress::testing::AdvancingSleeper(clock),
        .clock = clock,
    }};

    const double calm = strategy.multiplier();
    (void)policy.execute([]() -> int { throw redress::ServerError("503"); });  // an outage
    const double stressed = strategy.multiplier();
    for (int i = 0; i < 100; ++i) (void)policy.execute([] { return 1; });  // recovery
    const double recovered = strategy.multiplier();

    std::printf("multiplier: calm %.2f, after failures %.2f, after successes %.2f\n", calm, stressed, recovered);
    return calm == 1.0 && stressed > 1.0 && stressed <= 5.0 && recovered < stressed ? 0 : 1;
}
