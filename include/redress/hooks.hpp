// Hook types shared by the policy options and the per-call options (docs/contract.md).
#pragma once

#include <exception>
#include <functional>
#include <optional>
#include <string_view>

#include <redress/vocabulary.hpp>
#include <redress/backoff_context.hpp>
#include <redress/classification.hpp>
#include <redress/clock.hpp>
#include <redress/event.hpp>

namespace redress {

/// What `on_attempt_start` and `on_attempt_end` see. On start only `attempt`, `operation`
/// and `elapsed` are set; on end, `decision` and, for failed attempts, the failure.
/// Pointers and views are valid during the hook call only.
struct AttemptContext {
    /// The attempt, 1 for the first.
    int attempt = 0;
    /// The call's `operation` name (empty when none was given).
    std::string_view operation{};
    /// Time since the operation started, on the policy's clock.
    Duration elapsed{};
    const Classification* classification = nullptr;  ///< the failure's classification, if it failed
    std::exception_ptr exception{};                   ///< the exception, when the cause was one
    /// On end: what follows the attempt (`Success`, `Retry`, `Raise`, ...).
    std::optional<AttemptDecision> decision{};
    /// On end: why the operation stopped, when this attempt was its last.
    std::optional<StopReason> stop_reason{};
    /// On end of a failed attempt: exception or rejected result.
    std::optional<FailureCause> cause{};
    std::optional<Duration> sleep{};  ///< the sleep before the next attempt, on `Retry`
};

/// `on_attempt_start` / `on_attempt_end`. Exceptions they throw are swallowed.
using AttemptHook = std::function<void(const AttemptContext&)>;
/// `abort_if`: polled before each attempt, after each failure and after the `retry` event.
using AbortPredicate = std::function<bool()>;
/// `sleep`: decides what to do with a planned sleep: `Sleep`, `Defer` (stop `Scheduled`,
/// the outcome carries `next_sleep`) or `Abort`.
using SleepHandler = std::function<SleepDecision(const BackoffContext&, Duration)>;
/// `before_sleep`: observes a sleep that is about to happen. Exceptions are swallowed.
using BeforeSleepHook = std::function<void(const BackoffContext&, Duration)>;
/// `sleeper`: performs the wait (tests, custom schedulers). Called for every retry, also for 0.
using Sleeper = std::function<void(Duration)>;

}  // namespace redress
