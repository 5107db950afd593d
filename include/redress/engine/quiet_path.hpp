// The sync driver's fast path: `call(fn)` / `execute(fn)` on a policy that nothing observes
// and nothing can abort runs attempt 1 before any loop state exists; a success returns at once,
// anything else continues in the driver (engine/sync_driver.hpp) exactly as it would have.
// Kept apart because it is shaped by performance, not by the rules: every line here is
// measured in docs/performance.md.
#pragma once

#include <exception>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

#include <redress/circuit_breaker.hpp>
#include <redress/detail/attributes.hpp>
#include <redress/engine/attempt_loop.hpp>
#include <redress/engine/gate.hpp>
#include <redress/engine/settle.hpp>
#include <redress/engine/sync_driver.hpp>
#include <redress/errors.hpp>
#include <redress/outcome.hpp>
#include <redress/strategies.hpp>

namespace redress::detail {

/// `CircuitOpenError`, thrown out of line.
[[noreturn]] REDRESS_COLD inline void throw_circuit_open(CircuitState state) { throw CircuitOpenError(state); }

/// What a quiet run gives: the value (`call()`, failures thrown) or the outcome (`execute()`).
enum class Ending { Value, Outcome };
template <class T, Ending E>
using ending_t = std::conditional_t<E == Ending::Value, T, Outcome<T>>;

/// The rest of a quiet operation whose first attempt did not return (`first`), or all of it
/// (`first` null: the half-open probe): the same attempts and gate as `run_sync`, with no
/// hooks. Out of line and cold, so the success path that calls it keeps a small frame.
template <class T, Ending E, class PolicyT, class F, class Permit>
REDRESS_COLD ending_t<T, E> continue_quietly(const PolicyT& policy, F& fn, TimePoint start, Permit permit,
                                             std::optional<FirstAttempt> first) {
    const auto& cfg = policy.retry_settings();
    Outcome<T> out;
    const CallHooks hooks{};
    const SleepHooks sleeps = policy_sleep_hooks(cfg);
    const bool notify = policy.notifies_class_strategies();
    const Measure measure = E == Ending::Outcome ? Measure::Yes : Measure::No;
    std::exception_ptr abort;
    if constexpr (PolicyT::has_breaker) {
        BreakerGate<typename PolicyT::breaker_type> gate(policy.circuit_breaker(), hooks, cfg.clock, start, std::move(permit));
        run_attempts<attempts_of<PolicyT>>(cfg, notify, fn, hooks, sleeps, start, measure, out, abort,
                                           first ? &*first : nullptr);
        gate.tell(out);
    } else {
        (void)permit;
        run_attempts<attempts_of<PolicyT>>(cfg, notify, fn, hooks, sleeps, start, measure, out, abort,
                                           first ? &*first : nullptr);
    }
    if constexpr (E == Ending::Value) {
        return value_or_throw<T, false>(std::move(out), CircuitState::Closed, abort);
    } else {
        return out;
    }
}

/// `call(fn)` or `execute(fn)` on a quiet policy (see `Policy::quiet_`): attempt 1 runs with no
/// loop or hook state — a clock read, the breaker's permit, the call — and a success returns
/// at once; anything else continues in `continue_quietly`, exactly as `run_sync` would.
/// (callgrind, g++ -O2, `call()`: 40 instructions for a Policy<Retry> success against 34 for
/// a hand-written loop; 66 with the loop's state built first. `execute()`: 418 -> see
/// docs/performance.md.)
template <class T, Ending E, class PolicyT, class F>
REDRESS_INLINE ending_t<T, E> run_quietly(const PolicyT& policy, F& fn) {
    const auto& cfg = policy.retry_settings();
    const TimePoint start = cfg.clock.now();
    auto permit = [&] {
        if constexpr (PolicyT::has_breaker) {
            return policy.circuit_breaker().allow();
        } else {
            return 0;  // no breaker, no permit
        }
    }();
    // `execute()` builds its outcome in place; `call()` holds only the value.
    struct Unused {};
    [[maybe_unused]] std::conditional_t<E == Ending::Outcome, Outcome<T>, Unused> out;
    [[maybe_unused]] std::optional<std::conditional_t<std::is_void_v<T> || E == Ending::Outcome, char, T>> value;
    if constexpr (PolicyT::has_breaker) {
        if (!permit.allowed) [[unlikely]] {
            if constexpr (E == Ending::Value) {
                throw_circuit_open(permit.state);
            } else {
                out.stop_reason = StopReason::CircuitOpen;
                out.elapsed = cfg.clock.now() - start;
                return out;
            }
        }
        if (permit.probe) [[unlikely]]
            return continue_quietly<T, E>(policy, fn, start, std::move(permit), std::nullopt);
    }
    // Past the probe check, redress::CircuitBreaker's permit is its plain closed permit: a
    // constant, so nothing of it stays live across the call (callgrind: 68 -> see
    // docs/performance.md for Policy<Retry, CircuitBreaker>).
    const auto held = [&] {
        if constexpr (std::is_same_v<typename PolicyT::breaker_type, CircuitBreaker>) {
            return BreakerPermit{};
        } else {
            return permit;
        }
    };
    RunResult first = [&] {
        if constexpr (std::is_void_v<T>) {
            return run_once<void>(fn, std::stop_token{}, ValueSlot<void>{});
        } else if constexpr (E == Ending::Outcome) {
            return run_once<T>(fn, std::stop_token{}, slot_of(out));
        } else {
            return run_once<T>(fn, std::stop_token{}, ValueSlot<T>{&value});
        }
    }();
    if (first.ran != Ran::Returned) [[unlikely]]
        return continue_quietly<T, E>(policy, fn, start, held(), std::move(first));
    notify_success(cfg.strategy);  // (a quiet policy has no per-class strategy to tell)
    if constexpr (PolicyT::has_breaker) (void)policy.circuit_breaker().record_success(held());
    if constexpr (E == Ending::Outcome) {
        out.ok = true;
        out.attempts = 1;
        out.elapsed = cfg.clock.now() - start;
        return out;
    } else if constexpr (!std::is_void_v<T>) {
        return std::move(*value);
    }
}

}  // namespace redress::detail
