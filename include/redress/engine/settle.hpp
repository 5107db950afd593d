// What the sync and coroutine drivers share around the attempt-loop core: settling one
// attempt's result (the late-answer rule, the result classifier, the classifier), and filling
// the outcome. The drivers only run the operation and wait.
#pragma once

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include <redress/classify.hpp>
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

/// Tells the core how one attempt ended. `error` is what the operation threw (null if it
/// returned; the value is then in `out.value`); `attempt_start` is set (non-null) when the
/// policy has an `attempt_timeout`, and an answer later than that is a timed-out answer.
/// What the policy's own configuration throws (classifier, result classifier, strategy) ends
/// the attempt with decision `Raise` and propagates.
template <class T, class Loop, class RetryT>
[[nodiscard]] Next settle_attempt(Loop& loop, const RetryT& retry, Outcome<T>& out, std::exception_ptr error,
                                  const TimePoint* attempt_start) {
    try {
        if (attempt_start != nullptr && retry.clock.now() - *attempt_start > *retry.attempt_timeout) {
            error = std::make_exception_ptr(AttemptTimeoutError());
            if constexpr (!std::is_void_v<T>) out.value.reset();
        }
        if (!error) {
            if constexpr (may_reject_results<T, RetryT>) {
                if (auto rejected = classify_result(retry.result_classifier, *out.value)) {
                    out.last_result = std::move(out.value);
                    out.value.reset();
                    out.last_exception = nullptr;
                    return loop.failed(std::move(*rejected), FailureCause::Result, nullptr);
                }
                out.last_result.reset();
            }
            // A success carries no failure, even after failed attempts.
            out.ok = true;
            out.last_exception = nullptr;
            loop.succeeded();
            return Next::Stop;
        }
        out.last_exception = std::move(error);
        if constexpr (may_reject_results<T, RetryT>) out.last_result.reset();
        return loop.failed(invoke_classifier(retry.classifier, out.last_exception), FailureCause::Exception,
                           &out.last_exception);
    } catch (...) {
        loop.configuration_failed();
        throw;
    }
}

/// Copies what the core knows into the outcome; `measure` fills `elapsed`.
template <class T, class Loop>
void finish_outcome(const Loop& loop, Outcome<T>& out, bool measure) {
    out.attempts = loop.attempts();
    out.stop_reason = loop.stop_reason();
    out.next_sleep = loop.next_sleep();
    out.last_class = loop.last_class();
    out.cause = loop.cause();
    if (measure) out.elapsed = loop.elapsed();
}

/// Ends an outcome for `call()`: the value, or the exception the contract prescribes — the
/// circuit's `CircuitOpenError`; on abort the `AbortRetryError` the operation threw (`abort`)
/// or a new one; the last exception itself; else `RetryExhaustedError` (a rejected result,
/// or a deferred retry), which carries the last rejected result when there is one.
template <class T, bool MayHoldResult>
T value_or_throw(Outcome<T>&& out, CircuitState rejected_state, const std::exception_ptr& abort) {
    if (out.ok) {
        if constexpr (std::is_void_v<T>) {
            return;
        } else {
            return std::move(*out.value);
        }
    }
    if (out.stop_reason == StopReason::CircuitOpen) throw CircuitOpenError(rejected_state);
    if (out.stop_reason == StopReason::Aborted) {
        if (abort) std::rethrow_exception(abort);
        throw AbortRetryError();
    }
    if (out.cause == FailureCause::Exception && out.last_exception && out.stop_reason != StopReason::Scheduled)
        std::rethrow_exception(out.last_exception);
    const StopReason reason = out.stop_reason ? *out.stop_reason : StopReason::MaxAttemptsGlobal;
    if constexpr (MayHoldResult && !std::is_void_v<T>) {
        if (out.last_result) {
            throw RetryExhaustedError(reason, out.attempts, out.last_class, out.next_sleep, std::move(*out.last_result));
        }
    }
    throw RetryExhaustedError(reason, out.attempts, out.last_class, out.next_sleep);
}

}  // namespace redress::detail
