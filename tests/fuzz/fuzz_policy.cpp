// libFuzzer target: a Retry + CircuitBreaker + Budget built from fuzzed options runs a fuzzed
// script of attempt outcomes and clock advances through execute(), in virtual time, and the
// invariants of the contract hold on every operation:
//   * attempts <= max_attempts; a success has no stop reason and no failure;
//   * elapsed <= deadline + the longest single attempt (a running attempt is not interrupted);
//   * the stop reason is one the configuration allows (no budget: never BudgetExhausted, ...);
//   * breaker events follow legal edges only, and it never opens below its threshold;
//   * the budget never admits more than max_retries retries within any window.
// Options that are invalid must be rejected with InvalidOption, never accepted or crash.
#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <redress/redress.hpp>
#include <redress/testing.hpp>

namespace {

using namespace std::chrono_literals;
using redress::Duration;
using redress::ErrorClass;
using redress::EventName;
using redress::StopReason;

[[noreturn]] void violated(const char*) { __builtin_trap(); }
#define INVARIANT(cond) \
    do {                \
        if (!(cond)) violated(#cond); \
    } while (0)

/// What one attempt of the script does.
struct Attempt {
    int klass = 0;              ///< 0..7 an ErrorClass, 8 out of range, 9 success, 10 AbortRetryError
    Duration cost{};            ///< virtual time the attempt takes
    std::optional<Duration> retry_after{};
};

struct Thrown : std::runtime_error {
    int klass;
    std::optional<Duration> retry_after;
    Thrown(int k, std::optional<Duration> r) : std::runtime_error("scripted"), klass(k), retry_after(r) {}
};

struct ScriptClassifier {
    redress::Classification operator()(const std::exception_ptr& ep) const {
        try {
            std::rethrow_exception(ep);
        } catch (const Thrown& t) {
            return {static_cast<ErrorClass>(t.klass), t.retry_after, {}};
        } catch (...) {
        }
        return {ErrorClass::Unknown};
    }
};

Duration duration_between(FuzzedDataProvider& in, Duration lo, Duration hi) {
    return Duration(in.ConsumeIntegralInRange<Duration::rep>(lo.count(), hi.count()));
}

redress::AnyStrategy strategy_from(FuzzedDataProvider& in) {
    const Duration base = duration_between(in, 0ns, 2s);
    const Duration max = base + duration_between(in, 0ns, 10s);
    switch (in.ConsumeIntegralInRange<int>(0, 6)) {
        case 0: return redress::constant(duration_between(in, 0ns, 5s));
        case 1: return redress::full_jitter({.base = base, .max = max});
        case 2: return redress::equal_jitter({.base = base, .max = max});
        case 3: return redress::decorrelated_jitter({.base = base, .max = max});
        case 4: return redress::exponential({.base = base, .max = max});
        case 5: return redress::retry_after_or(redress::constant(base), duration_between(in, 0ns, 1s));
        default: return redress::linear({.base = base, .step = base, .max = max});
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    redress::testing::ManualClock clock{redress::TimePoint{} + std::chrono::hours(in.ConsumeIntegralInRange<int>(0, 2'000'000))};
    redress::seed_random(in.ConsumeIntegral<std::uint64_t>());

    // ---- options (some invalid: they must be rejected with InvalidOption) -------------
    const int max_attempts = in.ConsumeIntegralInRange<int>(0, 8);
    const Duration deadline = duration_between(in, 0ns, 20s);
    const int max_retries = in.ConsumeIntegralInRange<int>(-1, 12);
    const Duration budget_window = duration_between(in, 0ns, 10s);
    const int threshold = in.ConsumeIntegralInRange<int>(0, 6);
    const Duration breaker_window = duration_between(in, 0ns, 10s);
    const Duration recovery = duration_between(in, 0ns, 5s);
    redress::ErrorClassSet trip_on;
    for (int k = 0; k < 8; ++k)
        if (in.ConsumeBool()) trip_on.insert(static_cast<ErrorClass>(k));
    std::optional<int> max_unknown;
    if (in.ConsumeBool()) max_unknown = in.ConsumeIntegralInRange<int>(-1, 4);

    std::optional<redress::Budget> budget;
    std::optional<redress::CircuitBreaker> breaker;
    std::optional<redress::Policy<redress::Retry<ScriptClassifier, redress::AnyStrategy>, redress::CircuitBreaker>> policy;
    try {
        budget.emplace(redress::BudgetOptions{.max_retries = max_retries, .window = budget_window, .clock = clock});
        breaker.emplace(redress::CircuitBreakerOptions{.failure_threshold = threshold,
                                                       .window = breaker_window,
                                                       .recovery_timeout = recovery,
                                                       .trip_on = trip_on,
                                                       .clock = clock});
        policy.emplace(redress::Retry<ScriptClassifier, redress::AnyStrategy>{.strategy = strategy_from(in),
                                                                              .deadline = deadline,
                                                                              .max_attempts = max_attempts,
                                                                              .max_unknown_attempts = max_unknown,
                                                                              .budget = *budget,
                                                                              .clock = clock},
                       *breaker);
    } catch (const redress::InvalidOption& e) {
        const bool invalid = max_attempts < 1 || deadline <= 0ns || max_retries < 0 || budget_window <= 0ns ||
                             threshold < 1 || breaker_window <= 0ns || (max_unknown && *max_unknown < 0);
        INVARIANT(invalid);
        return 0;
    }

    // ---- the script ------------------------------------------------------------------------
    std::vector<redress::TimePoint> retries;          // when each retry was admitted
    std::deque<redress::TimePoint> trip_failures;     // trip-class operation failures since the last close
    redress::CircuitState state = redress::CircuitState::Closed;

    const int operations = in.ConsumeIntegralInRange<int>(1, 24);
    for (int op = 0; op < operations && in.remaining_bytes() > 0; ++op) {
        std::vector<Attempt> script;
        const int n = in.ConsumeIntegralInRange<int>(1, 10);
        Duration longest{};
        for (int i = 0; i < n; ++i) {
            Attempt a;
            a.klass = in.ConsumeIntegralInRange<int>(0, 10);
            a.cost = duration_between(in, 0ns, 3s);
            if (in.ConsumeBool()) a.retry_after = duration_between(in, 0ns, 30s);
            if (a.cost > longest) longest = a.cost;
            script.push_back(a);
        }
        std::size_t next = 0;
        auto operation = [&]() -> int {
            const Attempt& a = script[next < script.size() ? next : script.size() - 1];
            ++next;
            clock.advance(a.cost);
            if (a.klass == 9) return 1;
            if (a.klass == 10) throw redress::AbortRetryError();
            throw Thrown(a.klass, a.retry_after);
        };

        std::vector<EventName> events;
        const redress::CircuitState state_before = state;
        bool opened_from_closed = false;
        redress::CallOptions options{
            .operation = "fuzz",
            .on_metric =
                [&](const redress::Event& e) {
                    events.push_back(e.name);
                    const auto now = clock.now();
                    switch (e.name) {
                        case EventName::Retry: retries.push_back(now); break;
                        case EventName::CircuitOpened:
                            INVARIANT(state != redress::CircuitState::Open);
                            opened_from_closed = state == redress::CircuitState::Closed;
                            state = redress::CircuitState::Open;
                            break;
                        case EventName::CircuitHalfOpen:
                            INVARIANT(state == redress::CircuitState::Open);
                            state = redress::CircuitState::HalfOpen;
                            break;
                        case EventName::CircuitClosed:
                            INVARIANT(state == redress::CircuitState::HalfOpen);
                            state = redress::CircuitState::Closed;
                            trip_failures.clear();
                            break;
                        case EventName::CircuitRejected: INVARIANT(state != redress::CircuitState::Closed); break;
                        case EventName::BudgetBackendUnavailable: violated("a window budget always answers");
                        default: break;
                    }
                },
            .sleeper = redress::testing::AdvancingSleeper(clock),
        };
        const auto started = clock.now();
        const auto out = policy->execute(operation, options);

        // Attempts and outcome shape.
        INVARIANT(out.attempts >= 0 && out.attempts <= max_attempts);
        if (out.ok) {
            INVARIANT(!out.stop_reason && !out.last_class && !out.cause && !out.last_exception);
        } else {
            INVARIANT(out.stop_reason.has_value());
        }
        if (out.stop_reason == StopReason::CircuitOpen) INVARIANT(out.attempts == 0);
        if (out.stop_reason == StopReason::BudgetExhausted) INVARIANT(budget.has_value());
        if (out.stop_reason == StopReason::MaxUnknownAttempts) INVARIANT(max_unknown.has_value());
        if (out.stop_reason == StopReason::MaxAttemptsPerClass || out.stop_reason == StopReason::NoStrategy ||
            out.stop_reason == StopReason::Scheduled)
            violated("a stop reason this configuration cannot give");
        if (out.last_class) INVARIANT(static_cast<int>(*out.last_class) >= 0 && static_cast<int>(*out.last_class) < 8);

        // Time: the deadline is checked between attempts; a running attempt is not cut.
        INVARIANT(out.elapsed == clock.now() - started);
        if (out.stop_reason != StopReason::CircuitOpen) INVARIANT(out.elapsed <= deadline + longest);

        // The breaker never opens below its threshold: it is told one result per operation,
        // so count the operations that failed with a trip class while it was closed.
        if (!out.ok && out.stop_reason != StopReason::Aborted && out.stop_reason != StopReason::CircuitOpen &&
            out.last_class && trip_on.contains(*out.last_class) && state_before == redress::CircuitState::Closed) {
            trip_failures.push_back(clock.now());
        }
        if (opened_from_closed) {
            int within = 0;
            for (const auto& t : trip_failures)
                if (clock.now() - t < breaker_window) ++within;
            INVARIANT(within >= threshold);
            trip_failures.clear();
        }
        if (in.ConsumeBool()) clock.advance(duration_between(in, 0ns, 5s));
    }

    // The budget never admitted more than max_retries within any window-long interval.
    for (std::size_t i = 0; i < retries.size(); ++i) {
        std::size_t j = i;
        while (j < retries.size() && retries[j] - retries[i] < budget_window) ++j;
        INVARIANT(static_cast<int>(j - i) <= max_retries);
    }
    return 0;
}
