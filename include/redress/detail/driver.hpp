// What the sync and coroutine drivers share around the attempt-loop core: the breaker gate
// (asked once before the loop, told once after it), the settling of one attempt's result,
// and the filling of the outcome. The drivers only run the operation and wait.
#pragma once

#include <concepts>
#include <exception>
#include <functional>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

#include <redress/classify.hpp>
#include <redress/detail/attempt_loop.hpp>
#include <redress/errors.hpp>
#include <redress/outcome.hpp>
#include <redress/retry.hpp>

namespace redress::detail {

struct NoBreakerTag {};

/// A circuit breaker as a policy uses it: `CircuitBreaker`, `testing::FakeCircuitBreaker`,
/// or any type with the same members.
template <class B>
concept BreakerLike = requires(B& b, const decltype(std::declval<B&>().allow())& permit, ErrorClass k) {
    { b.allow().allowed } -> std::convertible_to<bool>;
    b.allow().state;
    b.record_success(permit);
    b.record_failure(k, permit);
    b.record_cancel(permit);
};

template <class Transition>
void emit_breaker_transition(const CallHooks& hooks, const std::optional<Transition>& transition, TimePoint start,
                             const AnyClock& clock) {
    if (!transition || !hooks.observed()) return;
    Event e;
    e.name = transition->name;
    e.attempt = 0;
    e.operation = hooks.operation;
    e.state = transition->state;
    emit(hooks, e, start, clock);
}

/// SPEC §6 composition: the breaker is asked once before the retry loop and told one result
/// after it — success; cancel (aborted); or failure of `last_class` (`Unknown` if none).
/// A rejection is not recorded. Transitions are emitted as events with attempt 0.
template <class BreakerT>
class BreakerGate {
public:
    BreakerGate(BreakerT& breaker, const CallHooks& hooks, const AnyClock& clock, TimePoint start)
        : breaker_(breaker), hooks_(hooks), clock_(clock), start_(start), permit_(breaker.allow()) {
        emit_breaker_transition(hooks_, permit_.transition, start_, clock_);
    }
    /// A gate for a permit the driver already holds (the quiet fast path asked first).
    BreakerGate(BreakerT& breaker, const CallHooks& hooks, const AnyClock& clock, TimePoint start,
                decltype(std::declval<BreakerT&>().allow()) permit)
        : breaker_(breaker), hooks_(hooks), clock_(clock), start_(start), permit_(std::move(permit)) {}
    BreakerGate(const BreakerGate&) = delete;
    BreakerGate& operator=(const BreakerGate&) = delete;

    /// False when the breaker rejected the call; the outcome then says `CircuitOpen`.
    [[nodiscard]] bool admitted(OutcomeBase& out, bool measure) const {
        if (permit_.allowed) return true;
        out.stop_reason = StopReason::CircuitOpen;
        if (measure) out.elapsed = clock_.now() - start_;
        return false;
    }
    [[nodiscard]] CircuitState state() const noexcept { return permit_.state; }
    [[nodiscard]] TimePoint start() const noexcept { return start_; }

    void tell(const OutcomeBase& out) {
        if (out.ok) {
            emit_breaker_transition(hooks_, breaker_.record_success(permit_), start_, clock_);
        } else if (out.stop_reason == StopReason::Aborted) {
            emit_breaker_transition(hooks_, breaker_.record_cancel(permit_), start_, clock_);
        } else {
            const ErrorClass klass = out.last_class ? *out.last_class : ErrorClass::Unknown;
            emit_breaker_transition(hooks_, breaker_.record_failure(klass, permit_), start_, clock_);
        }
    }
    /// The driver itself failed (not the operation): free the probe slot.
    void cancel() noexcept {
        try {
            (void)breaker_.record_cancel(permit_);
        } catch (...) {
        }
    }

private:
    BreakerT& breaker_;
    const CallHooks& hooks_;
    const AnyClock& clock_;
    TimePoint start_;
    decltype(std::declval<BreakerT&>().allow()) permit_;
};

/// The gate of a policy without a breaker: admits everything, is told nothing.
struct NoGate {
    NoGate(NoBreakerTag, const CallHooks&, const AnyClock&, TimePoint) noexcept {}
    [[nodiscard]] static constexpr bool admitted(OutcomeBase&, bool) noexcept { return true; }
    [[nodiscard]] static constexpr CircuitState state() noexcept { return CircuitState::Closed; }
    static void tell(const OutcomeBase&) noexcept {}
    static void cancel() noexcept {}
};

/// What a result classifier answered: `std::nullopt` means success.
template <class RC, class T>
[[nodiscard]] std::optional<Classification> classify_result(const RC& rc, const T& value) {
    if constexpr (std::is_same_v<RC, NoResultClassifier>) {
        (void)rc;
        (void)value;
        return std::nullopt;
    } else {
        static_assert(std::is_invocable_v<const RC&, const T&>,
                      "redress: a result_classifier must be callable as (const T&) -> std::optional<ErrorClass> or "
                      "std::optional<Classification>, where T is the operation's return type");
        auto verdict = rc(value);
        if (!verdict) return std::nullopt;
        return to_classification(*verdict);
    }
}

/// Tells the core how one attempt ended. `error` is what the operation threw (null if it
/// returned; the value is then in `out.value`); `attempt_start` is set (non-null) when the
/// policy has an `attempt_timeout`, and an answer later than that is a timed-out answer.
template <class T, class RetryT>
[[nodiscard]] Next settle_attempt(AttemptLoop<RetryT>& loop, const RetryT& retry, Outcome<T>& out, std::exception_ptr error,
                                  const TimePoint* attempt_start) {
    if (attempt_start != nullptr && retry.clock.now() - *attempt_start > *retry.attempt_timeout) {
        error = std::make_exception_ptr(AttemptTimeoutError());
        if constexpr (!std::is_void_v<T>) out.value.reset();
    }
    if (!error) {
        if constexpr (!std::is_void_v<T> && !std::is_same_v<typename RetryT::result_classifier_type, NoResultClassifier>) {
            if (auto rejected = classify_result(retry.result_classifier, *out.value)) {
                out.last_result = std::move(out.value);
                out.value.reset();
                out.last_exception = nullptr;
                return loop.failed(std::move(*rejected), FailureCause::Result, nullptr);
            }
        }
        out.ok = true;
        loop.succeeded();
        return Next::Stop;
    }
    out.last_exception = std::move(error);
    if constexpr (!std::is_void_v<T>) out.last_result.reset();
    Classification classification = invoke_classifier(retry.classifier, out.last_exception);
    return loop.failed(std::move(classification), FailureCause::Exception, &out.last_exception);
}

/// The callable threw `AbortRetryError`: stop at once, unclassified.
template <class T, class RetryT>
[[nodiscard]] Next settle_abort(AttemptLoop<RetryT>& loop, Outcome<T>& out, std::exception_ptr error) {
    out.last_exception = std::move(error);
    loop.aborted_by_callable();
    return Next::Stop;
}

/// Copies what the core knows into the outcome.
template <class T, class RetryT>
void finish_outcome(const AttemptLoop<RetryT>& loop, Outcome<T>& out, bool measure) {
    out.attempts = loop.attempts();
    out.stop_reason = loop.stop_reason();
    out.next_sleep = loop.next_sleep();
    if (!out.ok) {
        out.last_class = loop.last_class();
        out.cause = loop.cause();
    }
    if (measure) out.elapsed = loop.elapsed();
}

/// The single attempt of a breaker-only policy: default classification, no retry events.
/// `run` performs the attempt and stores the value; returns normally or throws.
template <class T>
void single_attempt_prologue_aborted(const CallHooks& hooks, TimePoint start, const AnyClock& clock, Outcome<T>& out) {
    out.stop_reason = StopReason::Aborted;
    if (!hooks.observed()) return;
    Event e;
    e.name = EventName::Aborted;
    e.stop_reason = StopReason::Aborted;
    e.operation = hooks.operation;
    emit(hooks, e, start, clock);
}

template <class T>
void settle_single_attempt(std::exception_ptr error, bool aborted, Outcome<T>& out) {
    out.attempts = 1;
    if (!error) {
        out.ok = true;
        return;
    }
    out.last_exception = error;
    out.cause = FailureCause::Exception;
    if (aborted) {
        out.stop_reason = StopReason::Aborted;
    } else {
        out.last_class = default_classifier(error).klass;
    }
}

/// Ends an outcome for `call()`: the value, or the exception SPEC §4 "Ending" prescribes.
/// `MayHoldResult`: the outcome may carry a rejected result (the policy has a result
/// classifier); without one, no `std::any` of `T` is ever built.
template <class T, bool MayHoldResult = true>
T value_or_throw(Outcome<T>&& out, CircuitState rejected_state) {
    if (out.ok) {
        if constexpr (std::is_void_v<T>) {
            return;
        } else {
            return std::move(*out.value);
        }
    }
    if (out.stop_reason == StopReason::CircuitOpen) throw CircuitOpenError(rejected_state);
    if (out.stop_reason == StopReason::Aborted) throw AbortRetryError();
    if (out.cause == FailureCause::Exception && out.last_exception && out.stop_reason != StopReason::Scheduled)
        std::rethrow_exception(out.last_exception);
    std::any last;
    if constexpr (!std::is_void_v<T> && MayHoldResult) {
        if (out.last_result) last = std::move(*out.last_result);
    }
    throw RetryExhaustedError(out.stop_reason ? *out.stop_reason : StopReason::MaxAttemptsGlobal, out.attempts,
                              out.last_class, std::move(last), out.next_sleep);
}

}  // namespace redress::detail
