// The hedged round of the coroutine driver: the attempts of one round run side by side — the
// round's first, then a hedge each time the hedge's delay passes — until one answer decides
// (a success, a failure the core stops on, or the failure of the last attempt in flight, which
// the core answers like any failure). The core decides everything (`begin_hedge`, `answered`,
// `failed`, `cancelled`); this file only starts attempts, waits and cancels.
//
// The round is written once for every coroutine type; a race (`HedgeRace` here for
// `redress::Task`, `AsioHedgeRace` in <redress/asio.hpp>) starts the attempts, arms the hedge
// timer, wakes the round when an answer or the timer is pending, and cancels.
//
// Frames: each attempt runs in a coroutine whose answer lands in a slot of the round, and the
// round never ends while one is still running: the losers are asked to stop (their stop token,
// and the coroutine type's own cancellation) and awaited, so no attempt outlives the frames it
// refers to. The `Task` hedge timer is the only thing that may outlive the round (a `Task`
// sleeper cannot be cancelled): it owns its frame and a copy of the sleeper, and finds the
// round gone when it fires late.
#pragma once

#include <array>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

#include <redress/attempt.hpp>
#include <redress/detail/math.hpp>
#include <redress/engine/attempt_loop.hpp>
#include <redress/engine/hedge_slot.hpp>
#include <redress/engine/operation.hpp>
#include <redress/engine/settle.hpp>
#include <redress/errors.hpp>
#include <redress/hedge.hpp>
#include <redress/outcome.hpp>
#include <redress/task.hpp>

namespace redress::detail {

template <class T, class Handle>
struct HedgeSlot;
template <class T, class Race, class Op>
typename Race::template task<void> run_hedged_attempt(Op& op, HedgeSlot<T, typename Race::handle>& slot, Race& race);

/// The race of a round on `redress::Task`: where its attempts and its hedge timer report, and
/// where the round waits. The hedge's delay is waited for on `AsyncSleepHooks::sleeper`. Not
/// thread-safe: the attempts and the sleeper resume on one thread (one event loop). A template
/// (`HedgeRace` below), so that only a translation unit that hedges compiles its timer
/// coroutine: g++ generates an inline coroutine's code in every one that parses it.
template <class = void>
class BasicHedgeRace {
public:
    template <class U>
    using task = Task<U>;
    using handle = Task<void>;
    static constexpr bool reports_from_attempt = true;

    BasicHedgeRace() = default;
    BasicHedgeRace(const BasicHedgeRace&) = delete;
    BasicHedgeRace& operator=(const BasicHedgeRace&) = delete;
    ~BasicHedgeRace() { disarm(); }

    /// Binds the race to the call's sleeper (`AsyncSleepHooks<Task>`), which outlives the round.
    template <class Hooks>
    std::suspend_never attach(const Hooks& async) noexcept {
        sleeper_ = &async.sleeper;
        return {};
    }
    std::suspend_never close() const noexcept { return {}; }

    /// Starts the attempt of `slot`: it runs until it suspends or answers.
    template <class T, class Op>
    void launch(HedgeSlot<T, handle>& slot, Op& op) {
        slot.handle.emplace(run_hedged_attempt<T>(op, slot, *this));
        slot.handle->handle().resume();
    }
    /// Asks the attempt of `slot` to stop: a `Task` has its stop token only.
    template <class Slot>
    static void cancel(Slot& slot) noexcept {
        slot.stop.request_stop();
    }

    /// The round waits: resumes at once when an answer or the timer is pending.
    [[nodiscard]] auto next() noexcept {
        struct Awaiter {
            BasicHedgeRace& race;
            bool await_ready() const noexcept { return race.answers_ > 0 || race.fired_; }
            void await_suspend(std::coroutine_handle<> h) const noexcept { race.waiter_ = h; }
            void await_resume() const noexcept {}
        };
        return Awaiter{*this};
    }

    /// An attempt has answered: wake the round (symmetric transfer) and stay suspended until
    /// the round destroys the attempt, so the attempt is never destroyed while it runs.
    [[nodiscard]] auto answer() noexcept {
        struct Awaiter {
            BasicHedgeRace& race;
            bool await_ready() const noexcept { return false; }
            std::coroutine_handle<> await_suspend(std::coroutine_handle<>) const noexcept {
                ++race.answers_;
                return race.wake();
            }
            void await_resume() const noexcept {}
        };
        return Awaiter{*this};
    }

    /// Fires `delay` from now on the sleeper (replacing an armed timer).
    void arm(Duration delay) {
        disarm();
        timer_ = std::make_shared<BasicHedgeRace*>(this);
        run_timer(timer_, *sleeper_, delay);
    }
    void disarm() noexcept {
        if (timer_) *timer_ = nullptr;
        timer_.reset();
        fired_ = false;
    }
    [[nodiscard]] bool take_timer() noexcept { return std::exchange(fired_, false); }
    void took_answer() noexcept { --answers_; }
    /// A `Task` caller cannot be cancelled from outside (its stop token reaches the attempts).
    [[nodiscard]] static constexpr bool take_cancellation() noexcept { return false; }
    [[nodiscard]] static constexpr bool caller_cancelled() noexcept { return false; }

private:
    std::coroutine_handle<> wake() noexcept {
        const std::coroutine_handle<> h = std::exchange(waiter_, {});
        return h ? h : std::noop_coroutine();
    }

    // `race` is null once the round disarmed this timer (or ended). A sleeper that throws
    // fires nothing: no hedge rather than an early one.
    static Detached run_timer(std::shared_ptr<BasicHedgeRace*> race, std::function<Task<void>(Duration)> sleeper,
                              Duration delay) {
        try {
            co_await sleeper(delay);
        } catch (...) {
            co_return;
        }
        if (*race != nullptr) (*race)->fire();
    }

    // Resumes the round directly: this timer owns its frame, so the round may end (and
    // destroy this race) before control comes back here; nothing follows.
    void fire() {
        fired_ = true;
        timer_.reset();
        if (const std::coroutine_handle<> h = std::exchange(waiter_, {})) h.resume();
    }

    const std::function<Task<void>(Duration)>* sleeper_ = nullptr;
    std::coroutine_handle<> waiter_{};
    int answers_ = 0;
    bool fired_ = false;
    std::shared_ptr<BasicHedgeRace*> timer_{};
};
using HedgeRace = BasicHedgeRace<>;

/// One attempt in flight (engine/hedge_slot.hpp), whether it has answered, and `Handle`, what
/// its race keeps of the running coroutine (the `Task` itself, or Asio's cancellation signal).
template <class T, class Handle>
struct HedgeSlot : HedgeSlotCore<T> {
    bool answered = false;
    std::optional<Handle> handle{};

    void start(int number, TimePoint now, const std::stop_token& caller) {
        HedgeSlotCore<T>::start(number, now, caller);
        answered = false;
    }
    void free() noexcept {
        handle.reset();  // the attempt has ended (a `Task` is suspended in `HedgeRace::answer`)
        HedgeSlotCore<T>::free();
        answered = false;
    }
};

/// Runs one attempt into `slot`, as a coroutine of `race`'s type. A `Task` attempt reports
/// its answer from here; an Asio attempt once its coroutine has ended (its race's completion
/// handler).
template <class T, class Race, class Op>
typename Race::template task<void> run_hedged_attempt(Op& op, HedgeSlot<T, typename Race::handle>& slot,
                                                      Race& race) {
    try {
        auto&& awaitable = [&]() -> decltype(auto) {
            if constexpr (requires { op(slot.stop.get_token(), slot.view); }) {
                return op(slot.stop.get_token(), slot.view);  // an Attempt-taking operation
            } else {
                return invoke_operation(op, slot.stop.get_token());
            }
        }();
        if constexpr (std::is_void_v<T>) {
            co_await std::move(awaitable);
        } else {
            slot.value.emplace(co_await std::move(awaitable));
        }
    } catch (const AbortRetryError&) {
        slot.result = {Ran::Aborted, std::current_exception()};
    } catch (...) {
        slot.result = {Ran::Threw, std::current_exception()};
    }
    if constexpr (Race::reports_from_attempt) {
        slot.answered = true;
        co_await race.answer();
    } else {
        (void)race;
    }
}

/// One round of a hedged operation; `loop.begin_attempt()` has started its first attempt.
/// Answers `Stop` (the outcome is decided) or `Sleep` (every attempt failed; the driver
/// sleeps and starts the next round). `abort` receives an `AbortRetryError` the operation threw.
/// `Race` is the coroutine type's race (`HedgeRace`, or `AsioHedgeRace`); `async` the call's
/// async sleep hooks.
template <class Race, class T, class Loop, class Settings, class Op, class Hooks, class Gate>
typename Race::template task<Next> hedged_round(const HedgeState& hedge, Loop& loop, const Settings& cfg,
                                                Outcome<T>& out, Op& op, const CallHooks& hooks, const Hooks& async,
                                                const Gate& gate, std::exception_ptr& abort) {
    const Hedge& options = hedge.options();
    Race race;
    co_await race.attach(async);
    std::array<HedgeSlot<T, typename Race::handle>, max_hedges_cap + 1> slots;
    int in_flight = 0;
    HedgeDelay due{};
    const auto launch = [&] {
        auto* free = slots.data();
        while (free->attempt != 0) ++free;
        auto& slot = *free;
        slot.start(loop.attempts(), cfg.clock.now(), hooks.stop_token);
        ++in_flight;
        race.launch(slot, op);
    };
    const auto arm = [&] {
        if (in_flight > options.max_hedges || loop.attempts() >= cfg.max_attempts) return;
        due = hedge.delay();
        race.arm(due.delay);
    };

    launch();
    arm();
    Next next = Next::Wait;
    std::exception_ptr config_error;
    while (next == Next::Wait) {
        co_await race.next();
        if (race.take_cancellation()) {
            // The caller was cancelled (Asio): no more hedges; every attempt is asked to stop,
            // and the first failure to answer ends the operation as aborted.
            race.disarm();
            for (auto& slot : slots)
                if (slot.attempt != 0 && !slot.answered) race.cancel(slot);
            continue;
        }
        if (race.take_timer()) {
            if (in_flight <= options.max_hedges &&
                loop.begin_hedge(due.delay, due.trigger, gate.current(), options.budget, in_flight)) {
                launch();
                arm();
            }
            continue;
        }
        auto* answered = slots.data();
        while (answered->attempt == 0 || !answered->answered) ++answered;
        auto& slot = *answered;
        race.took_answer();
        --in_flight;
        next = settle_hedged_answer(hedge, loop, cfg, out, slot, in_flight, race.caller_cancelled(), abort, config_error);
        slot.free();
    }
    race.disarm();

    // The losers: ask each to stop, wait until it ends, drop its answer.
    for (auto& slot : slots)
        if (slot.attempt != 0 && !slot.answered) race.cancel(slot);
    while (in_flight > 0) {
        co_await race.next();
        for (auto& slot : slots) {
            if (slot.attempt == 0 || !slot.answered) continue;
            race.took_answer();
            --in_flight;
            loop.cancelled(slot.attempt);
            slot.free();
        }
    }
    co_await race.close();
    if (config_error) std::rethrow_exception(config_error);
    co_return next;
}

}  // namespace redress::detail
