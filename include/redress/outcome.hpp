// Outcome<T> and RetryTimeline: the structured result of execute() (SPEC §4, §5).
#pragma once

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <redress/circuit_state.hpp>
#include <redress/clock.hpp>
#include <redress/error_class.hpp>
#include <redress/event.hpp>
#include <redress/event_name.hpp>
#include <redress/failure_cause.hpp>
#include <redress/stop_reason.hpp>

namespace redress {

/// One recorded event with the time since the operation started. Owns its strings.
struct TimelineEvent {
    EventName event = EventName::Success;
    int attempt = 0;
    Duration sleep{};
    Duration elapsed{};
    std::optional<ErrorClass> error_class{};
    std::string error_type{};
    std::optional<StopReason> stop_reason{};
    std::optional<FailureCause> cause{};
    std::optional<CircuitState> state{};
    std::optional<Duration> retry_after{};
    std::string operation{};
};

/// The events of one or more operations, in order, for debugging (`capture_timeline`).
/// Not synchronised: give each concurrent operation its own timeline.
struct RetryTimeline {
    std::vector<TimelineEvent> events{};

    void record(const Event& e, Duration elapsed) {
        events.push_back(TimelineEvent{e.name, e.attempt, e.sleep, elapsed, e.error_class, std::string(e.error_type),
                                       e.stop_reason, e.cause, e.state, e.retry_after, std::string(e.operation)});
    }
};

/// What `capture_timeline` accepts: `false` (default, nothing recorded, no allocation),
/// `true` (a fresh timeline in the outcome), or a timeline of the caller's to append to.
class TimelineCapture {
public:
    TimelineCapture() = default;
    TimelineCapture(bool enabled) : enabled_(enabled) {}  // NOLINT(google-explicit-constructor)
    TimelineCapture(std::shared_ptr<RetryTimeline> timeline)  // NOLINT(google-explicit-constructor)
        : enabled_(timeline != nullptr), timeline_(std::move(timeline)) {}

    [[nodiscard]] bool enabled() const noexcept { return enabled_; }
    /// The caller's timeline, or a fresh one when capture is on but none was given.
    [[nodiscard]] std::shared_ptr<RetryTimeline> make() const {
        if (!enabled_) return nullptr;
        return timeline_ ? timeline_ : std::make_shared<RetryTimeline>();
    }

private:
    bool enabled_ = false;
    std::shared_ptr<RetryTimeline> timeline_{};
};

namespace detail {
/// The fields every outcome has, whatever the value type.
struct OutcomeBase {
    bool ok = false;
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
template <class T>
struct Outcome : detail::OutcomeBase {
    std::optional<T> value{};
    std::optional<T> last_result{};
};

/// The outcome of an operation that returns nothing.
template <>
struct Outcome<void> : detail::OutcomeBase {};

}  // namespace redress
