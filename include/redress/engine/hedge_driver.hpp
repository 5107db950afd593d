// The hedged round of the coroutine driver: the attempts of one round run side by side — the
// round's first, then a hedge each time the hedge's delay passes — until one answer decides
// (a success, a failure the core stops on, or the failure of the last attempt in flight, which
// the core answers like any failure). The core decides everything (`begin_hedge`, `answered`,
// `failed`, `cancelled`); this file only starts attempts, waits and cancels.
//
// Frames: each attempt runs in a `Task` the round owns, and the round never ends while one
// is still running: the losers are asked to stop (their stop token) and awaited, so no
// attempt outlives the frames it refers to. The hedge timer is the only thing that may
// outlive the round (a `Task` sleeper cannot be cancelled): it owns its frame and a copy of
// the sleeper, and finds the round gone when it fires late.
#pragma once

#include <algorithm>
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
#include <redress/engine/attempt_loop.hpp>
#include <redress/engine/operation.hpp>
#include <redress/engine/settle.hpp>
#include <redress/errors.hpp>
#include <redress/hedge.hpp>
#include <redress/outcome.hpp>
#include <redress/task.hpp>

namespace redress::detail {

/// Where a round's attempts and its hedge timer report, and where the driver waits. Not
/// thread-safe: the attempts and the sleeper resume on one thread (one event loop).
class HedgeRace {
public:
    HedgeRace() = default;
    HedgeRace(const HedgeRace&) = delete;
    HedgeRace& operator=(const HedgeRace&) = delete;
    ~HedgeRace() { disarm(); }

    /// The driver waits: resumes at once when an answer or the timer is pending.
    [[nodiscard]] auto next() noexcept {
        struct Awaiter {
            HedgeRace& race;
            bool await_ready() const noexcept { return race.answers_ > 0 || race.fired_; }
            void await_suspend(std::coroutine_handle<> h) const noexcept { race.waiter_ = h; }
            void await_resume() const noexcept {}
        };
        return Awaiter{*this};
    }

    /// An attempt has answered: wake the driver (symmetric transfer) and stay suspended until
    /// the driver destroys the attempt, so the attempt is never destroyed while it runs.
    [[nodiscard]] auto answer() noexcept {
        struct Awaiter {
            HedgeRace& race;
            bool await_ready() const noexcept { return false; }
            std::coroutine_handle<> await_suspend(std::coroutine_handle<>) const noexcept {
                ++race.answers_;
                return race.wake();
            }
            void await_resume() const noexcept {}
        };
        return Awaiter{*this};
    }

    /// Fires `delay` from now on `sleeper` (replacing an armed timer).
    void arm(const std::function<Task<void>(Duration)>& sleeper, Duration delay) {
        disarm();
        timer_ = std::make_shared<HedgeRace*>(this);
        run_timer(timer_, sleeper, delay);
    }
    void disarm() noexcept {
        if (timer_) *timer_ = nullptr;
        timer_.reset();
        fired_ = false;
    }
    [[nodiscard]] bool take_timer() noexcept { return std::exchange(fired_, false); }
    void took_answer() noexcept { --answers_; }

private:
    std::coroutine_handle<> wake() noexcept {
        const std::coroutine_handle<> h = std::exchange(waiter_, {});
        return h ? h : std::noop_coroutine();
    }

    // `race` is null once the round disarmed this timer (or ended). A sleeper that throws
    // fires nothing: no hedge rather than an early one.
    static Detached run_timer(std::shared_ptr<HedgeRace*> race, std::function<Task<void>(Duration)> sleeper,
                              Duration delay) {
        try {
            co_await sleeper(delay);
        } catch (...) {
            co_return;
        }
        if (*race != nullptr) (*race)->fire();
    }

    // Resumes the driver directly: this timer owns its frame, so the driver may end the
    // round (and destroy this race) before control comes back here; nothing follows.
    void fire() {
        fired_ = true;
        timer_.reset();
        if (const std::coroutine_handle<> h = std::exchange(waiter_, {})) h.resume();
    }

    std::coroutine_handle<> waiter_{};
    int answers_ = 0;
    bool fired_ = false;
    std::shared_ptr<HedgeRace*> timer_{};
};

/// One attempt in flight: its number, start, stop source (linked to the caller's token),
/// its own `Attempt` view, and its answer once it has one.
template <class T>
struct HedgeSlot {
    struct Forward {
        std::stop_source* to;
        void operator()() const noexcept { to->request_stop(); }
    };

    int attempt = 0;  ///< 0: free
    TimePoint started{};
    std::stop_source stop{};
    std::optional<std::stop_callback<Forward>> caller_stop{};
    Attempt view{};
    std::conditional_t<std::is_void_v<T>, bool, std::optional<T>> value{};
    std::exception_ptr error{};
    bool aborted = false;  ///< the operation threw `AbortRetryError`
    bool answered = false;
    Task<void> task{};

    void start(int number, TimePoint now, const std::stop_token& caller) {
        attempt = number;
        started = now;
        stop = std::stop_source{};
        caller_stop.emplace(caller, Forward{&stop});
        answered = false;
    }
    void free() noexcept {
        task = Task<void>{};  // the attempt is suspended in `HedgeRace::answer` (or never ran)
        caller_stop.reset();
        attempt = 0;
        answered = false;
        aborted = false;
        error = nullptr;
        if constexpr (!std::is_void_v<T>) value.reset();
    }
};

/// Runs one attempt into `slot`, then reports to `race`.
template <class T, class Op>
Task<void> run_hedged_attempt(Op& op, HedgeSlot<T>& slot, HedgeRace& race) {
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
        slot.error = std::current_exception();
        slot.aborted = true;
    } catch (...) {
        slot.error = std::current_exception();
    }
    slot.answered = true;
    co_await race.answer();
}

/// One round of a hedged operation; `loop.begin_attempt()` has started its first attempt.
/// Answers `Stop` (the outcome is decided) or `Sleep` (every attempt failed; the driver
/// sleeps and starts the next round). `abort` receives an `AbortRetryError` the operation threw.
template <class T, class Loop, class Settings, class Op, class Gate>
Task<Next> hedged_round(const HedgeState& hedge, Loop& loop, const Settings& cfg, Outcome<T>& out, Op& op,
                        const CallHooks& hooks, const std::function<Task<void>(Duration)>& sleeper, const Gate& gate,
                        std::exception_ptr& abort) {
    const Hedge& options = hedge.options();
    HedgeRace race;
    std::array<HedgeSlot<T>, max_hedges_cap + 1> slots;
    int in_flight = 0;
    HedgeDelay due{};
    const auto launch = [&] {
        auto& slot = *std::find_if(slots.begin(), slots.end(), [](const auto& s) { return s.attempt == 0; });
        slot.start(loop.attempts(), cfg.clock.now(), hooks.stop_token);
        slot.task = run_hedged_attempt<T>(op, slot, race);
        ++in_flight;
        slot.task.handle().resume();  // runs until it suspends or answers
    };
    const auto arm = [&] {
        if (in_flight > options.max_hedges || loop.attempts() >= cfg.max_attempts) return;
        due = hedge.delay();
        race.arm(sleeper, due.delay);
    };

    launch();
    arm();
    Next next = Next::Wait;
    std::exception_ptr config_error;
    while (next == Next::Wait) {
        co_await race.next();
        if (race.take_timer()) {
            if (in_flight <= options.max_hedges &&
                loop.begin_hedge(due.delay, due.trigger, gate.current(), options.budget, in_flight)) {
                launch();
                arm();
            }
            continue;
        }
        auto& slot = *std::find_if(slots.begin(), slots.end(), [](const auto& s) { return s.attempt != 0 && s.answered; });
        race.took_answer();
        --in_flight;
        loop.answered(slot.attempt, in_flight);
        if (slot.aborted) {
            abort = slot.error;
            loop.aborted_by_callable();
            next = Next::Stop;
        } else {
            if constexpr (!std::is_void_v<T>) out.value = std::move(slot.value);
            try {
                next = settle_attempt(loop, cfg, out, std::move(slot.error), cfg.attempt_timeout ? &slot.started : nullptr);
            } catch (...) {
                config_error = std::current_exception();
                next = Next::Stop;
            }
            if (out.ok) {
                hedge.record(cfg.clock.now() - slot.started);
                out.winner = static_cast<std::uint16_t>(std::min(slot.attempt, 65535));
                out.in_flight = static_cast<std::uint8_t>(in_flight + 1);  // at most 1 + max_hedges_cap
            }
        }
        slot.free();
    }
    race.disarm();

    // The losers: ask each to stop, wait until it ends, drop its answer.
    for (auto& slot : slots)
        if (slot.attempt != 0) slot.stop.request_stop();
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
    if (config_error) std::rethrow_exception(config_error);
    co_return next;
}

}  // namespace redress::detail
