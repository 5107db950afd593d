// Uses the core only: no fmt, no Asio. C++20 must come from redress::redress (or, compiled
// without CMake, from the -std=c++20 the user passes). A policy with a retry and a circuit
// breaker on a virtual clock, so the output is the same on every run.
#include <redress/redress.hpp>
#include <redress/testing.hpp>

#include <iostream>

static_assert(__cplusplus >= 202002L, "redress needs C++20");

using namespace std::chrono_literals;

int main() {
    redress::testing::ManualClock clock;
    redress::CircuitBreaker breaker{{.failure_threshold = 2, .window = 60s, .recovery_timeout = 30s, .clock = clock}};
    redress::Policy policy{
        redress::Retry{
            .classifier = redress::default_classifier,
            .strategy = redress::exponential({.base = 100ms, .max = 2s}),
            .max_attempts = 4,
            .sleeper = redress::testing::AdvancingSleeper(clock),
            .clock = clock,
        },
        breaker,
    };

    int calls = 0;
    const auto outcome = policy.execute([&] {
        if (++calls < 3) throw redress::ServerError("503 Service Unavailable");
        return 42;
    });
#if defined(REDRESS_SEPARATE_COMPILATION)
    // Built against redress::compiled: the breaker's core comes from its static library.
    std::cout << "consumer_compiled: ok="
#else
    std::cout << "consumer: ok="
#endif
              << outcome.ok << " value=" << outcome.value.value_or(0)
              << " attempts=" << outcome.attempts << " elapsed_ms="
              << std::chrono::duration_cast<std::chrono::milliseconds>(outcome.elapsed).count()
              << " breaker=" << breaker.state()
              << " parse=" << redress::parse<redress::StopReason>("MAX_ATTEMPTS_GLOBAL").value_or(redress::StopReason::Aborted)
              << '\n';
    return 0;
}
