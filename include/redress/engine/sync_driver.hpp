// The synchronous driver: runs the operation and waits on the calling thread; every decision
// comes from the attempt-loop core (engine/attempt_loop.hpp). The coroutine driver beside it
// (engine/async_driver.hpp) is the same loop, awaiting instead of blocking.
#pragma once

#include <exception>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

#include <redress/detail/attributes.hpp>
#include <redress/engine/attempt_loop.hpp>
#include <redress/engine/gate.hpp>
#include <redress/engine/operation.hpp>
#include <redress/engine/settle.hpp>
#include <redress/engine/sync_wait.hpp>
#include <redress/errors.hpp>
#include <redress/hooks.hpp>
#include <redress/outcome.hpp>
#include <redress/retry.hpp>


namespace redress::detail {

/// Whether the driver measures `Outcome::elapsed` (`execute()` does; `call()` has no outcome
/// to show it in, and saves the clock read).
enum class Measure : bool { No, Yes };

/// The sleep hooks of one call, resolved once: the call's option when set, else the policy's.
struct SleepHooks {
    const SleepHandler* sleep = nullptr;
    const BeforeSleepHook* before_sleep = nullptr;
    const Sleeper* sleeper = nullptr;
};

template <class RetryT>
[[nodiscard]] SleepHooks resolve_sleep_hooks(const RetryT& r, const CallOptions& o) noexcept {
    return {pick(o.sleep, r.sleep), pick(o.before_sleep, r.before_sleep), pick(o.sleeper, r.sleeper)};
}

/// The policy's own sleep hooks (a call without options).
template <class RetryT>
[[nodiscard]] SleepHooks policy_sleep_hooks(const RetryT& r) noexcept {
    const auto own = [](const auto& hook) { return hook ? &hook : nullptr; };
    return {own(r.sleep), own(r.before_sleep), own(r.sleeper)};
}

/// Where one run of the operation puts its value: the outcome's `value` (nothing for `void`).
template <class T>
struct ValueSlot {
    std::optional<T>* value;
    void emplace_from(auto&& produce) const { value->emplace(produce()); }
};
template <>
struct ValueSlot<void> {
    void emplace_from(auto&& produce) const { produce(); }
};
template <class T>
[[nodiscard]] ValueSlot<T> slot_of(Outcome<T>& out) noexcept {
    if constexpr (std::is_void_v<T>) {
        (void)out;
        return {};
    } else {
        return {&out.value};
    }
}

/// How one run of the operation ended.
enum class Ran { Returned, Threw, Aborted };

/// How one run of the operation ended: `Returned` (the value is in the slot), or what it threw.
struct RunResult {
    Ran ran;
    std::exception_ptr error{};

    RunResult(Ran r, std::exception_ptr e = {}) noexcept : ran(r), error(std::move(e)) {}
    RunResult(RunResult&&) noexcept = default;
    RunResult& operator=(RunResult&&) noexcept = default;
    // Always inlined, so a success path sees `error` still empty and drops its release: g++
    // sometimes outlined the implicit destructor (+9 instructions on a quiet success).
    REDRESS_INLINE ~RunResult() {}
};

/// Runs the operation once — the one place a sync attempt runs — storing its value in `slot`.
/// `AbortRetryError` is told apart: it ends the operation. Always inlined: the catch lands in
/// the caller's small frame, where an unwind is cheap.
template <class T, class F>
REDRESS_INLINE RunResult run_once(F& fn, const std::stop_token& token, ValueSlot<T> slot) {
    try {
        slot.emplace_from([&]() -> decltype(auto) { return invoke_operation(fn, token); });
        return {Ran::Returned};
    } catch (const AbortRetryError&) {
        return {Ran::Aborted, std::current_exception()};
    } catch (...) {
        return {Ran::Threw, std::current_exception()};
    }
}

/// Runs one attempt (under the attempt's deadline when the policy has `attempt_timeout`) and
/// tells the core how it ended. The `AbortRetryError` the operation threw lands in `abort`.
template <class T, class RetryT, class F, class Loop>
Next run_attempt(const RetryT& cfg, F& fn, Loop& loop, const CallHooks& hooks, Outcome<T>& out, std::exception_ptr& abort) {
    TimePoint attempt_start{};
    const bool timed = cfg.attempt_timeout.has_value();
    if (timed) attempt_start = cfg.clock.now();
    RunResult result = [&] {
        if constexpr (TakesStopToken<F>) {
            if (timed) {
                // Only an operation that takes a stop token can see the watchdog's request; for
                // the others the late-answer rule is the whole of attempt_timeout.
                AttemptDeadline deadline(*cfg.attempt_timeout, hooks.stop_token);
                return run_once<T>(fn, deadline.token(), slot_of(out));
            }
        }
        return run_once<T>(fn, hooks.stop_token, slot_of(out));
    }();
    if (result.ran == Ran::Aborted) {
        abort = std::move(result.error);
        loop.aborted_by_callable();
        return Next::Stop;
    }
    return settle_attempt(loop, cfg, out, std::move(result.error), timed ? &attempt_start : nullptr);
}

/// Rule 12 and 13: the sleep handler decides, `before_sleep` observes, the sleeper waits (a
/// stop request wakes the default one), then the core checks the deadline.
template <class Loop>
Next wait(Loop& loop, const SleepHooks& hooks, const std::stop_token& token) {
    if (hooks.sleep != nullptr) {
        SleepDecision decision = SleepDecision::Abort;  // a throwing handler aborts (documented)
        try {
            decision = (*hooks.sleep)(loop.backoff_context(), loop.planned_sleep());
        } catch (...) {
        }
        if (loop.sleep_decided(decision) == Next::Stop) return Next::Stop;
    }
    call_hook(hooks.before_sleep, loop.backoff_context(), loop.planned_sleep());
    bool waited = true;
    if (hooks.sleeper != nullptr) {
        try {
            (*hooks.sleeper)(loop.planned_sleep());
        } catch (...) {
            return loop.sleep_decided(SleepDecision::Abort);  // a throwing sleeper aborts (documented)
        }
    } else if (loop.planned_sleep() > Duration::zero()) {
        interruptible_sleep(loop.planned_sleep(), token);
    } else {
        waited = false;
    }
    return loop.slept(waited);
}
REDRESS_EXTERN_TEMPLATE(Next wait(BasicAttemptLoop<Attempts::Retried>&, const SleepHooks&, const std::stop_token&))
REDRESS_EXTERN_TEMPLATE(Next wait(BasicAttemptLoop<Attempts::Single>&, const SleepHooks&, const std::stop_token&))

/// How attempt 1 ended when the caller ran it before any loop state existed.
using FirstAttempt = RunResult;

/// The attempts of one operation, from the first (or from how `first` ended) to the stop.
template <Attempts Mode, class T, class RetryT, class F>
void run_attempts(const RetryT& cfg, bool notify_classes, F& fn, const CallHooks& hooks, const SleepHooks& sleeps,
                  TimePoint start, Measure measure, Outcome<T>& out, std::exception_ptr& abort,
                  FirstAttempt* first = nullptr) {
    AttemptLoop<RetryT, Mode> loop(cfg, hooks, notify_classes, start);
    Next next = Next::Run;
    if (first != nullptr) {
        loop.adopt_first_attempt();
        if (first->ran == Ran::Aborted) {
            abort = std::move(first->error);
            loop.aborted_by_callable();
            next = Next::Stop;
        } else {
            next = settle_attempt(loop, cfg, out, std::move(first->error), nullptr);
        }
    } else if (loop.begin_attempt() == Next::Run) {
        next = run_attempt(cfg, fn, loop, hooks, out, abort);
    } else {
        next = Next::Stop;
    }
    while (next != Next::Stop) {
        if (wait(loop, sleeps, hooks.stop_token) == Next::Stop) break;
        if (loop.begin_attempt() == Next::Stop) break;
        next = run_attempt(cfg, fn, loop, hooks, out, abort);
    }
    finish_outcome(loop, out, measure == Measure::Yes);
}

/// How an operation ended, besides its outcome: what `call()` needs to throw.
struct SyncEnding {
    CircuitState state = CircuitState::Closed;  ///< the breaker's answer (for `CircuitOpenError`)
    std::exception_ptr abort{};                 ///< the `AbortRetryError` the operation threw
};

/// The attempts of an admitted operation, one at a time on the calling thread (a hedged call
/// runs `HedgedLoop` instead: engine/sync_hedge.hpp).
struct PlainLoop {
    template <class T, class PolicyT, class F, class Gate>
    void operator()(const PolicyT& policy, F& fn, const CallHooks& hooks, const SleepHooks& sleeps, TimePoint start,
                    Measure measure, Outcome<T>& out, std::exception_ptr& abort, const Gate&) const {
        run_attempts<attempts_of<PolicyT>>(policy.retry_settings(), policy.notifies_class_strategies(), fn, hooks,
                                           sleeps, start, measure, out, abort);
    }
};

/// One operation under `policy`: the breaker gate around the attempts `loop` runs.
template <class T, class PolicyT, class F, class Loop = PlainLoop>
    requires(!TakesAttempt<F>)
Outcome<T> run_sync(const PolicyT& policy, F& fn, const CallOptions& options, Measure measure, SyncEnding& ending,
                    const Loop& loop = {}) {
    const auto& cfg = policy.retry_settings();
    Outcome<T> out;
    out.timeline = options.capture_timeline.make();
    std::optional<Tags> merged_tags;  // only when both the policy and the call have tags
    const CallHooks hooks = resolve_hooks(cfg, options, out.timeline.get(), resolve_tags(cfg, options, merged_tags));
    const SleepHooks sleeps = resolve_sleep_hooks(cfg, options);
    record_operation(cfg);
    const TimePoint start = cfg.clock.now();  // the one read shared by breaker and loop
    if constexpr (PolicyT::has_breaker) {
        BreakerGate<typename PolicyT::breaker_type> gate(policy.circuit_breaker(), hooks, cfg.clock, start);
        ending.state = gate.state();
        if (!gate.admitted(out)) {
            if (measure == Measure::Yes) out.elapsed = cfg.clock.now() - start;
            return out;
        }
        loop(policy, fn, hooks, sleeps, start, measure, out, ending.abort, gate);
        gate.tell(out);  // (a gate left untold by an exception frees its probe slot)
    } else {
        loop(policy, fn, hooks, sleeps, start, measure, out, ending.abort, NoGate{});
    }
    return out;
}

/// An operation that takes its attempt's view runs as a stop-token one that fills the view.
template <class T, class PolicyT, TakesAttempt F, class Loop = PlainLoop>
Outcome<T> run_sync(const PolicyT& policy, F& fn, const CallOptions& options, Measure measure, SyncEnding& ending,
                    const Loop& loop = {}) {
    auto op = with_attempt<F&>(fn, policy.retry_settings(), options.operation);
    return run_sync<T>(policy, op, options, measure, ending, loop);
}

}  // namespace redress::detail
