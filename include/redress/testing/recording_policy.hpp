// RecordingPolicy: a real policy that records every call, for tests (docs/testing.md).
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <redress/outcome.hpp>
#include <redress/policy.hpp>
#include <redress/retry.hpp>
#include <redress/testing/fake_policy.hpp>

namespace redress::testing {

/// What `RecordingPolicy` kept of one call: its operation name, how it ended, and every
/// event it emitted (with the time since the call started).
struct RecordedCall {
    std::string operation{};                  ///< `CallOptions::operation` of the call
    bool ok = false;                          ///< `Outcome::ok`
    std::optional<StopReason> stop_reason{};  ///< `Outcome::stop_reason`
    int attempts = 0;                         ///< `Outcome::attempts`
    std::optional<ErrorClass> last_class{};   ///< `Outcome::last_class`
    std::optional<FailureCause> cause{};      ///< `Outcome::cause`
    std::vector<TimelineEvent> events{};      ///< every event of the call, in order

    /// The event names in order: `{EventName::Retry, EventName::Success}`.
    [[nodiscard]] std::vector<EventName> event_names() const {
        std::vector<EventName> names;
        names.reserve(events.size());
        for (const auto& e : events) names.push_back(e.event);
        return names;
    }
};

/// Wraps a real policy (or any type with the same `execute()`) and records every call, then
/// behaves exactly like it: same retries, same hooks, same values and exceptions. Use it to
/// assert how code under test used its policy: which operations it ran, how they ended,
/// which events they produced. `RecordingPolicy recording{redress::Policy{...}};`
///
/// Recording works through `capture_timeline`, so the policy's and the call's hooks are left
/// untouched; a caller's own timeline is filled as usual and an outcome only carries a
/// timeline when the caller asked for one. A handle: copies share the wrapped policy and the
/// record. Thread-safe when the wrapped policy is (the record has a mutex). Costs what
/// `capture_timeline` costs (one allocation per event) on every call.
template <class PolicyT>
class RecordingPolicy {
public:
    /// Takes the policy to run calls under.
    explicit RecordingPolicy(PolicyT policy) : state_(std::make_shared<State>(std::move(policy))) {}

    /// `call()` of the wrapped policy, recorded.
    template <class F>
    auto call(F&& fn, const CallOptions& options = {}) const -> redress::detail::operation_result_t<std::remove_reference_t<F>> {
        using T = redress::detail::operation_result_t<std::remove_reference_t<F>>;
        CircuitState rejected = CircuitState::Open;
        auto out = run(fn, options, &rejected);
        return redress::detail::value_or_throw<T, true>(std::move(out), rejected, nullptr);
    }

    /// `execute()` of the wrapped policy, recorded.
    template <class F>
    auto execute(F&& fn, const CallOptions& options = {}) const
        -> Outcome<redress::detail::operation_result_t<std::remove_reference_t<F>>> {
        return run(fn, options, nullptr);
    }

    /// Binds options for several calls, like `Policy::context()`; the calls are recorded.
    [[nodiscard]] BoundContext<RecordingPolicy> context(CallOptions options) const {
        return BoundContext<RecordingPolicy>(*this, std::move(options));
    }

    /// Every call so far, in the order they ended.
    [[nodiscard]] std::vector<RecordedCall> calls() const {
        std::lock_guard lock(state_->mutex);
        return state_->calls;
    }
    /// The number of calls so far.
    [[nodiscard]] std::size_t call_count() const {
        std::lock_guard lock(state_->mutex);
        return state_->calls.size();
    }
    /// The most recent call; throws `std::out_of_range` when there was none.
    [[nodiscard]] RecordedCall last_call() const {
        std::lock_guard lock(state_->mutex);
        if (state_->calls.empty()) throw std::out_of_range("redress::testing::RecordingPolicy: no call recorded");
        return state_->calls.back();
    }
    /// The operation name of every call, in order.
    [[nodiscard]] std::vector<std::string> operations() const {
        std::lock_guard lock(state_->mutex);
        std::vector<std::string> ops;
        for (const auto& c : state_->calls) ops.push_back(c.operation);
        return ops;
    }
    /// Forgets the calls recorded so far.
    void clear() {
        std::lock_guard lock(state_->mutex);
        state_->calls.clear();
    }
    /// The wrapped policy.
    [[nodiscard]] const PolicyT& policy() const noexcept { return state_->policy; }

private:
    struct State {
        explicit State(PolicyT p) : policy(std::move(p)) {}
        PolicyT policy;
        std::mutex mutex;
        std::vector<RecordedCall> calls;
    };

    template <class F>
    auto run(F& fn, const CallOptions& options, CircuitState* rejected) const {
        CallOptions recorded = options;
        std::size_t first = 0;
        const bool caller_wants_timeline = options.capture_timeline.enabled();
        std::shared_ptr<RetryTimeline> timeline = options.capture_timeline.make();
        if (!timeline) timeline = std::make_shared<RetryTimeline>();
        first = timeline->events.size();
        recorded.capture_timeline = timeline;

        auto out = state_->policy.execute(fn, recorded);

        RecordedCall call;
        call.operation = std::string(options.operation);
        call.ok = out.ok;
        call.stop_reason = out.stop_reason;
        call.attempts = out.attempts;
        call.last_class = out.last_class;
        call.cause = out.cause;
        call.events.assign(timeline->events.begin() + static_cast<std::ptrdiff_t>(first), timeline->events.end());
        if (rejected != nullptr) {
            for (const auto& e : call.events)
                if (e.event == EventName::CircuitRejected && e.state) *rejected = *e.state;
        }
        {
            std::lock_guard lock(state_->mutex);
            state_->calls.push_back(std::move(call));
        }
        if (!caller_wants_timeline) out.timeline = nullptr;
        return out;
    }

    std::shared_ptr<State> state_;
};

template <class PolicyT>
RecordingPolicy(PolicyT) -> RecordingPolicy<PolicyT>;

}  // namespace redress::testing
