// What the sync and coroutine drivers share around the attempt-loop core: settling one
// attempt's result (the late-answer rule, the result classifier, the classifier), and filling
// the outcome. The drivers only run the operation and wait.
#pragma once

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include <redress/classify.hpp>
#include <redress/detail/attributes.hpp>
#include <redress/engine/attempt_loop.hpp>
#include <redress/errors.hpp>
#include <redress/outcome.hpp>
#include <redress/retry.hpp>

namespace redress::detail {

/// Whether `out` may carry a rejected result: the policy has a result classifier and the
/// operation returns a value.
template <class T, class RetryT>
inline constexpr bool may_reject_results =
    !std::is_void_v<T> && !std::is_same_v<typename RetryT::result_classifier_type, NoResultClassifier>;

/// What a result classifier answered: `std::nullopt` means success.
template <class RC, class T>
[[nodiscard]] std::optional<Classification> classify_result(const RC& rc, const T& value) {
    static_assert(assert_result_classifier_for<RC, T>());
    if constexpr (ResultClassifier<RC, T>) {
        auto verdict = rc(value);
        // Returned as it is when it is one already: each move of a `Classification` is a
        // `memcpy` call for its string, 3 of them per failed attempt otherwise.
        if constexpr (std::is_same_v<decltype(verdict), std::optional<Classification>>) {
            return verdict;
        } else {
            if (!verdict) return std::nullopt;
            return to_classification(std::move(*verdict));
        }
    } else {
        (void)rc;
        (void)value;
        return std::nullopt;  // reported by the assertion above, or at the policy's construction
    }
}

/// What settling an attempt may do to the value the operation returned (`ValueHandling`).
enum class ValueStep : unsigned char {
    Drop,    ///< the answer came too late: the value is not kept
    Judge,   ///< the result classifier's verdict (a rejected value moves to `last_result`)
    Forget,  ///< the attempt threw: an earlier rejected value is no longer the last failure
};

/// The part of settling that depends on the operation's value type and the result classifier,
/// reached through one function pointer (null when the value is `void`), so that the rest of
/// it is one function for every operation.
struct ValueHandling {
    /// The retry's result classifier when it may reject this value type, else null: then a
    /// success makes no indirect call (only a late value is dropped through `step`).
    const void* result_classifier = nullptr;
    std::optional<Classification> (*step)(OutcomeBase& out, const void* result_classifier, ValueStep) = nullptr;
};

/// How an operation returning `T` under `RetryT` settles its value.
template <class T, class RetryT>
[[nodiscard]] ValueHandling value_handling(const RetryT& retry) noexcept {
    if constexpr (std::is_void_v<T>) {
        (void)retry;
        return {};
    } else {
        using RC = typename RetryT::result_classifier_type;
        (void)retry;
        const void* judge = nullptr;
        if constexpr (may_reject_results<T, RetryT>) judge = &retry.result_classifier;
        return {judge,
                [](OutcomeBase& base, const void* rc, ValueStep step) -> std::optional<Classification> {
                    auto& out = static_cast<Outcome<T>&>(base);
                    if (step == ValueStep::Drop) {
                        out.value.reset();
                    } else if constexpr (may_reject_results<T, RetryT>) {
                        if (step == ValueStep::Forget) {
                            out.last_result.reset();
                        } else if (auto rejected = classify_result(*static_cast<const RC*>(rc), *out.value)) {
                            out.last_result = std::move(out.value);
                            out.value.reset();
                            return rejected;
                        } else {
                            out.last_result.reset();
                        }
                    }
                    return std::nullopt;
                }};
    }
}

/// Tells the core how one attempt ended. `error` is what the operation threw (null if it
/// returned; the value is then in the outcome, settled through `value`); `attempt_start` is set
/// (non-null) when the policy has an `attempt_timeout`, and an answer later than that is a
/// timed-out answer. What the policy's own configuration throws (classifier, result
/// classifier, strategy) ends the attempt with decision `Raise` and propagates. One function
/// for every operation and policy: the retry's clock, timeout and classifier are read through
/// the loop's view.
template <class Loop>
[[nodiscard]] Next settle_attempt(Loop& loop, OutcomeBase& out, const ValueHandling& value, std::exception_ptr error,
                                  const TimePoint* attempt_start) {
    const RetryView& retry = loop.view();
    try {
        if (attempt_start != nullptr && retry.clock->now() - *attempt_start > **retry.attempt_timeout) {
            error = std::make_exception_ptr(AttemptTimeoutError());
            if (value.step != nullptr) value.step(out, value.result_classifier, ValueStep::Drop);
        }
        if (!error) {
            if (value.result_classifier != nullptr) {
                if (auto rejected = value.step(out, value.result_classifier, ValueStep::Judge)) {
                    out.last_exception = nullptr;
                    return loop.failed(std::move(*rejected), FailureCause::Result, nullptr);
                }
            }
            // A success carries no failure, even after failed attempts.
            out.ok = true;
            out.last_exception = nullptr;
            loop.succeeded();
            return Next::Stop;
        }
        out.last_exception = std::move(error);
        if (value.result_classifier != nullptr) value.step(out, value.result_classifier, ValueStep::Forget);
        return loop.failed(retry.classify(retry.classifier, out.last_exception), FailureCause::Exception,
                           &out.last_exception);
    } catch (...) {
        loop.configuration_failed();
        throw;
    }
}
REDRESS_EXTERN_TEMPLATE(Next settle_attempt(BasicAttemptLoop<Attempts::Retried>&, OutcomeBase&, const ValueHandling&,
                                            std::exception_ptr, const TimePoint*))
REDRESS_EXTERN_TEMPLATE(Next settle_attempt(BasicAttemptLoop<Attempts::Single>&, OutcomeBase&, const ValueHandling&,
                                            std::exception_ptr, const TimePoint*))

/// `settle_attempt` for a driver holding its `Outcome<T>` and the `Retry` (the coroutine and
/// hedged drivers).
template <class T, class Loop, class RetryT>
[[nodiscard]] Next settle_attempt(Loop& loop, const RetryT& retry, Outcome<T>& out, std::exception_ptr error,
                                  const TimePoint* attempt_start) {
    return settle_attempt(loop, out, value_handling<T>(retry), std::move(error), attempt_start);
}

/// Copies what the core knows into the outcome; `measure` fills `elapsed`.
template <class Loop>
void finish_outcome(const Loop& loop, OutcomeBase& out, bool measure) {
    out.attempts = loop.attempts();
    out.stop_reason = loop.stop_reason();
    out.next_sleep = loop.next_sleep();
    out.last_class = loop.last_class();
    out.cause = loop.cause();
    if (measure) out.elapsed = loop.elapsed();
}

/// Throws what ends a failed outcome for `call()` unless that is a `RetryExhaustedError`
/// (which `value_or_throw` throws, with the last rejected result when there is one): the
/// circuit's `CircuitOpenError`; on abort the `AbortRetryError` the operation threw (`abort`)
/// or a new one; the last exception itself. Out of line and compiled once.
template <class = void>
REDRESS_COLD void throw_unless_exhausted(const OutcomeBase& out, CircuitState rejected_state,
                                         const std::exception_ptr& abort) {
    if (out.stop_reason == StopReason::CircuitOpen) throw CircuitOpenError(rejected_state);
    if (out.stop_reason == StopReason::Aborted) {
        if (abort) std::rethrow_exception(abort);
        throw AbortRetryError();
    }
    if (out.cause == FailureCause::Exception && out.last_exception && out.stop_reason != StopReason::Scheduled)
        std::rethrow_exception(out.last_exception);
}
REDRESS_EXTERN_TEMPLATE(void throw_unless_exhausted(const OutcomeBase&, CircuitState, const std::exception_ptr&))

/// Why an outcome's retries were exhausted (a deferred retry too).
[[nodiscard]] inline StopReason exhausted_reason(const OutcomeBase& out) noexcept {
    return out.stop_reason ? *out.stop_reason : StopReason::MaxAttemptsGlobal;
}

/// `RetryExhaustedError` for an outcome without a rejected result. Out of line and compiled once.
template <class = void>
[[noreturn]] REDRESS_COLD void throw_exhausted(const OutcomeBase& out) {
    throw RetryExhaustedError(exhausted_reason(out), out.attempts, out.last_class, out.next_sleep);
}
REDRESS_EXTERN_TEMPLATE(void throw_exhausted(const OutcomeBase&))

/// Ends an outcome for `call()`: the value, or the exception the contract prescribes
/// (`throw_unless_exhausted`, else `RetryExhaustedError`, which carries the last rejected
/// result when there is one).
template <class T, bool MayHoldResult>
T value_or_throw(Outcome<T>&& out, CircuitState rejected_state, const std::exception_ptr& abort) {
    if (out.ok) {
        if constexpr (std::is_void_v<T>) {
            return;
        } else {
            return std::move(*out.value);
        }
    }
    throw_unless_exhausted(out, rejected_state, abort);
    if constexpr (MayHoldResult && !std::is_void_v<T>) {
        if (out.last_result) {
            throw RetryExhaustedError(exhausted_reason(out), out.attempts, out.last_class, out.next_sleep,
                                      std::move(*out.last_result));
        }
    }
    throw_exhausted(out);
}

}  // namespace redress::detail
