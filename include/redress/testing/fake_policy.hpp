// FakePolicy: a stand-in policy with scripted outcomes, for testing code that uses a policy
// (docs/testing.md).
#pragma once

#include <algorithm>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <redress/attempt.hpp>
#include <redress/classify.hpp>
#include <redress/detail/idempotency_key.hpp>
#include <redress/errors.hpp>
#include <redress/event.hpp>
#include <redress/outcome.hpp>
#include <redress/policy.hpp>
#include <redress/retry.hpp>

namespace redress::testing {

/// Options bound once for several calls of a test policy: what `RecordingPolicy::context()`
/// and `FakePolicy::context()` return — the same type a real policy's `context()` returns.
template <class P>
using BoundContext = PolicyContext<P>;

/// A scripted failure of `FakePolicy`: how the operation "stopped", without running it.
struct FakeFailure {
    /// Why the fake operation stopped.
    StopReason stop_reason = StopReason::MaxAttemptsGlobal;
    /// The class of its last failure (ignored for `CircuitOpen`).
    ErrorClass klass = ErrorClass::Transient;
    /// Attempts the outcome reports (ignored for `CircuitOpen`, which reports 0).
    int attempts = 1;
    /// The exception `call()` rethrows and the outcome carries; empty: one is made for the
    /// class (the marker errors for RateLimit, ServerError, Concurrency, Permanent; a
    /// `std::runtime_error` otherwise).
    std::exception_ptr error{};
    /// `next_sleep` of the outcome, for `Scheduled`.
    std::optional<Duration> next_sleep{};
};

/// A stand-in policy for tests of code that takes a policy: it never retries and never
/// sleeps. Each call takes the next step of a script — run the function once, or report a
/// scripted failure without running it — and the last step repeats once the script is used
/// up. `call()` returns or throws, and `execute()` reports, exactly as a `Policy` whose
/// operation ended that way: a failure rethrows its exception, `Aborted` throws
/// `AbortRetryError`, `Scheduled` throws `RetryExhaustedError`, `CircuitOpen` throws
/// `CircuitOpenError`. The per-call `on_metric` / `on_log` hooks receive the one terminal
/// event a policy would emit (`success`, `max_attempts_exceeded`, `circuit_rejected`, ...).
///
/// ```
/// auto fake = redress::testing::FakePolicy::fail_with(redress::StopReason::MaxAttemptsGlobal,
///                                                     redress::ErrorClass::ServerError)
///                 .then_succeed();
/// ```
/// A handle: copies share the script and the record, so a test keeps one copy while the
/// code under test holds another. Thread-safe (one mutex); not meant for speed.
class FakePolicy {
public:
    /// Runs every function once and reports how it went (same as `always_succeed()`).
    FakePolicy() : state_(std::make_shared<State>()) {}

    /// Every call runs the function once: its value is returned; an exception it throws is
    /// classified with `default_classifier` and reported as a failure that was not retried
    /// (`NonRetryableClass` for Permanent/Auth/Permission, `MaxAttemptsGlobal` otherwise).
    [[nodiscard]] static FakePolicy always_succeed() { return FakePolicy{}; }

    /// Every call fails with `reason` and class `klass` after `attempts` attempts, without
    /// running the function.
    [[nodiscard]] static FakePolicy fail_with(StopReason reason, ErrorClass klass = ErrorClass::Transient) {
        return fail_with(FakeFailure{.stop_reason = reason, .klass = klass});
    }
    /// Every call fails as `failure` describes, without running the function.
    [[nodiscard]] static FakePolicy fail_with(FakeFailure failure) {
        FakePolicy p;
        p.then_fail_with(std::move(failure));
        return p;
    }
    /// Every call is rejected as by an open circuit breaker (`CircuitOpenError`).
    [[nodiscard]] static FakePolicy reject() { return fail_with(FakeFailure{.stop_reason = StopReason::CircuitOpen}); }

    /// Appends a step that runs the function once.
    FakePolicy& then_succeed() {
        push(std::nullopt);
        return *this;
    }
    /// Appends a scripted failure.
    FakePolicy& then_fail_with(StopReason reason, ErrorClass klass = ErrorClass::Transient) {
        return then_fail_with(FakeFailure{.stop_reason = reason, .klass = klass});
    }
    /// Appends a scripted failure.
    FakePolicy& then_fail_with(FakeFailure failure) {
        if (!failure.error) failure.error = make_error(failure.klass);
        push(std::move(failure));
        return *this;
    }
    /// Appends a rejection by an open breaker.
    FakePolicy& then_reject() { return then_fail_with(FakeFailure{.stop_reason = StopReason::CircuitOpen}); }

    /// Like `Policy::call()`: the function's value, or the scripted failure thrown.
    template <class F>
    auto call(F&& fn, const CallOptions& options = {}) const -> redress::detail::operation_result_t<std::remove_reference_t<F>> {
        using T = redress::detail::operation_result_t<std::remove_reference_t<F>>;
        auto out = run<T>(fn, options);
        return redress::detail::value_or_throw<T, true>(std::move(out), CircuitState::Open, nullptr);
    }

    /// Like `Policy::execute()`: the outcome of the step.
    template <class F>
    auto execute(F&& fn, const CallOptions& options = {}) const
        -> Outcome<redress::detail::operation_result_t<std::remove_reference_t<F>>> {
        return run<redress::detail::operation_result_t<std::remove_reference_t<F>>>(fn, options);
    }

    /// Binds options for several calls, like `Policy::context()`.
    [[nodiscard]] BoundContext<FakePolicy> context(CallOptions options) const {
        return BoundContext<FakePolicy>(*this, std::move(options));
    }

    /// Calls made (`call()` and `execute()`).
    [[nodiscard]] int calls() const {
        std::lock_guard lock(state_->mutex);
        return state_->calls;
    }
    /// Times a function actually ran.
    [[nodiscard]] int runs() const {
        std::lock_guard lock(state_->mutex);
        return state_->runs;
    }
    /// The operation name of every call, in order (empty strings for unnamed calls).
    [[nodiscard]] std::vector<std::string> operations() const {
        std::lock_guard lock(state_->mutex);
        return state_->operations;
    }

private:
    using Step = std::optional<FakeFailure>;  // empty: run the function once

    struct State {
        std::mutex mutex;
        std::vector<Step> steps{Step{}};
        bool scripted = false;  // the default step is replaced by the first pushed one
        std::size_t next = 0;
        int calls = 0;
        int runs = 0;
        std::vector<std::string> operations;
    };

    void push(Step step) {
        std::lock_guard lock(state_->mutex);
        if (!state_->scripted) {
            state_->steps.clear();
            state_->scripted = true;
        }
        state_->steps.push_back(std::move(step));
    }

    static std::exception_ptr make_error(ErrorClass klass) {
        const std::string what = "redress::testing::FakePolicy: scripted " + std::string(to_string(klass)) + " failure";
        switch (klass) {
            case ErrorClass::RateLimit: return std::make_exception_ptr(RateLimitError(what));
            case ErrorClass::ServerError: return std::make_exception_ptr(ServerError(what));
            case ErrorClass::Concurrency: return std::make_exception_ptr(ConcurrencyError(what));
            case ErrorClass::Permanent: return std::make_exception_ptr(PermanentError(what));
            default: return std::make_exception_ptr(std::runtime_error(what));
        }
    }


    static void emit(const CallOptions& options, const Event& e) {
        for (const auto* hook : {&options.on_metric, &options.on_log}) {
            if (!*hook) continue;
            try {
                (*hook)(e);
            } catch (...) {  // observing never changes the outcome
            }
        }
    }

    /// Runs `fn` once, in the form it takes. An `Attempt`-taking operation sees attempt 1, no
    /// deadline (`time_left` is `Duration::max()`: a fake has no clock), the call's stop token
    /// and name, and a fresh idempotency key.
    template <class F>
    static decltype(auto) run_operation(F& fn, const CallOptions& options) {
        if constexpr (redress::detail::TakesAttempt<F>) {
            redress::detail::IdempotencyKey key;
            const Attempt attempt{.number = 1,
                                  .time_left = Duration::max(),
                                  .deadline = std::nullopt,
                                  .stop_token = options.stop_token,
                                  .operation = options.operation,
                                  .idempotency_key = key.get()};
            return std::invoke(fn, attempt);
        } else {
            return redress::detail::invoke_operation(fn, options.stop_token);
        }
    }

    template <class T, class F>
    Outcome<T> run(F& fn, const CallOptions& options) const {
        Step step;
        {
            std::lock_guard lock(state_->mutex);
            ++state_->calls;
            state_->operations.emplace_back(options.operation);
            step = state_->steps[std::min(state_->next, state_->steps.size() - 1)];
            ++state_->next;
            if (!step) ++state_->runs;
        }
        Outcome<T> out;
        out.timeline = options.capture_timeline.make();
        Event e;
        e.operation = options.operation;
        e.tags = options.tags.view();
        std::string error_type;
        if (!step) {
            out.attempts = 1;
            try {
                if constexpr (std::is_void_v<T>) {
                    run_operation(fn, options);
                } else {
                    out.value.emplace(run_operation(fn, options));
                }
                out.ok = true;
                e.name = EventName::Success;
                e.attempt = 1;
            } catch (const AbortRetryError&) {
                out.stop_reason = StopReason::Aborted;  // an abort, not a failure: no last_*
                e.name = EventName::Aborted;
                e.stop_reason = StopReason::Aborted;
            } catch (...) {
                out.last_exception = std::current_exception();
                out.cause = FailureCause::Exception;
                out.last_class = default_classifier(out.last_exception).klass;
                out.stop_reason = is_retryable(*out.last_class) ? StopReason::MaxAttemptsGlobal : StopReason::NonRetryableClass;
            }
        } else if (step->stop_reason == StopReason::CircuitOpen) {
            out.stop_reason = StopReason::CircuitOpen;
            e.name = EventName::CircuitRejected;
            e.state = CircuitState::Open;
        } else {
            out.stop_reason = step->stop_reason;
            out.attempts = step->attempts;
            out.next_sleep = step->next_sleep;
            if (step->stop_reason != StopReason::Aborted) {
                out.last_class = step->klass;
                out.last_exception = step->error;
                out.cause = FailureCause::Exception;
            }
        }
        if (!out.ok && out.stop_reason && *out.stop_reason != StopReason::CircuitOpen) {
            e.name = redress::detail::event_for(*out.stop_reason);
            e.attempt = out.attempts;
            e.stop_reason = out.stop_reason;
            e.error_class = out.last_class;
            e.cause = out.cause;
            if (out.last_exception) {
                error_type = redress::error_type_name(out.last_exception);
                e.error_type = error_type;
            }
            e.sleep = out.next_sleep.value_or(Duration::zero());
        }
        emit(options, e);
        if (out.timeline) out.timeline->record(e, Duration::zero());
        return out;
    }

    std::shared_ptr<State> state_;
};

}  // namespace redress::testing
