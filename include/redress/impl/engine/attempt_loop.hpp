// <redress/impl/engine/attempt_loop.hpp>: the definitions <redress/engine/attempt_loop.hpp>
// declares. Included at the end of that header, or once, by <redress/impl/src.hpp>, under
// separate compilation (detail/attributes.hpp says which definitions live here).
#pragma once

#include <redress/detail/attributes.hpp>
#include <redress/engine/attempt_loop.hpp>

namespace redress::detail {

REDRESS_DECL void emit(const CallHooks& hooks, const Event& event, TimePoint start, const AnyClock& clock) {
    call_hook(hooks.on_metric, event);
    call_hook(hooks.on_log, event);
    if (hooks.timeline != nullptr && hooks.timeline_ops != nullptr) {
        try {
            hooks.timeline_ops->record(*hooks.timeline, event, clock.now() - start);
        } catch (...) {
        }
    }
}

template <Attempts Mode>
inline BasicAttemptLoop<Mode>::~BasicAttemptLoop() {}

template <Attempts Mode>
inline Next BasicAttemptLoop<Mode>::begin_attempt() {
    if (hooks_.abort_requested()) {
        // No attempt started: the event names the last attempt that ran.
        stop_reason_ = StopReason::Aborted;
        emit_stop(StopReason::Aborted);
        return Next::Stop;
    }
    start_attempt();
    call_attempt_start();
    return Next::Run;
}

template <Attempts Mode>
inline void BasicAttemptLoop<Mode>::notify_success_all(const RetryView& cfg, bool notify_classes) {
    if (cfg.notify != nullptr) cfg.notify(cfg.strategy, true);
    if (notify_classes) cfg.strategies->for_each([](ErrorClass, const AnyStrategy& s) { notify_success(s); });
}

template <Attempts Mode>
inline void BasicAttemptLoop<Mode>::succeeded() {
    succeeded_ = true;
    notify_success_all(cfg_, notify_classes_);
    if (Mode == Attempts::Retried && hooks_.observed()) {
        Event e;
        e.name = EventName::Success;
        e.attempt = attempt_;
        e.operation = hooks_.operation;
        e.tags = hooks_.tags;
        if (hedging_) e.in_flight = others_in_flight_ + 1;
        emit_event(e);
    }
    attempt_end(AttemptDecision::Success, std::nullopt);
}

template <Attempts Mode>
inline void BasicAttemptLoop<Mode>::aborted_by_callable() { stop(StopReason::Aborted, AttemptDecision::Aborted); }

template <Attempts Mode>
inline void BasicAttemptLoop<Mode>::configuration_failed() noexcept {
    if (!ended_) attempt_end(AttemptDecision::Raise, std::nullopt);
}

template <Attempts Mode>
inline Next BasicAttemptLoop<Mode>::failed(Classification&& classification, FailureCause cause,
                                           const std::exception_ptr* exception) {
    // Record the failure first (Divergence: the original checks for abort before
    // classifying, so an aborted outcome reported the previous failure).
    // Replaced rather than move-assigned: std::string's move assignment would compile its
    // whole assign/replace family into every translation unit (C++20 libstdc++ compiles
    // std::string members per use), and its move constructor is needed anyway. Both are
    // noexcept, so the member is never left destroyed.
    classification.klass = known_class(classification.klass);
    std::destroy_at(&ctx_.classification);
    std::construct_at(&ctx_.classification, std::move(classification));
    ctx_.cause = cause;
    exception_ = exception;
    failed_ = true;
    attempt_failed_ = true;
    if (hooks_.observed())
        error_type_.reset(exception_ != nullptr && *exception_ ? exception_type(*exception_) : nullptr);
    if constexpr (Mode == Attempts::Single) {
        attempt_end(AttemptDecision::Raise, std::nullopt);  // one attempt: its failure ends the operation
        return Next::Stop;
    }
    const ErrorClass klass = ctx_.classification.klass;

    // 4.1 abort requested
    if (hooks_.abort_requested()) return stop(StopReason::Aborted, AttemptDecision::Aborted);

    // Hedging: while other attempts are in flight a failure is counted, and only a
    // non-retryable one may end the operation (`Hedge::non_retryable_ends`); the rules
    // below judge the failure of the last attempt in flight.
    if (others_in_flight_ > 0) [[unlikely]]
        return failed_in_flight(klass);

    // 4.2 per-class cap: the count of this class's failures reaches its limit
    const int count = ++class_failures_[static_cast<std::size_t>(klass)];
    if (const int* limit = cfg_.per_class_max_attempts->find(klass); limit != nullptr && count >= *limit)
        return stop(StopReason::MaxAttemptsPerClass, AttemptDecision::Raise);

    // 4.3 non-retryable class
    if (!is_retryable(klass)) return stop(StopReason::NonRetryableClass, AttemptDecision::Raise);

    // 4.4 unknown-failure cap (2 means the third unknown failure stops)
    if (klass == ErrorClass::Unknown) {
        ++unknown_failures_;
        if (*cfg_.max_unknown_attempts && unknown_failures_ > **cfg_.max_unknown_attempts)
            return stop(StopReason::MaxUnknownAttempts, AttemptDecision::Raise);
    }

    // 4.5 deadline already passed
    const Duration spent = elapsed();
    if (spent > cfg_.deadline) return stop(StopReason::DeadlineExceeded, AttemptDecision::Raise);

    // 4.6 a strategy for this class
    const AnyStrategy* class_strategy = cfg_.strategies->find(klass);
    if (class_strategy == nullptr && cfg_.strategy == nullptr)
        return stop(StopReason::NoStrategy, AttemptDecision::Raise);

    // 4.7 Divergence: the last attempt never sleeps, never emits `retry`, spends no budget
    if (started_ >= cfg_.max_attempts) return stop(StopReason::MaxAttemptsGlobal, AttemptDecision::Raise);

    // 4.8 no time left (a clock read before the start counts as no time spent); and a
    // server-directed wait longer than what is left: retrying before the server said it
    // may is useless, waiting past the deadline is not allowed
    const Duration remaining = spent > Duration::zero() ? cfg_.deadline - spent : cfg_.deadline;
    if (remaining <= Duration::zero()) return stop(StopReason::DeadlineExceeded, AttemptDecision::Raise);
    if (const auto& hint = ctx_.classification.retry_after; hint && *hint > remaining)
        return stop(StopReason::DeadlineExceeded, AttemptDecision::Raise);

    // 4.9 the sleep: finite, >= 0, <= remaining; an adaptive strategy learns of the failure
    ctx_.attempt = started_;
    ctx_.prev_sleep = prev_sleep_;
    ctx_.remaining = remaining;
    Duration sleep{};
    if (class_strategy != nullptr) {
        sleep = (*class_strategy)(ctx_);
        notify_failure(*class_strategy);
    } else {
        sleep = cfg_.sleep_of(cfg_.strategy, ctx_);
        cfg_.notify(cfg_.strategy, false);
    }
    if (sleep < Duration::zero()) sleep = Duration::zero();
    if (sleep > remaining) sleep = remaining;
    sleep_ = sleep;

    // 4.10 the shared budget (a handle to shared state: consuming is const); a backend that
    // did not answer says so before the retry or the stop its fallback chose
    if (*cfg_.budget) {
        const BudgetVerdict verdict = (*cfg_.budget)->decide();
        if (backend_unavailable(verdict) && hooks_.observed())
            emit_event(failure_event(EventName::BudgetBackendUnavailable));
        if (!admitted(verdict)) return stop(StopReason::BudgetExhausted, AttemptDecision::Raise);
    }

    // 4.11 announce the retry; a last look for an abort
    if (hooks_.observed()) {
        Event e = failure_event(EventName::Retry);
        e.sleep = sleep_;
        e.retry_after = ctx_.classification.retry_after;
        emit_event(e);
    }
    if (hooks_.abort_requested()) return stop(StopReason::Aborted, AttemptDecision::Aborted);
    return Next::Sleep;
}

template <Attempts Mode>
inline Next BasicAttemptLoop<Mode>::sleep_decided(SleepDecision decision) {
    switch (decision) {
        case SleepDecision::Defer:
            next_sleep_ = sleep_;
            return stop(StopReason::Scheduled, AttemptDecision::Scheduled, sleep_);
        case SleepDecision::Abort: return stop(StopReason::Aborted, AttemptDecision::Aborted);
        case SleepDecision::Sleep: break;
    }
    return Next::Sleep;
}

template <Attempts Mode>
inline Next BasicAttemptLoop<Mode>::slept(bool waited) {
    if (waited && elapsed() > cfg_.deadline) return stop(StopReason::DeadlineExceeded, AttemptDecision::Raise);
    attempt_end(AttemptDecision::Retry, sleep_);
    prev_sleep_ = sleep_;
    return Next::Run;
}

template <Attempts Mode>
inline bool BasicAttemptLoop<Mode>::begin_hedge(Duration delay, HedgeTrigger trigger, CircuitState breaker,
                               const std::optional<Budget>& budget, int in_flight) {
    if (hooks_.abort_requested() || started_ >= cfg_.max_attempts || elapsed() >= cfg_.deadline) return false;
    if (breaker != CircuitState::Closed) {
        Event e = hedge_event(EventName::HedgeSkipped);
        e.state = breaker;
        emit_if_observed(e);
        return false;
    }
    if (const std::optional<Budget>& spend = budget ? budget : *cfg_.budget) {
        const BudgetVerdict verdict = spend->decide();
        if (backend_unavailable(verdict)) emit_if_observed(hedge_event(EventName::BudgetBackendUnavailable));
        if (!admitted(verdict)) {
            emit_if_observed(hedge_event(EventName::HedgeSkipped));
            return false;
        }
    }
    Event sent = hedge_event(EventName::HedgeSent);
    sent.sleep = delay;
    sent.trigger = trigger;
    sent.in_flight = in_flight + 1;
    start_attempt();
    emit_if_observed(sent);
    call_attempt_start();
    return true;
}

template <Attempts Mode>
inline void BasicAttemptLoop<Mode>::cancelled(int attempt) {
    const int concerned = attempt_;
    const bool failed = attempt_failed_;
    attempt_ = attempt;
    attempt_failed_ = false;
    attempt_end(AttemptDecision::Cancelled, std::nullopt);
    attempt_ = concerned;
    attempt_failed_ = failed;
}

template <Attempts Mode>
inline void BasicAttemptLoop<Mode>::call_attempt_start() {
    if (hooks_.on_attempt_start == nullptr) return;
    AttemptContext ctx;
    ctx.attempt = attempt_;
    ctx.operation = hooks_.operation;
    ctx.elapsed = elapsed();
    call_hook(hooks_.on_attempt_start, ctx);
}

template <Attempts Mode>
inline Event BasicAttemptLoop<Mode>::hedge_event(EventName name) const {
    Event e;
    e.name = name;
    e.attempt = started_ + 1;
    e.operation = hooks_.operation;
    e.tags = hooks_.tags;
    return e;
}

template <Attempts Mode>
inline void BasicAttemptLoop<Mode>::emit_if_observed(const Event& e) {
    if (hooks_.observed()) emit_event(e);
}

template <Attempts Mode>
inline Next BasicAttemptLoop<Mode>::stop(StopReason reason, AttemptDecision decision, std::optional<Duration> sleep) {
    stop_reason_ = reason;
    emit_stop(reason);
    attempt_end(decision, sleep);
    return Next::Stop;
}

template <Attempts Mode>
inline void BasicAttemptLoop<Mode>::emit_stop(StopReason reason) {
    if (!hooks_.observed()) return;
    if (reason == StopReason::Aborted) {
        // The tag set of `aborted` is stop_reason and operation, whatever failed before.
        Event e;
        e.name = EventName::Aborted;
        e.attempt = attempt_;
        e.operation = hooks_.operation;
        e.tags = hooks_.tags;
        e.stop_reason = reason;
        emit_event(e);
        return;
    }
    Event e = failure_event(event_for(reason));
    e.stop_reason = reason;
    if (reason == StopReason::Scheduled) e.sleep = sleep_;
    emit_event(e);
}

template <Attempts Mode>
inline Event BasicAttemptLoop<Mode>::failure_event(EventName name) const {
    Event e;
    e.name = name;
    e.attempt = attempt_;
    e.operation = hooks_.operation;
    e.tags = hooks_.tags;
    if (failed_) {
        e.error_class = ctx_.classification.klass;
        e.cause = ctx_.cause;
        e.error_type = error_type_.view();
    }
    return e;
}

template <Attempts Mode>
inline void BasicAttemptLoop<Mode>::emit_event(const Event& e) { emit(hooks_, e, start_, *cfg_.clock); }

template <Attempts Mode>
inline void BasicAttemptLoop<Mode>::attempt_end(AttemptDecision decision, std::optional<Duration> sleep) {
    ended_ = true;
    if (hooks_.on_attempt_end == nullptr) return;
    AttemptContext ctx;
    ctx.attempt = attempt_;
    ctx.operation = hooks_.operation;
    ctx.elapsed = elapsed();
    ctx.decision = decision;
    ctx.stop_reason = stop_reason_;
    ctx.sleep = sleep;
    if (attempt_failed_) {  // only this attempt's own failure, never an earlier one's
        ctx.classification = &ctx_.classification;
        if (exception_ != nullptr) ctx.exception = *exception_;
        ctx.cause = ctx_.cause;
    }
    call_hook(hooks_.on_attempt_end, ctx);
}

template <Attempts Mode>
Next BasicAttemptLoop<Mode>::failed_in_flight(ErrorClass klass) {
    ++class_failures_[static_cast<std::size_t>(klass)];
    if (klass == ErrorClass::Unknown) ++unknown_failures_;
    if (!is_retryable(klass) && non_retryable_ends_)
        return stop(StopReason::NonRetryableClass, AttemptDecision::Raise);
    attempt_end(AttemptDecision::Retry, std::nullopt);  // the operation goes on, no sleep
    return Next::Wait;
}

}  // namespace redress::detail
