// Uses redress::fmt: the target must bring fmt (headers and library) by itself. Prints a
// failed outcome of a Policy<Retry, CircuitBreaker> call, its elapsed time both ways (fmt's
// chrono formatter with `{}`, redress's compact form with fmt_duration) and its stop reason.
#include <redress/fmt.hpp>
#include <redress/redress.hpp>
#include <redress/testing.hpp>

#include <fmt/core.h>
#if FMT_VERSION >= 100000
#include <fmt/std.h>  // std::optional is fmt's to format from fmt 10 on (see docs/observability.md)
#endif

using namespace std::chrono_literals;

int main() {
    redress::testing::ManualClock clock;
    redress::CircuitBreaker breaker{{.failure_threshold = 1, .window = 60s, .recovery_timeout = 30s, .clock = clock}};
    redress::Policy policy{
        redress::Retry{
            .classifier = redress::default_classifier,
            .strategy = redress::exponential({.base = 100ms, .max = 2s}),
            .max_attempts = 3,
            .sleeper = redress::testing::AdvancingSleeper(clock),
            .clock = clock,
            .on_log = [](const redress::Event& e) { fmt::print("consumer_fmt: event {}\n", e); },
        },
        breaker,
    };

    const auto outcome = policy.execute([]() -> int { throw redress::ServerError("503 Service Unavailable"); });
    fmt::print("consumer_fmt: {}\n", outcome);
    fmt::print("consumer_fmt: elapsed {} = {}\n", redress::fmt_duration(outcome.elapsed), outcome.elapsed);
    fmt::print("consumer_fmt: stop_reason {} last_class {} breaker {}\n", outcome.stop_reason, outcome.last_class,
               breaker.state());
    return 0;
}
