// Per-attempt timeouts: each attempt is bounded independently of the overall deadline. In
// synchronous code the timeout is cooperative: a callable that takes a std::stop_token sees
// a stop request when its attempt runs out of time, and an answer that arrives late counts
// as a timed-out attempt (AttemptTimeoutError, class TRANSIENT), which is retried.
#include <redress/redress.hpp>
#include <redress/testing.hpp>

#include <cstdio>
#include <stop_token>

using namespace std::chrono_literals;

int main() {
    redress::testing::ManualClock clock;
    // snippet-begin: usage-patterns-7
    redress::RetryPolicy policy{redress::Retry{
        .classifier = redress::default_classifier,
        .strategy = redress::decorrelated_jitter({.max = 5s}),
        .deadline = 30s,
        .attempt_timeout = 2s,
        .sleeper = redress::testing::AdvancingSleeper(clock),
        .clock = clock,
    }};
    // snippet-end: usage-patterns-7

    int calls = 0;
    // snippet-begin: usage-patterns-8
    auto outcome = policy.execute([&](std::stop_token stop) {
        ++calls;
        if (calls == 1) clock.advance(3s);  // the first attempt is slow: 3 s > 2 s
        if (stop.stop_requested()) return -1;  // a long task would check this between steps
        return calls;
    });
    // snippet-end: usage-patterns-8

    std::printf("ok=%d value=%d attempts=%d\n", outcome.ok, outcome.value.value_or(0), outcome.attempts);
    return outcome.ok && outcome.value == 2 && outcome.attempts == 2 ? 0 : 1;
}
