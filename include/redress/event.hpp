// Event: the one value every observability hook receives (docs/observability.md).
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string_view>

#include <redress/vocabulary.hpp>
#include <redress/clock.hpp>
#include <redress/error_class.hpp>
#include <redress/tags.hpp>

namespace redress {

/// One lifecycle event, delivered to `on_metric` and `on_log`.
/// The tag fields are empty where they do not apply: `error_class`, `error_type` and `cause`
/// on failure events, `stop_reason` on terminal events, `state` on breaker events (which
/// carry attempt 0), `retry_after` on `retry` when the classifier supplied one.
/// The string views point into the policy's call and are valid only during the hook call;
/// copy them to keep them. Building an event does not allocate.
struct Event {
    /// What happened.
    EventName name = EventName::Success;
    /// The attempt it concerns (1 for the first); 0 on breaker events.
    int attempt = 0;
    /// The planned sleep on `Retry` (and the deferred one on `Scheduled`), the delay on
    /// `HedgeSent`; zero otherwise.
    Duration sleep{};
    /// The last failure's class, on events that follow a failure.
    std::optional<ErrorClass> error_class{};
    std::string_view error_type{};  ///< demangled dynamic type of the exception, if any
    /// Why the operation stopped, on terminal events.
    std::optional<StopReason> stop_reason{};
    /// Exception or rejected result, on events that follow a failure.
    std::optional<FailureCause> cause{};
    /// The call's `operation` name (empty when none was given).
    std::string_view operation{};
    /// The breaker's new state, on breaker events.
    std::optional<CircuitState> state{};
    /// The classifier's retry hint, on `Retry` when it gave one.
    std::optional<Duration> retry_after{};
    /// The tags of the call and of the policy (`CallOptions::tags`, `Retry::tags`; the call's
    /// win on a shared key), on every event of the call. Empty when neither has any.
    std::span<const Tag> tags{};
    /// On `hedge_sent`: what set the hedge's delay (`sleep` carries the delay).
    std::optional<HedgeTrigger> trigger{};
    /// On `hedge_sent` and on `success` of a policy with a `Hedge`: the attempts in flight
    /// (on `hedge_sent` the new one included, on `success` the winner included).
    std::optional<int> in_flight{};
};

/// The type of `on_metric` and `on_log` hooks. Both receive the same events; two hooks exist
/// so metrics and logs can be wired separately. An exception a hook throws is swallowed.
using EventHook = std::function<void(const Event&)>;

}  // namespace redress
