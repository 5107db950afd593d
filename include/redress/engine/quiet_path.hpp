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

/// How a quiet run reads the policy's clock: `std::chrono::steady_clock` directly when the
/// policy knows that is its clock (the default: no test of the clock's kind on the success
/// path), else through `AnyClock`. `Counted`: through `AnyClock`, after telling a budget that
/// counts requests (a ratio budget) of the operation, off the inlined fast path, so that
/// policies without such a budget pay nothing for it.
enum class QuietRun : unsigned char { No, SteadyClock, CoarseClock, AnyClock, Counted };

/// How a policy with these settings runs a `call()` without options: quietly (nothing
/// observes it and nothing can abort it) on its kind of clock, or not at all.
template <class Settings>
QuietRun quiet_run_of(const Settings& s) noexcept {
    const bool quiet = !s.on_metric && !s.on_log && !s.on_attempt_start && !s.on_attempt_end && !s.abort_if &&
                       !s.attempt_timeout && s.strategies.empty();
    if (!quiet) return QuietRun::No;
    if (s.budget && s.budget->counts_requests()) return QuietRun::Counted;
    if (s.clock.is_steady()) return QuietRun::SteadyClock;
    return s.clock.is_coarse() ? QuietRun::CoarseClock : QuietRun::AnyClock;
}
/// A reading already converted to a time point (the steady clock and `AnyClock` return one).
struct TimeReading {
    TimePoint t;
    [[nodiscard]] TimePoint time() const noexcept { return t; }
};

// The start of a quiet call is kept as the kernel wrote it (a `timespec` in the frame) and
// converted only on the paths that need it (a failure, a breaker's admission, `execute()`'s
// elapsed): on a success no register holds it across the call, so none is saved and restored.
// `std::chrono::steady_clock::now()` is `clock_gettime(CLOCK_MONOTONIC)` in libstdc++ and
// libc++ on Linux, so the quiet path asks the C library itself: its readings are
// `steady_clock` time points, the same epoch. Callgrind, a `Policy<Retry>::call` success:
// 36 -> 26 instructions on the steady clock (with `ReadKernel` below), 44 -> 37 with a breaker.
#if defined(__linux__) && defined(CLOCK_MONOTONIC) && (defined(__GLIBCXX__) || defined(_LIBCPP_VERSION))
inline constexpr bool reads_kernel_clocks = true;
inline constexpr int steady_clock_id = CLOCK_MONOTONIC;
inline constexpr int coarse_clock_id = CLOCK_MONOTONIC_COARSE;
struct KernelReading {
    timespec ts;  // written by clock_gettime, uninitialised before
    [[nodiscard]] TimePoint time() const noexcept { return CoarseClock::from_reading(ts.tv_sec, ts.tv_nsec); }
};
REDRESS_INLINE void read_kernel_clock(int id, KernelReading& r) noexcept { (void)::clock_gettime(id, &r.ts); }
#else
inline constexpr bool reads_kernel_clocks = false;
inline constexpr int steady_clock_id = 1;
inline constexpr int coarse_clock_id = 2;
using KernelReading = TimeReading;
inline void read_kernel_clock(int id, KernelReading& r) noexcept {
    r.t = id == steady_clock_id ? std::chrono::steady_clock::now() : CoarseClock::now();
}
#endif

/// Either kernel clock, by its id at run time: a policy without a breaker tests one
/// precomputed id (`Policy::quiet_clock_`) instead of its clock's kind, so the steady and the
/// coarse clock take the same inlined path (callgrind, a `Policy<Retry>::call` success: 30 -> 26
/// instructions on the coarse clock, which tested the kind twice; 27 -> 26 on the steady one).
struct ReadKernel {
    int id;  ///< steady_clock_id or coarse_clock_id
    using Reading = KernelReading;
    [[nodiscard]] TimePoint read(const AnyClock&) const noexcept {
        Reading r;
        read_kernel_clock(id, r);
        return r.time();
    }
    REDRESS_INLINE void read(const AnyClock&, Reading& r) const noexcept { read_kernel_clock(id, r); }
};

/// A kernel clock known at compile time: the steady clock (`ReadSteady`, whose breaker
/// admission compares the start with the hot bucket's end) or the coarse one (`ReadCoarse`).
template <int Id>
struct ReadClockId : ReadKernel {
    constexpr ReadClockId() noexcept : ReadKernel{Id} {}
};
using ReadSteady = ReadClockId<steady_clock_id>;
using ReadCoarse = ReadClockId<coarse_clock_id>;

/// The clock id a quiet run reads through `ReadKernel`, or 0 (none: not quiet, or another clock).
inline constexpr int kernel_clock_of(QuietRun run) noexcept {
    return run == QuietRun::SteadyClock ? steady_clock_id : run == QuietRun::CoarseClock ? coarse_clock_id : 0;
}
struct ReadAny {
    using Reading = TimeReading;
    static TimePoint read(const AnyClock& clock) { return clock.now(); }
    static void read(const AnyClock& clock, Reading& r) { r.t = clock.now(); }
};

/// `CircuitOpenError`, thrown out of line.
[[noreturn]] REDRESS_COLD inline void throw_circuit_open(CircuitState state) { throw CircuitOpenError(state); }

/// What a quiet run gives: the value (`call()`, failures thrown) or the outcome (`execute()`).
enum class Ending { Value, Outcome };
template <class T, Ending E>
using ending_t = std::conditional_t<E == Ending::Value, T, Outcome<T>>;

/// The rest of a quiet operation whose first attempt did not return (`first`), or all of it
/// (`first` null: the half-open probe): the same attempts and gate as `run_sync`, with no
/// hooks. Out of line and cold, so the success path that calls it keeps a small frame; the
/// permit by reference (by value, a 32-byte struct pushed on the stack, it cost the success
/// path a frame pointer: 3 instructions).
template <class T, Ending E, class PolicyT, class F, class Permit>
REDRESS_COLD ending_t<T, E> continue_quietly(const PolicyT& policy, F& fn, TimePoint start, Permit&& permit,
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

/// A quiet operation the breaker did not simply admit: a rejection (`CircuitOpenError`, or an
/// outcome saying `CircuitOpen`), or the half-open probe, which runs the whole operation through
/// the gate. Out of line: the success path only ever meets a closed breaker.
template <class T, Ending E, class Now, class PolicyT, class F, class Permit>
REDRESS_COLD ending_t<T, E> gate_quietly(const PolicyT& policy, F& fn, TimePoint start, Permit&& permit);

/// `gate_quietly` with the permit `allow()` answers now. Asked here, out of line, the permit's
/// frame space and the register holding it stay off the success path (2 instructions).
template <class T, Ending E, class Now, class PolicyT, class F>
REDRESS_COLD ending_t<T, E> allow_quietly(const PolicyT& policy, F& fn, TimePoint start) {
    return gate_quietly<T, E, Now>(policy, fn, start, policy.circuit_breaker().allow());
}

template <class T, Ending E, class Now, class PolicyT, class F, class Permit>
REDRESS_COLD ending_t<T, E> gate_quietly(const PolicyT& policy, F& fn, TimePoint start, Permit&& permit) {
    if (!permit.allowed) {
        if constexpr (E == Ending::Value) {
            throw_circuit_open(permit.state);
        } else {
            Outcome<T> out;
            out.stop_reason = StopReason::CircuitOpen;
            out.elapsed = Now{}.read(policy.retry_settings().clock) - start;
            return out;
        }
    }
    return continue_quietly<T, E>(policy, fn, start, std::move(permit), std::nullopt);
}

/// `call(fn)` or `execute(fn)` on a quiet policy (see `Policy::quiet_`): attempt 1 runs with no
/// loop or hook state — a clock read, the breaker's phase, the call — and a success returns at
/// once; anything else continues in `continue_quietly`, exactly as `run_sync` would.
/// (callgrind, g++ -O2, `call()`: 26 instructions for a Policy<Retry> success on the steady or
/// the coarse clock, 37 with a count-mode or a ratio-mode breaker and 45 with a consecutive
/// one, against 34 for a hand-written loop on the steady clock.)
template <class T, Ending E, class Now, class PolicyT, class F>
    requires(!TakesAttempt<F>)
REDRESS_INLINE ending_t<T, E> run_quietly(const PolicyT& policy, F& fn, Now now = {}) {
    static_assert(!std::is_same_v<Now, ReadKernel> || !PolicyT::has_breaker, "a breaker's admission needs the clock's kind");
    const auto& cfg = policy.retry_settings();
    typename Now::Reading start;
    now.read(cfg.clock, start);
    // redress::CircuitBreaker admits a call with a plain permit (`BreakerPermit{}`) exactly when
    // it is closed, so the fast path asks its core (on the steady clock: one compare of the
    // start, which also places the success in its bucket) and holds no permit; any other
    // breaker type is asked, and its permit kept. What is not a plain admission goes out of line.
    constexpr bool plain_breaker = std::is_same_v<typename PolicyT::breaker_type, CircuitBreaker>;
    constexpr bool steady_breaker = plain_breaker && std::is_same_v<Now, ReadSteady>;
    auto permit = [&] {
        if constexpr (PolicyT::has_breaker && !plain_breaker) {
            return policy.circuit_breaker().allow();
        } else {
            return 0;  // no breaker, or a constant plain permit
        }
    }();
    if constexpr (plain_breaker) {
        auto& core = BreakerAccess::core(policy.circuit_breaker());
        const bool admitted = steady_breaker ? core.admits(start.time()) : core.closed();
        if (!admitted) [[unlikely]]
            return allow_quietly<T, E, Now>(policy, fn, start.time());
    } else if constexpr (PolicyT::has_breaker) {
        if (!permit.allowed || permit.probe) [[unlikely]]
            return gate_quietly<T, E, Now>(policy, fn, start.time(), std::move(permit));
    }
    const auto held = [&] {
        if constexpr (plain_breaker) {
            return BreakerPermit{};
        } else {
            return permit;
        }
    };
    // `execute()` builds its outcome in place; `call()` holds only the value.
    struct Unused {};
    [[maybe_unused]] std::conditional_t<E == Ending::Outcome, Outcome<T>, Unused> out;
    [[maybe_unused]] std::optional<std::conditional_t<std::is_void_v<T> || E == Ending::Outcome, char, T>> value;
    {
        // A scope of its own: on the success path the result dies before any other call, so the
        // compiler sees its exception_ptr stay empty and drops its destructor.
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
            return continue_quietly<T, E>(policy, fn, start.time(), held(), std::move(first));
    }
    notify_success(cfg.strategy);  // (a quiet policy has no per-class strategy to tell)
    if constexpr (PolicyT::has_breaker) {
        if constexpr (steady_breaker) {
            BreakerAccess::core(policy.circuit_breaker()).record_admitted_success();
        } else if constexpr (plain_breaker) {
            BreakerAccess::core(policy.circuit_breaker()).record_plain_success();
        } else {
            (void)policy.circuit_breaker().record_success(held());
        }
    }
    if constexpr (E == Ending::Outcome) {
        out.ok = true;
        out.attempts = 1;
        out.elapsed = now.read(cfg.clock) - start.time();
        return out;
    } else if constexpr (!std::is_void_v<T>) {
        return std::move(*value);
    }
}

/// A quiet operation that takes its attempt's view: the same path, through `WithAttempt`.
template <class T, Ending E, class Now, class PolicyT, TakesAttempt F>
REDRESS_INLINE ending_t<T, E> run_quietly(const PolicyT& policy, F& fn, Now now = {}) {
    auto op = with_attempt<F&>(fn, policy.retry_settings(), {});
    return run_quietly<T, E, Now>(policy, op, now);
}

}  // namespace redress::detail
