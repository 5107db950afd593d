// The vocabulary of the model on one page: the small enums every other header speaks, each
// with its wire values (the strings the Python library puts on metrics and logs, so one
// dashboard serves both). `to_string`, `parse<E>`, `all_values<E>` and `operator<<` come
// from detail/wire_enum.hpp and work for every enum here.
#pragma once

#include <array>

#include <redress/detail/wire_enum.hpp>

namespace redress {

/// The semantic class of a failure. Classification maps every failure to one of these;
/// every response (backoff, caps, breaker counting) is chosen by class.
/// `Permanent`, `Auth` and `Permission` are never retried.
enum class ErrorClass {
    Auth,
    Permission,
    Permanent,
    Concurrency,
    RateLimit,
    ServerError,
    Transient,
    Unknown
};

template <>
struct detail::WireNames<ErrorClass> {
    static constexpr std::array<WireName<ErrorClass>, 8> values{{
        {ErrorClass::Auth, "AUTH"},
        {ErrorClass::Permission, "PERMISSION"},
        {ErrorClass::Permanent, "PERMANENT"},
        {ErrorClass::Concurrency, "CONCURRENCY"},
        {ErrorClass::RateLimit, "RATE_LIMIT"},
        {ErrorClass::ServerError, "SERVER_ERROR"},
        {ErrorClass::Transient, "TRANSIENT"},
        {ErrorClass::Unknown, "UNKNOWN"},
    }};
};

/// Why an operation stopped without success. `CircuitOpen` is this library's addition:
/// the Python original reports no stop reason when a breaker rejects.
enum class StopReason {
    MaxAttemptsGlobal,
    MaxAttemptsPerClass,
    DeadlineExceeded,
    MaxUnknownAttempts,
    NonRetryableClass,
    NoStrategy,
    BudgetExhausted,
    Scheduled,
    Aborted,
    CircuitOpen
};

template <>
struct detail::WireNames<StopReason> {
    static constexpr std::array<WireName<StopReason>, 10> values{{
        {StopReason::MaxAttemptsGlobal, "MAX_ATTEMPTS_GLOBAL"},
        {StopReason::MaxAttemptsPerClass, "MAX_ATTEMPTS_PER_CLASS"},
        {StopReason::DeadlineExceeded, "DEADLINE_EXCEEDED"},
        {StopReason::MaxUnknownAttempts, "MAX_UNKNOWN_ATTEMPTS"},
        {StopReason::NonRetryableClass, "NON_RETRYABLE_CLASS"},
        {StopReason::NoStrategy, "NO_STRATEGY"},
        {StopReason::BudgetExhausted, "BUDGET_EXHAUSTED"},
        {StopReason::Scheduled, "SCHEDULED"},
        {StopReason::Aborted, "ABORTED"},
        {StopReason::CircuitOpen, "CIRCUIT_OPEN"},
    }};
};

/// The name of every event a policy emits to `on_metric` / `on_log` (wire values match the
/// Python library, so one dashboard serves both).
enum class EventName {
    Success,
    Retry,
    PermanentFail,
    DeadlineExceeded,
    MaxAttemptsExceeded,
    MaxUnknownAttemptsExceeded,
    NoStrategyConfigured,
    BudgetExhausted,
    Scheduled,
    Aborted,
    CircuitOpened,
    CircuitHalfOpen,
    CircuitClosed,
    CircuitRejected,
    /// The budget's backend did not answer in time; emitted before the `retry` its fallback
    /// admitted or the `budget_exhausted` stop (an addition of this library).
    BudgetBackendUnavailable,
    /// A policy's `Hedge` started another attempt while earlier ones were still running
    /// (an addition of this library).
    HedgeSent,
    /// A hedge was due but not sent: the budget refused it, or the breaker was not closed
    /// (an addition of this library).
    HedgeSkipped
};

template <>
struct detail::WireNames<EventName> {
    static constexpr std::array<WireName<EventName>, 17> values{{
        {EventName::Success, "success"},
        {EventName::Retry, "retry"},
        {EventName::PermanentFail, "permanent_fail"},
        {EventName::DeadlineExceeded, "deadline_exceeded"},
        {EventName::MaxAttemptsExceeded, "max_attempts_exceeded"},
        {EventName::MaxUnknownAttemptsExceeded, "max_unknown_attempts_exceeded"},
        {EventName::NoStrategyConfigured, "no_strategy_configured"},
        {EventName::BudgetExhausted, "budget_exhausted"},
        {EventName::Scheduled, "scheduled"},
        {EventName::Aborted, "aborted"},
        {EventName::CircuitOpened, "circuit_opened"},
        {EventName::CircuitHalfOpen, "circuit_half_open"},
        {EventName::CircuitClosed, "circuit_closed"},
        {EventName::CircuitRejected, "circuit_rejected"},
        {EventName::BudgetBackendUnavailable, "budget_backend_unavailable"},
        {EventName::HedgeSent, "hedge_sent"},
        {EventName::HedgeSkipped, "hedge_skipped"},
    }};
};

/// Whether a failure was an exception thrown by the callable or a returned value that the
/// `result_classifier` judged a failure.
enum class FailureCause {
    Exception,
    Result
};

template <>
struct detail::WireNames<FailureCause> {
    static constexpr std::array<WireName<FailureCause>, 2> values{{
        {FailureCause::Exception, "exception"},
        {FailureCause::Result, "result"},
    }};
};

/// The decision taken at the end of an attempt, as passed to `on_attempt_end`.
enum class AttemptDecision {
    Success,
    Retry,
    Raise,
    Scheduled,
    Aborted,
    /// The attempt was still running when another attempt of the same operation won (a
    /// hedge, or the attempt a hedge raced): it was asked to stop and its answer was dropped.
    Cancelled
};

template <>
struct detail::WireNames<AttemptDecision> {
    static constexpr std::array<WireName<AttemptDecision>, 6> values{{
        {AttemptDecision::Success, "success"},
        {AttemptDecision::Retry, "retry"},
        {AttemptDecision::Raise, "raise"},
        {AttemptDecision::Scheduled, "scheduled"},
        {AttemptDecision::Aborted, "aborted"},
        {AttemptDecision::Cancelled, "cancelled"},
    }};
};

/// The answer of a sleep handler (`sleep` option): sleep as planned, defer the retry to an
/// external scheduler (stop `Scheduled`), or abort (stop `Aborted`).
enum class SleepDecision {
    Sleep,
    Defer,
    Abort
};

template <>
struct detail::WireNames<SleepDecision> {
    static constexpr std::array<WireName<SleepDecision>, 3> values{{
        {SleepDecision::Sleep, "sleep"},
        {SleepDecision::Defer, "defer"},
        {SleepDecision::Abort, "abort"},
    }};
};

/// What set a hedge's delay: the fixed `Hedge::delay`, or a percentile of the policy's
/// recent successful attempts.
enum class HedgeTrigger {
    Fixed,
    Percentile
};

template <>
struct detail::WireNames<HedgeTrigger> {
    static constexpr std::array<WireName<HedgeTrigger>, 2> values{{
        {HedgeTrigger::Fixed, "fixed"},
        {HedgeTrigger::Percentile, "percentile"},
    }};
};

/// The state of a circuit breaker.
enum class CircuitState {
    Closed,
    Open,
    HalfOpen
};

template <>
struct detail::WireNames<CircuitState> {
    static constexpr std::array<WireName<CircuitState>, 3> values{{
        {CircuitState::Closed, "closed"},
        {CircuitState::Open, "open"},
        {CircuitState::HalfOpen, "half_open"},
    }};
};

/// How a circuit breaker decides to open (see docs/circuit_breaker.md, "Modes").
enum class BreakerMode {
    Ratio,       ///< failures / calls within the window, over a minimum throughput (the default)
    Count,       ///< `failure_threshold` failures within the window (the Python original)
    Consecutive  ///< `consecutive_failures` failures in a row
};

template <>
struct detail::WireNames<BreakerMode> {
    static constexpr std::array<WireName<BreakerMode>, 3> values{{
        {BreakerMode::Ratio, "ratio"},
        {BreakerMode::Count, "count"},
        {BreakerMode::Consecutive, "consecutive"},
    }};
};

/// Why a circuit breaker changed state, as passed to its `on_state_change` hook.
enum class TransitionReason {
    Failures,         ///< closed -> open: the failures reached the mode's threshold
    RecoveryElapsed,  ///< open -> half-open: a call arrived after the recovery timeout
    ProbesSucceeded,  ///< half-open -> closed: `close_after` probes succeeded
    ProbeFailed,      ///< half-open -> open: a probe failed with a `trip_on` class
    Isolated,         ///< -> open: `isolate()`
    Reset,            ///< -> closed: `reset()`
    Restored,         ///< -> the snapshot's state: `restore()`
    Fleet             ///< -> open or closed by another process, through the breaker's `BreakerStore`
};

template <>
struct detail::WireNames<TransitionReason> {
    static constexpr std::array<WireName<TransitionReason>, 8> values{{
        {TransitionReason::Failures, "failures"},
        {TransitionReason::RecoveryElapsed, "recovery_elapsed"},
        {TransitionReason::ProbesSucceeded, "probes_succeeded"},
        {TransitionReason::ProbeFailed, "probe_failed"},
        {TransitionReason::Isolated, "isolated"},
        {TransitionReason::Reset, "reset"},
        {TransitionReason::Restored, "restored"},
        {TransitionReason::Fleet, "fleet"},
    }};
};

}  // namespace redress
