// Outcome<T> and RetryTimeline: the structured result of execute() (docs/contract.md, "Ending").
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <redress/vocabulary.hpp>
#include <redress/clock.hpp>
#include <redress/error_class.hpp>
#include <redress/event.hpp>
#include <redress/tags.hpp>

namespace redress {

/// One recorded event with the time since the operation started. Owns its strings.
struct TimelineEvent {
    /// What happened (`Event::name`).
    EventName event = EventName::Success;
    /// The attempt it concerns (1 for the first; 0 for breaker events).
    int attempt = 0;
    /// The planned sleep on `Retry` and `Scheduled`; zero otherwise.
    Duration sleep{};
    /// Time since the operation started, on the policy's clock, when the event was recorded.
    Duration elapsed{};
    /// The failure's class, on events that follow a failure.
    std::optional<ErrorClass> error_class{};
    /// Demangled dynamic type of the exception; empty when the failure was a result or none.
    std::string error_type{};
    /// Why the operation stopped, on terminal events.
    std::optional<StopReason> stop_reason{};
    /// Exception or rejected result, on events that follow a failure.
    std::optional<FailureCause> cause{};
    /// The breaker's new state, on breaker events.
    std::optional<CircuitState> state{};
    /// The classifier's retry hint, on `Retry` when it gave one.
    std::optional<Duration> retry_after{};
    /// The `operation` name of the call (a copy).
    std::string operation{};
    /// The call's tags (a copy; `Event::tags`).
    Tags tags{};
    /// What set a hedge's delay, on `HedgeSent`.
    std::optional<HedgeTrigger> trigger{};
    /// The attempts in flight, on `HedgeSent` and on `Success` of a hedged policy.
    std::optional<int> in_flight{};
};

/// The events of one or more operations, in order, for debugging (`capture_timeline`).
/// Not synchronised: give each concurrent operation its own timeline.
struct RetryTimeline {
    /// Every recorded event, oldest first.
    std::vector<TimelineEvent> events{};

    /// A copy of the event's tags.
    static Tags tags_of(const Event& e);

    /// Appends a copy of `e` (its strings copied) stamped with `elapsed`. Allocates.
    void record(const Event& e, Duration elapsed);
};

class TimelineCapture;

namespace detail {

/// What an enabled `TimelineCapture` does, behind function pointers set where capture is
/// enabled: a translation unit that never enables capture never compiles the timeline's
/// allocation and recording into its calls.
struct TimelineOps {
    std::shared_ptr<RetryTimeline> (*fresh)();
    void (*record)(RetryTimeline&, const Event&, Duration);
};

/// The recording operations of an enabled capture.
[[nodiscard]] const TimelineOps* enabled_timeline_ops() noexcept;

/// The recording operations of an enabled capture; null when capture is off.
[[nodiscard]] inline const TimelineOps* capture_ops(const TimelineCapture& capture) noexcept;

}  // namespace detail

/// What `capture_timeline` accepts: `false` (default, nothing recorded, no allocation),
/// `true` (a fresh timeline in the outcome), or a timeline of the caller's to append to.
class TimelineCapture {
public:
    TimelineCapture() = default;
    /// `true`: capture into a fresh timeline per call; `false`: capture nothing.
    TimelineCapture(bool enabled)  // NOLINT(google-explicit-constructor)
        : enabled_(enabled), ops_(enabled ? detail::enabled_timeline_ops() : nullptr) {}
    /// Append to `timeline` (shared with the caller); a null pointer captures nothing.
    TimelineCapture(std::shared_ptr<RetryTimeline> timeline)  // NOLINT(google-explicit-constructor)
        : enabled_(timeline != nullptr),
          ops_(timeline != nullptr ? detail::enabled_timeline_ops() : nullptr),
          timeline_(std::move(timeline)) {}

    /// True when events will be recorded.
    [[nodiscard]] bool enabled() const noexcept { return enabled_; }
    /// The caller's timeline, or a fresh one when capture is on but none was given.
    [[nodiscard]] std::shared_ptr<RetryTimeline> make() const {
        if (!enabled_) return nullptr;
        return timeline_ ? timeline_ : ops_->fresh();
    }

private:
    friend const detail::TimelineOps* detail::capture_ops(const TimelineCapture& capture) noexcept;

    bool enabled_ = false;
    const detail::TimelineOps* ops_ = nullptr;
    std::shared_ptr<RetryTimeline> timeline_{};
};

inline const detail::TimelineOps* detail::capture_ops(const TimelineCapture& capture) noexcept { return capture.ops_; }

namespace detail {
/// The fields every outcome has, whatever the value type.
struct OutcomeBase {
    bool ok = false;
    // In the padding after `ok`: initialised with it, so they cost `execute()` nothing.
    std::uint8_t in_flight = 0;  ///< 0 unless a hedged policy's attempt succeeded
    std::uint16_t winner = 0;    ///< 0 unless a hedged policy's attempt succeeded
    std::optional<StopReason> stop_reason{};
    int attempts = 0;
    std::optional<ErrorClass> last_class{};
    std::exception_ptr last_exception{};
    std::optional<FailureCause> cause{};
    Duration elapsed{};
    std::optional<Duration> next_sleep{};
    std::shared_ptr<RetryTimeline> timeline{};
};
}  // namespace detail

/// The result of `execute()`: the value on success, and on failure why the operation stopped
/// (`stop_reason`), how many attempts ran, the last failure's class, exception or rejected
/// result and cause. `stop_reason` is empty on success, and also when a policy without a
/// retry component ran its single attempt and it failed (nothing stopped a retry).
/// `next_sleep` is set when a sleep handler deferred the retry (`Scheduled`).
/// On a successful operation of a policy with a `Hedge` (0 otherwise): `winner` is the
/// attempt whose success ended it and `in_flight` the attempts that were running when it
/// answered, itself included (2: one hedge raced it). `attempts` counts hedges too. (Small
/// integers in the padding after `ok` rather than optionals, which cost every `execute()` 6
/// instructions; a winner past attempt 65535 reads 65535.)
template <class T>
struct Outcome : detail::OutcomeBase {
    /// The operation's value; set only when `ok`.
    std::optional<T> value{};
    /// The last value the `result_classifier` rejected, when the last failure was one.
    std::optional<T> last_result{};
};

/// The outcome of an operation that returns nothing.
template <>
struct Outcome<void> : detail::OutcomeBase {};

}  // namespace redress

#if !defined(REDRESS_SEPARATE_COMPILATION)
#include <redress/impl/outcome.hpp>
#endif
