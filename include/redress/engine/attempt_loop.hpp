// The attempt-loop core: every retry decision, in one place, in order.
//
// The core never runs the user's operation and never waits. A driver (sync or coroutine)
// tells it what happened — an attempt is about to start, it succeeded, it failed with this
// classification, the sleep handler decided, the sleep is over — and the core answers what
// to do next: run an attempt, sleep for `planned_sleep()`, or stop. It emits the events and
// calls the observability hooks on the way (those never change a decision: exceptions they
// throw are swallowed). Rule numbers below are those of docs/contract.md ("The attempt loop").
// The rules' bodies, in that order, are in <redress/impl/engine/attempt_loop.hpp>.
#pragma once

#include <array>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string_view>
#include <typeinfo>
#include <utility>

#include <redress/backoff_context.hpp>
#include <redress/budget.hpp>
#include <redress/classification.hpp>
#include <redress/detail/attributes.hpp>
#include <redress/clock.hpp>
#include <redress/detail/demangle.hpp>
#include <redress/error_class.hpp>
#include <redress/event.hpp>
#include <redress/hooks.hpp>
#include <redress/outcome.hpp>
#include <redress/retry.hpp>
#include <redress/strategies.hpp>
#include <redress/vocabulary.hpp>

namespace redress::detail {

/// Calls an observability hook; whatever it throws is swallowed (observing never changes a decision).
template <class Hook, class... Args>
void call_hook(const Hook* hook, Args&&... args) noexcept {
    if (hook == nullptr || !*hook) return;
    try {
        (*hook)(std::forward<Args>(args)...);
    } catch (...) {
    }
}

/// The observers and abort sources of one call, resolved once: the call's option when set,
/// else the policy's. Pointers refer to the policy or the call options, which outlive the call.
struct CallHooks {
    const EventHook* on_metric = nullptr;
    const EventHook* on_log = nullptr;
    const AttemptHook* on_attempt_start = nullptr;
    const AttemptHook* on_attempt_end = nullptr;
    const AbortPredicate* abort_if = nullptr;
    std::stop_token stop_token{};
    RetryTimeline* timeline = nullptr;
    const TimelineOps* timeline_ops = nullptr;  ///< set with `timeline`
    std::string_view operation{};
    std::span<const Tag> tags{};

    [[nodiscard]] bool observed() const noexcept {
        return on_metric != nullptr || on_log != nullptr || timeline != nullptr;
    }

    [[nodiscard]] bool abort_requested() const noexcept {
        if (stop_token.stop_requested()) return true;
        if (abort_if == nullptr) return false;
        try {
            return (*abort_if)();
        } catch (...) {
            return false;  // a broken predicate must not end operations; documented
        }
    }
};

template <class F>
[[nodiscard]] const F* pick(const F& call_value, const F& policy_value) noexcept {
    if (call_value) return &call_value;
    if (policy_value) return &policy_value;
    return nullptr;
}

/// The tags of a call's events: the policy's, the call's, or both merged into `merged` (which
/// must outlive the call).
template <class RetryT>
[[nodiscard]] std::span<const Tag> resolve_tags(const RetryT& r, const CallOptions& o, std::optional<Tags>& merged) {
    if (o.tags.empty()) return r.tags.view();
    if (r.tags.empty()) return o.tags.view();
    merged.emplace(r.tags);
    merged->merge(o.tags);
    return merged->view();
}

/// As `resolve_tags`, merging into the call's own copy of its options: a coroutine frame that
/// owns the options then holds one `Tags` (528 bytes), not two.
template <class RetryT>
[[nodiscard]] std::span<const Tag> resolve_tags(const RetryT& r, CallOptions& own) {
    if (own.tags.empty()) return r.tags.view();
    if (!r.tags.empty()) {
        Tags merged = r.tags;
        merged.merge(own.tags);
        own.tags = merged;
    }
    return own.tags.view();
}

/// Resolves the hooks of one call from the call's options and the policy's defaults.
template <class RetryT>
[[nodiscard]] CallHooks resolve_hooks(const RetryT& r, const CallOptions& o, RetryTimeline* timeline,
                                      std::span<const Tag> tags = {}) noexcept {
    CallHooks h;
    h.on_metric = pick(o.on_metric, r.on_metric);
    h.on_log = pick(o.on_log, r.on_log);
    h.on_attempt_start = pick(o.on_attempt_start, r.on_attempt_start);
    h.on_attempt_end = pick(o.on_attempt_end, r.on_attempt_end);
    h.abort_if = pick(o.abort_if, r.abort_if);
    h.stop_token = o.stop_token;
    h.timeline = timeline;
    if (timeline != nullptr) h.timeline_ops = detail::capture_ops(o.capture_timeline);
    h.operation = o.operation;
    h.tags = tags;
    return h;
}

/// Delivers events to `on_metric`, `on_log` and the timeline.
void emit(const CallHooks& hooks, const Event& event, TimePoint start, const AnyClock& clock);

/// The event that reports each stop reason.
[[nodiscard]] constexpr EventName event_for(StopReason reason) noexcept {
    switch (reason) {
        case StopReason::MaxAttemptsGlobal:
        case StopReason::MaxAttemptsPerClass: return EventName::MaxAttemptsExceeded;
        case StopReason::DeadlineExceeded: return EventName::DeadlineExceeded;
        case StopReason::MaxUnknownAttempts: return EventName::MaxUnknownAttemptsExceeded;
        case StopReason::NonRetryableClass: return EventName::PermanentFail;
        case StopReason::NoStrategy: return EventName::NoStrategyConfigured;
        case StopReason::BudgetExhausted: return EventName::BudgetExhausted;
        case StopReason::Scheduled: return EventName::Scheduled;
        case StopReason::Aborted: return EventName::Aborted;
        case StopReason::CircuitOpen: return EventName::CircuitRejected;
    }
    return EventName::Aborted;
}

/// Tells the policy's budget that an operation started, when it counts requests (a ratio
/// budget); every driver calls it once per operation, before the breaker's gate.
template <class RetryT>
void record_operation(const RetryT& cfg) noexcept {
    if (cfg.budget) cfg.budget->record_request();
}

/// What the driver does next.
/// `Wait`: hedging only, the failure of an attempt while others are in flight — wait for them.
enum class Next { Run, Sleep, Stop, Wait };

/// Which rules apply: a policy with a `Retry` runs the whole loop; a breaker-only policy runs
/// one attempt, where a failure simply ends the operation (no retry rule fires, no stop
/// reason, no retry events) and only an abort is reported.
enum class Attempts { Retried, Single };

/// Which rules a policy's attempts follow.
template <class PolicyT>
inline constexpr Attempts attempts_of = PolicyT::has_retry ? Attempts::Retried : Attempts::Single;

/// An answer of a classifier outside the eight classes is treated as `Unknown` (a broken
/// classifier must not index past the per-class tables). Documented in docs/limits.md.
[[nodiscard]] constexpr ErrorClass known_class(ErrorClass klass) noexcept {
    return static_cast<std::size_t>(klass) < error_class_count ? klass : ErrorClass::Unknown;
}

/// One operation's retry state machine. Lives on the driver's stack (or coroutine frame);
/// allocates nothing unless a timeline is captured. One class per `Mode`, whatever the policy
/// (`AttemptLoop<RetryT, Mode>` names it by the policy's retry type).
template <Attempts Mode = Attempts::Retried>
class BasicAttemptLoop {
public:
    /// `start` is the operation's start on the policy's clock (the driver reads it once and
    /// shares it with the breaker gate).
    template <class RetryT>
        requires IsRetry<RetryT>::value
    BasicAttemptLoop(const RetryT& config, const CallHooks& hooks, bool notify_class_strategies, TimePoint start)
        : BasicAttemptLoop(view_of(config), hooks, notify_class_strategies, start) {}
    BasicAttemptLoop(const RetryView& config, const CallHooks& hooks, bool notify_class_strategies, TimePoint start)
        : cfg_(config), hooks_(hooks), notify_classes_(notify_class_strategies), start_(start) {}

    BasicAttemptLoop(const BasicAttemptLoop&) = delete;
    BasicAttemptLoop& operator=(const BasicAttemptLoop&) = delete;
    // User-provided, so that separate compilation compiles it once with the other members.
    ~BasicAttemptLoop();

    // ---- rules 1 and 2: before an attempt -------------------------------------------
    /// Checks for an abort, then starts the next attempt (`on_attempt_start`).
    [[nodiscard]] Next begin_attempt();

    /// The driver ran attempt 1 on its fast path (nothing observes the call, nothing can
    /// abort it: rules 1 and 2 had nothing to do); it now reports how it ended.
    void adopt_first_attempt() noexcept { start_attempt(); }

    /// What the loop reads of the retry (its clock, attempt timeout and classifier too).
    [[nodiscard]] const RetryView& view() const noexcept { return cfg_; }

    /// Tells adaptive strategies of a success (rule 3).
    static void notify_success_all(const RetryView& cfg, bool notify_classes);

    // ---- rule 3: the attempt succeeded --------------------------------------------------
    void succeeded();

    /// The callable threw `AbortRetryError`: stop at once. The attempt is not a failure: it is
    /// not classified, and the operation's last failure (if an earlier attempt failed) stays
    /// what the outcome reports.
    void aborted_by_callable();

    /// The policy's own configuration threw while judging this attempt (classifier, result
    /// classifier, strategy): the exception propagates from `call()` and `execute()`. Ends
    /// the attempt with decision `Raise` (once: a no-op if it has ended already).
    void configuration_failed() noexcept;

    // ---- rule 4: the attempt failed -------------------------------------------------------
    /// The attempt threw (`cause == Exception`, `exception` set) or returned a value the
    /// result classifier rejected. Answers `Sleep` (for `planned_sleep()`) or `Stop`.
    /// `exception` points at the outcome's `last_exception` (null for a result failure); it
    /// must outlive the loop.
    [[nodiscard]] Next failed(Classification&& classification, FailureCause cause, const std::exception_ptr* exception);

    // ---- rule 12: the sleep handler's answer ----------------------------------------------
    [[nodiscard]] Next sleep_decided(SleepDecision decision);

    // ---- rule 13: after the wait ----------------------------------------------------------
    /// `waited` is false when no time can have passed (a zero sleep with no custom sleeper):
    /// rule 4.8 just found time left, so the clock need not be read again.
    [[nodiscard]] Next slept(bool waited = true);

    // ---- hedging: attempts that overlap (a policy with a `Hedge`) ---------------------------
    /// The policy hedges; `non_retryable_ends` is `Hedge::non_retryable_ends`.
    void hedging(bool non_retryable_ends) noexcept {
        hedging_ = true;
        non_retryable_ends_ = non_retryable_ends;
    }

    /// A hedge is due, `delay` (set by `trigger`) after the last attempt's start, while
    /// `in_flight` attempts run. Starts it as the next attempt (`hedge_sent`, then
    /// `on_attempt_start`) and answers true; or answers false when no attempt may start now
    /// (an abort was requested, `max_attempts` are started, the deadline has passed), and
    /// also when the breaker is not closed (`breaker`) or the budget refuses — the hedge's own
    /// `budget` when set, else the retry's — which `hedge_skipped` reports.
    [[nodiscard]] bool begin_hedge(Duration delay, HedgeTrigger trigger, CircuitState breaker,
                                   const std::optional<Budget>& budget, int in_flight);

    /// Attempt `attempt` answered while `others` attempts are still in flight; the driver
    /// reports how with `succeeded()` or `failed()` (which answers `Wait` while others run).
    void answered(int attempt, int others) noexcept {
        attempt_ = attempt;
        others_in_flight_ = others;
        attempt_failed_ = false;
        ended_ = false;
    }

    /// Attempt `attempt` was still in flight when the operation ended: it was asked to stop
    /// and its answer is dropped (`on_attempt_end` with decision `Cancelled`).
    void cancelled(int attempt);

    // ---- what the driver reads ------------------------------------------------------------
    /// The context given to the strategy, the sleep handler and `before_sleep`.
    [[nodiscard]] const BackoffContext& backoff_context() const noexcept { return ctx_; }
    [[nodiscard]] Duration planned_sleep() const noexcept { return sleep_; }
    /// Attempts started (with hedging, the attempts that ran side by side included).
    [[nodiscard]] int attempts() const noexcept { return started_; }
    [[nodiscard]] bool succeeded_last() const noexcept { return succeeded_; }
    [[nodiscard]] std::optional<StopReason> stop_reason() const noexcept { return stop_reason_; }
    /// The failure the outcome reports: the operation's last failure, none after a success.
    [[nodiscard]] std::optional<ErrorClass> last_class() const noexcept {
        return failed_ && !succeeded_ ? std::optional<ErrorClass>(ctx_.classification.klass) : std::nullopt;
    }
    [[nodiscard]] std::optional<FailureCause> cause() const noexcept {
        return failed_ && !succeeded_ ? std::optional<FailureCause>(ctx_.cause) : std::nullopt;
    }
    [[nodiscard]] std::optional<Duration> next_sleep() const noexcept { return next_sleep_; }
    [[nodiscard]] TimePoint start() const noexcept { return start_; }
    [[nodiscard]] Duration elapsed() const { return cfg_.clock->now() - start_; }

private:
    void start_attempt() noexcept {
        attempt_ = ++started_;
        attempt_failed_ = false;
        ended_ = false;
    }

    void call_attempt_start();

    /// An event about a hedge: the attempt it would be (next to start).
    [[nodiscard]] Event hedge_event(EventName name) const;

    void emit_if_observed(const Event& e);

    Next stop(StopReason reason, AttemptDecision decision, std::optional<Duration> sleep = std::nullopt);

    void emit_stop(StopReason reason);

    [[nodiscard]] Event failure_event(EventName name) const;

    void emit_event(const Event& e);

    void attempt_end(AttemptDecision decision, std::optional<Duration> sleep);

    REDRESS_NOINLINE Next failed_in_flight(ErrorClass klass);

    RetryView cfg_;
    const CallHooks& hooks_;
    bool notify_classes_;
    TimePoint start_;
    int attempt_ = 0;              ///< the attempt events and hooks concern
    int started_ = 0;              ///< attempts started (hedges included)
    int others_in_flight_ = 0;     ///< hedging: attempts still running besides `attempt_`
    bool hedging_ = false;
    bool non_retryable_ends_ = false;
    int unknown_failures_ = 0;
    std::array<int, error_class_count> class_failures_{};
    bool failed_ = false;          ///< some attempt failed (the outcome's last failure is set)
    bool attempt_failed_ = false;  ///< the current attempt failed
    bool succeeded_ = false;
    bool ended_ = false;           ///< the current attempt's on_attempt_end was called
    BackoffContext ctx_{};
    const std::exception_ptr* exception_ = nullptr;
    DemangledName error_type_{};
    Duration sleep_{};
    std::optional<Duration> prev_sleep_{};
    std::optional<Duration> next_sleep_{};
    std::optional<StopReason> stop_reason_{};
};

REDRESS_EXTERN_TEMPLATE(class BasicAttemptLoop<Attempts::Retried>)
REDRESS_EXTERN_TEMPLATE(class BasicAttemptLoop<Attempts::Single>)

/// The attempt loop of a policy whose retry component is `RetryT`.
template <class RetryT, Attempts Mode = Attempts::Retried>
using AttemptLoop = BasicAttemptLoop<Mode>;

}  // namespace redress::detail

#if !defined(REDRESS_SEPARATE_COMPILATION)
#include <redress/impl/engine/attempt_loop.hpp>
#endif
