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

/// The operation as the attempts see it: the one part of a sync operation that depends on the
/// user's types (the callable, its value, the result classifier), reached through a function
/// pointer per attempt. The attempts around it (`run_attempts`) are then one function for every
/// operation and policy, compiled once under separate compilation (g++ -O2, a
/// `redress::compiled` unit with one `Policy<Retry>` call: 19.3 -> 11.2 KB of code).
struct SyncOperation {
    void* self = nullptr;  ///< an `OperationRef`
    /// Runs the operation once; `timeout` is the attempt's time limit, or null.
    RunResult (*run)(void* self, const std::stop_token& token, const Duration* timeout) = nullptr;
    ValueHandling value{};
};

/// An operation and the outcome its runs fill, erased by `erase()`.
template <class T, class F>
struct OperationRef {
    F& fn;
    Outcome<T>& out;

    static RunResult run(void* self, const std::stop_token& token, const Duration* timeout) {
        auto& ref = *static_cast<OperationRef*>(self);
        if constexpr (TakesStopToken<F>) {
            if (timeout != nullptr) {
                // Only an operation that takes a stop token can see the watchdog's request; for
                // the others the late-answer rule is the whole of attempt_timeout. (Here, not in
                // `run_attempt`: a unit whose operations take no token never compiles the watchdog.)
                AttemptDeadline deadline(*timeout, token);
                return run_once<T>(ref.fn, deadline.token(), slot_of(ref.out));
            }
        }
        (void)timeout;
        return run_once<T>(ref.fn, token, slot_of(ref.out));
    }
    template <class RetryT>
    [[nodiscard]] SyncOperation erase(const RetryT& cfg) noexcept {
        return {this, &run, value_handling<T>(cfg)};
    }
};

/// Runs one attempt (under the attempt's deadline when the policy has `attempt_timeout`) and
/// tells the core how it ended. The `AbortRetryError` the operation threw lands in `abort`.
template <class Loop>
Next run_attempt(const SyncOperation& op, Loop& loop, const CallHooks& hooks, OutcomeBase& out,
                 std::exception_ptr& abort) {
    const RetryView& cfg = loop.view();
    TimePoint attempt_start{};
    const bool timed = cfg.attempt_timeout->has_value();
    if (timed) attempt_start = cfg.clock->now();
    RunResult result = op.run(op.self, hooks.stop_token, timed ? &**cfg.attempt_timeout : nullptr);
    if (result.ran == Ran::Aborted) {
        abort = std::move(result.error);
        loop.aborted_by_callable();
        return Next::Stop;
    }
    return settle_attempt(loop, out, op.value, std::move(result.error), timed ? &attempt_start : nullptr);
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
/// One function per mode for every operation and policy (`SyncOperation`).
template <Attempts Mode>
void run_attempts(const RetryView& cfg, bool notify_classes, const SyncOperation& op, const CallHooks& hooks,
                  const SleepHooks& sleeps, TimePoint start, Measure measure, OutcomeBase& out,
                  std::exception_ptr& abort, FirstAttempt* first) {
    BasicAttemptLoop<Mode> loop(cfg, hooks, notify_classes, start);
    Next next = Next::Run;
    if (first != nullptr) {
        loop.adopt_first_attempt();
        if (first->ran == Ran::Aborted) {
            abort = std::move(first->error);
            loop.aborted_by_callable();
            next = Next::Stop;
        } else {
            next = settle_attempt(loop, out, op.value, std::move(first->error), nullptr);
        }
    } else if (loop.begin_attempt() == Next::Run) {
        next = run_attempt(op, loop, hooks, out, abort);
    } else {
        next = Next::Stop;
    }
    while (next != Next::Stop) {
        if (wait(loop, sleeps, hooks.stop_token) == Next::Stop) break;
        if (loop.begin_attempt() == Next::Stop) break;
        next = run_attempt(op, loop, hooks, out, abort);
    }
    finish_outcome(loop, out, measure == Measure::Yes);
}
REDRESS_EXTERN_TEMPLATE(void run_attempts<Attempts::Retried>(const RetryView&, bool, const SyncOperation&,
                                                             const CallHooks&, const SleepHooks&, TimePoint, Measure,
                                                             OutcomeBase&, std::exception_ptr&, FirstAttempt*))
REDRESS_EXTERN_TEMPLATE(void run_attempts<Attempts::Single>(const RetryView&, bool, const SyncOperation&,
                                                            const CallHooks&, const SleepHooks&, TimePoint, Measure,
                                                            OutcomeBase&, std::exception_ptr&, FirstAttempt*))

/// `run_attempts` for `fn` under the policy's retry settings `cfg`, its value in `out`.
template <Attempts Mode, class T, class RetryT, class F>
void run_attempts(const RetryT& cfg, bool notify_classes, F& fn, const CallHooks& hooks, const SleepHooks& sleeps,
                  TimePoint start, Measure measure, Outcome<T>& out, std::exception_ptr& abort,
                  FirstAttempt* first = nullptr) {
    OperationRef<T, F> ref{fn, out};
    run_attempts<Mode>(view_of(cfg), notify_classes, ref.erase(cfg), hooks, sleeps, start, measure, out, abort, first);
}

/// How an operation ended, besides its outcome: what `call()` needs to throw.
struct SyncEnding {
    CircuitState state = CircuitState::Closed;  ///< the breaker's answer (for `CircuitOpenError`)
    std::exception_ptr abort{};                 ///< the `AbortRetryError` the operation threw
};

/// What the gate and the hooks of a sync operation read of a `Retry`, whatever its classifier
/// and strategy types (the members of the same names, by reference), so that `run_gated` is
/// one function for every policy with the library's breaker or none.
struct RetrySettingsRef {
    const EventHook& on_metric;
    const EventHook& on_log;
    const AttemptHook& on_attempt_start;
    const AttemptHook& on_attempt_end;
    const AbortPredicate& abort_if;
    const Tags& tags;
    const SleepHandler& sleep;
    const BeforeSleepHook& before_sleep;
    const Sleeper& sleeper;
    const std::optional<Budget>& budget;
    const AnyClock& clock;
};
template <class RetryT>
[[nodiscard]] RetrySettingsRef settings_ref(const RetryT& r) noexcept {
    return {r.on_metric, r.on_log, r.on_attempt_start, r.on_attempt_end, r.abort_if, r.tags,
            r.sleep,     r.before_sleep, r.sleeper,    r.budget,         r.clock};
}

/// One operation: the breaker gate (none when `breaker` is `NoBreaker`) around the attempts
/// `attempts(hooks, sleeps, start, out, abort, gate)` runs, after the call's hooks are resolved.
template <class Settings, class BreakerT, class AttemptsFn>
void run_gated(const Settings& cfg, BreakerT* breaker, const CallOptions& options, Measure measure,
               OutcomeBase& out, SyncEnding& ending, AttemptsFn&& attempts) {
    out.timeline = options.capture_timeline.make();
    std::optional<Tags> merged_tags;  // only when both the policy and the call have tags
    const CallHooks hooks = resolve_hooks(cfg, options, out.timeline.get(), resolve_tags(cfg, options, merged_tags));
    const SleepHooks sleeps = resolve_sleep_hooks(cfg, options);
    record_operation(cfg);
    const TimePoint start = cfg.clock.now();  // the one read shared by breaker and loop
    if constexpr (!std::is_same_v<std::remove_const_t<BreakerT>, NoBreaker>) {
        BreakerGate<std::remove_const_t<BreakerT>> gate(*breaker, hooks, cfg.clock, start);
        ending.state = gate.state();
        if (!gate.admitted(out)) {
            if (measure == Measure::Yes) out.elapsed = cfg.clock.now() - start;
            return;
        }
        attempts(hooks, sleeps, start, out, ending.abort, gate);
        gate.tell(out);  // (a gate left untold by an exception frees its probe slot)
    } else {
        (void)breaker;
        attempts(hooks, sleeps, start, out, ending.abort, NoGate{});
    }
}

/// `run_gated` around `run_attempts`: the whole of a sync operation under a policy without a
/// hedge, with the library's breaker or none, past the operation's own types. Compiled once
/// under separate compilation (the same unit: 11.2 -> 8.0 KB; with a breaker 17.0 -> 11.9 KB).
template <Attempts Mode, class BreakerT>
void run_plain(const RetrySettingsRef& cfg, const RetryView& view, bool notify_classes, BreakerT* breaker,
               const SyncOperation& op, const CallOptions& options, Measure measure, OutcomeBase& out,
               SyncEnding& ending) {
    run_gated(cfg, breaker, options, measure, out, ending,
              [&](const CallHooks& hooks, const SleepHooks& sleeps, TimePoint start, OutcomeBase& o,
                  std::exception_ptr& abort, const auto&) {
                  run_attempts<Mode>(view, notify_classes, op, hooks, sleeps, start, measure, o, abort, nullptr);
              });
}
REDRESS_EXTERN_TEMPLATE(void run_plain<Attempts::Retried, const NoBreaker>(const RetrySettingsRef&, const RetryView&, bool,
                                                      const NoBreaker*, const SyncOperation&, const CallOptions&,
                                                      Measure, OutcomeBase&, SyncEnding&))
REDRESS_EXTERN_TEMPLATE(void run_plain<Attempts::Retried, CircuitBreaker>(const RetrySettingsRef&, const RetryView&, bool,
                                                      CircuitBreaker*, const SyncOperation&, const CallOptions&,
                                                      Measure, OutcomeBase&, SyncEnding&))
REDRESS_EXTERN_TEMPLATE(void run_plain<Attempts::Single, CircuitBreaker>(const RetrySettingsRef&, const RetryView&, bool,
                                                      CircuitBreaker*, const SyncOperation&, const CallOptions&,
                                                      Measure, OutcomeBase&, SyncEnding&))

/// The attempts of an admitted operation, one at a time on the calling thread (a hedged call
/// runs `HedgedLoop` instead: engine/sync_hedge.hpp). Called through `run_gated` for a breaker
/// of the user's own; with the library's breaker or none, `run_sync` runs `run_plain`.
struct PlainLoop {
    template <class T, class PolicyT, class F, class Gate>
    void operator()(const PolicyT& policy, F& fn, const CallHooks& hooks, const SleepHooks& sleeps, TimePoint start,
                    Measure measure, Outcome<T>& out, std::exception_ptr& abort, const Gate&) const {
        run_attempts<attempts_of<PolicyT>>(policy.retry_settings(), policy.notifies_class_strategies(), fn, hooks,
                                           sleeps, start, measure, out, abort);
    }
};

/// The policy's breaker, or a null `const NoBreaker*`.
template <class PolicyT>
[[nodiscard]] auto* breaker_of(const PolicyT& policy) noexcept {
    if constexpr (PolicyT::has_breaker) {
        return &policy.circuit_breaker();
    } else {
        (void)policy;
        return static_cast<const NoBreaker*>(nullptr);
    }
}

/// One operation under `policy`: the breaker gate around the attempts `loop` runs. Without a
/// hedge, and with the library's breaker or none, the operation is erased (`SyncOperation`)
/// and the rest runs in `run_plain`.
template <class T, class PolicyT, class F, class Loop = PlainLoop>
    requires(!TakesAttempt<F>)
Outcome<T> run_sync(const PolicyT& policy, F& fn, const CallOptions& options, Measure measure, SyncEnding& ending,
                    const Loop& loop = {}) {
    const auto& cfg = policy.retry_settings();
    Outcome<T> out;
    using BreakerT = typename PolicyT::breaker_type;
    constexpr bool plain = std::is_same_v<Loop, PlainLoop> &&
                           (std::is_same_v<BreakerT, NoBreaker> || std::is_same_v<BreakerT, CircuitBreaker>);
    if constexpr (plain) {
        OperationRef<T, F> ref{fn, out};
        run_plain<attempts_of<PolicyT>>(settings_ref(cfg), view_of(cfg), policy.notifies_class_strategies(),
                                        breaker_of(policy), ref.erase(cfg), options, measure, out, ending);
    } else {
        run_gated(cfg, breaker_of(policy), options, measure, out, ending,
                  [&](const CallHooks& hooks, const SleepHooks& sleeps, TimePoint start, OutcomeBase&,
                      std::exception_ptr& abort, const auto& gate) {
                      loop(policy, fn, hooks, sleeps, start, measure, out, abort, gate);
                  });
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
