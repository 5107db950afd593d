// The hedged rounds of the sync driver. The attempts of a round run side by side on an
// executor the caller passes (`redress::hedge_on`): the round's first, then a hedge each time
// the hedge's delay passes. The calling thread waits for their answers and alone drives the
// attempt-loop core (`begin_hedge`, `answered`, `failed`, `cancelled`), which is not
// thread-safe; this file only starts attempts, waits and cancels.
//
// Frames: an attempt refers to the caller's operation (usually a lambda that captures the
// caller's locals by reference, which no copy could make safe) and to its slot in the
// round's frame, so the round never ends while an attempt still runs: the losers are asked
// to stop (their stop token) and waited for. Only the race they report to is shared, so an
// attempt's last act, its report, never touches a frame that is gone; and a hedge timer run
// by a custom sleeper (which cannot be interrupted) may outlive the call, holding the race.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
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
#include <redress/engine/sync_driver.hpp>
#include <redress/engine/sync_wait.hpp>
#include <redress/executor.hpp>
#include <redress/hedge.hpp>
#include <redress/hooks.hpp>
#include <redress/outcome.hpp>

namespace redress::detail {

/// Where the attempts of a sync hedged call and its hedge timer report, and where the
/// calling thread waits: their reports are taken in the order they came. Thread-safe;
/// shared by the call, its attempts and its timer.
class SyncHedgeRace {
public:
    /// What `next()` answers when the hedge timer ran out.
    static constexpr int timer = -1;

    /// The attempt in slot `slot` has answered (its result is in the slot).
    void answer(int slot) {
        std::lock_guard lock(mutex_);
        push(slot);
    }

    /// Arms the hedge timer: on the real clock at `due`, or, without one, by a task that
    /// calls `fire` with the generation this returns.
    std::uint64_t arm(std::optional<std::chrono::steady_clock::time_point> due) {
        std::lock_guard lock(mutex_);
        armed_ = true;
        due_ = due;
        return ++generation_;
    }

    /// A timer armed with `generation` ran out; one disarmed or re-armed since fires nothing.
    void fire(std::uint64_t generation) {
        std::lock_guard lock(mutex_);
        if (!armed_ || generation != generation_) return;
        armed_ = false;
        push(timer);
    }

    /// No timer is armed, and one that fired is not reported.
    void disarm() {
        std::lock_guard lock(mutex_);
        armed_ = false;
        due_.reset();
        ++generation_;
        int kept = 0;
        for (int i = 0; i < count_; ++i)
            if (ready_[static_cast<std::size_t>(i)] != timer) ready_[static_cast<std::size_t>(kept++)] = ready_[static_cast<std::size_t>(i)];
        count_ = kept;
    }

    /// Waits for the next report: an answer (its slot) or the timer (`timer`).
    [[nodiscard]] int next() {
        std::unique_lock lock(mutex_);
        for (;;) {
            if (count_ > 0) {
                const int report = ready_[0];
                --count_;
                for (std::size_t i = 0; i < static_cast<std::size_t>(count_); ++i) ready_[i] = ready_[i + 1];
                return report;
            }
            if (armed_ && due_) {
                if (woken_.wait_until(lock, *due_) == std::cv_status::timeout && count_ == 0) {
                    armed_ = false;
                    due_.reset();
                    return timer;
                }
            } else {
                woken_.wait(lock);
            }
        }
    }

private:
    void push(int report) {
        ready_[static_cast<std::size_t>(count_++)] = report;
        woken_.notify_all();
    }

    std::mutex mutex_;
    std::condition_variable woken_;
    std::array<int, max_hedges_cap + 2> ready_{};  ///< every attempt in flight, and the timer
    int count_ = 0;
    bool armed_ = false;
    std::optional<std::chrono::steady_clock::time_point> due_{};
    std::uint64_t generation_ = 0;
};

/// An operation whose attempt views are prepared on the calling thread (`WithAttempt`).
template <class Op>
concept PreparesViews = requires(Op& op, std::stop_token token, Attempt& view) { op.prepare(token, view); };

/// One attempt, as the task the executor runs: runs the operation into its slot, then reports.
template <class T, class Op>
struct SyncHedgeAttempt {
    std::shared_ptr<SyncHedgeRace> race;
    Op* op;
    HedgeSlotCore<T>* slot;
    int index;

    void operator()() const {
        const std::stop_token token = slot->stop.get_token();
        if constexpr (PreparesViews<Op>) {
            auto with_view = [this](const std::stop_token&) -> decltype(auto) { return op->run(slot->view); };
            slot->result = run_once<T>(with_view, token, slot->value_slot());
        } else {
            slot->result = run_once<T>(*op, token, slot->value_slot());
        }
        race->answer(index);
    }
};

/// One round of a hedged sync operation; `loop.begin_attempt()` has started its first
/// attempt. Answers `Stop` (the outcome is decided) or `Sleep` (every attempt failed).
/// `sleeper` (the call's or the policy's, else null) waits for each hedge's delay on the
/// executor; without one the calling thread's wait for answers times out at the delay.
template <class T, class Loop, class Settings, class Op, class Gate, class E>
Next sync_hedged_round(const HedgeState& hedge, Loop& loop, const Settings& cfg, Outcome<T>& out, Op& op,
                       const CallHooks& hooks, const Sleeper* sleeper, const Gate& gate, E& executor,
                       const std::shared_ptr<SyncHedgeRace>& race, std::exception_ptr& abort) {
    const Hedge& options = hedge.options();
    std::array<HedgeSlotCore<T>, max_hedges_cap + 1> slots;
    int in_flight = 0;
    HedgeDelay due{};
    const auto launch = [&] {
        auto* free = slots.data();
        while (free->attempt != 0) ++free;
        const int index = static_cast<int>(free - slots.data());
        free->start(loop.attempts(), cfg.clock.now(), hooks.stop_token);
        if constexpr (PreparesViews<Op>) op.prepare(free->stop.get_token(), free->view);
        ++in_flight;
        try {
            submit(executor, SyncHedgeAttempt<T, Op>{race, &op, &*free, index});
        } catch (...) {
            free->result = {Ran::Threw, std::current_exception()};  // refused by the executor: a failed attempt
            race->answer(index);
        }
    };
    const auto arm = [&] {
        if (in_flight > options.max_hedges || loop.attempts() >= cfg.max_attempts) return;
        due = hedge.delay();
        if (sleeper == nullptr) {
            (void)race->arm(saturating_deadline(std::chrono::steady_clock::now(), due.delay));
            return;
        }
        const std::uint64_t generation = race->arm(std::nullopt);
        try {
            submit(executor, [race, generation, sleep = *sleeper, delay = due.delay] {
                try {
                    sleep(delay);
                } catch (...) {
                    return;  // a sleeper that throws fires nothing: no hedge rather than an early one
                }
                race->fire(generation);
            });
        } catch (...) {
            race->disarm();  // no timer, no hedge
        }
    };

    launch();
    arm();
    Next next = Next::Wait;
    std::exception_ptr config_error;
    while (next == Next::Wait) {
        const int ready = race->next();
        if (ready == SyncHedgeRace::timer) {
            if (in_flight <= options.max_hedges &&
                loop.begin_hedge(due.delay, due.trigger, gate.current(), options.budget, in_flight)) {
                launch();
                arm();
            }
            continue;
        }
        auto& slot = slots[static_cast<std::size_t>(ready)];
        --in_flight;
        next = settle_hedged_answer(hedge, loop, cfg, out, slot, in_flight, false, abort, config_error);
        slot.free();
    }
    race->disarm();

    // The losers: ask each to stop, wait until it ends, drop its answer.
    for (auto& slot : slots)
        if (slot.attempt != 0) slot.stop.request_stop();
    while (in_flight > 0) {
        const int ready = race->next();
        if (ready == SyncHedgeRace::timer) continue;  // (disarmed: never)
        auto& slot = slots[static_cast<std::size_t>(ready)];
        --in_flight;
        loop.cancelled(slot.attempt);
        slot.free();
    }
    if (config_error) std::rethrow_exception(config_error);
    return next;
}

/// The attempts of an admitted hedged operation, in rounds on `executor` (a `run_sync` loop).
template <class E>
struct HedgedLoop {
    E& executor;

    template <class T, class PolicyT, class Op, class Gate>
    void operator()(const PolicyT& policy, Op& op, const CallHooks& hooks, const SleepHooks& sleeps, TimePoint start,
                    Measure measure, Outcome<T>& out, std::exception_ptr& abort, const Gate& gate) const {
        const auto& cfg = policy.retry_settings();
        const HedgeState& hedge = policy.hedge_state();
        AttemptLoop<std::remove_cvref_t<decltype(cfg)>> loop(cfg, hooks, policy.notifies_class_strategies(), start);
        loop.hedging(hedge.options().non_retryable_ends);
        const auto race = std::make_shared<SyncHedgeRace>();
        while (loop.begin_attempt() == Next::Run) {
            if (sync_hedged_round<T>(hedge, loop, cfg, out, op, hooks, sleeps.sleeper, gate, executor, race, abort) ==
                Next::Stop)
                break;
            if (wait(loop, sleeps, hooks.stop_token) == Next::Stop) break;
        }
        finish_outcome(loop, out, measure == Measure::Yes);
    }
};

}  // namespace redress::detail
