// EventLoop: the simulation's virtual-time scheduler. Unlike testing::VirtualScheduler it
// frees each spawned coroutine as soon as it finishes, so memory follows the requests in
// flight, not the simulated time.
#pragma once

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <utility>

#include <redress/clock.hpp>
#include <redress/simulation/timer_queue.hpp>
#include <redress/task.hpp>
#include <redress/testing/manual_clock.hpp>

namespace redress::simulation {

namespace detail {
/// A coroutine that starts at once and frees its own frame when it ends (`EventLoop::detach`
/// catches everything).
using Detached = redress::detail::Detached;
}  // namespace detail

/// What the loop held at its fullest: the evidence that memory stays flat.
struct LoopCounters {
    std::uint64_t resumptions = 0;       ///< timers fired
    std::size_t peak_timers = 0;         ///< most coroutines waiting on a timer at once
    std::size_t peak_live_tasks = 0;     ///< most spawned coroutines alive at once
    std::size_t live_tasks = 0;          ///< spawned coroutines alive now (0 after a full run)
};

/// Resumes coroutines in virtual time on a `testing::ManualClock`. Timers due at the same
/// instant fire in the order they were set, so a run is a pure function of its inputs.
/// Single-threaded.
class EventLoop {
public:
    /// A loop that advances `clock` (a handle: the policy shares it).
    explicit EventLoop(testing::ManualClock clock) : clock_(std::move(clock)) {}
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    /// The loop's clock: hand it to the policy, its budget and its breaker.
    [[nodiscard]] const testing::ManualClock& clock() const noexcept { return clock_; }
    /// The current virtual time.
    [[nodiscard]] TimePoint now() const noexcept { return clock_.now(); }

    /// An awaitable that resumes the awaiting coroutine `d` later in virtual time.
    [[nodiscard]] auto sleep(Duration d) { return SleepAwaiter<false>{this, now() + std::max(d, Duration::zero())}; }

    /// Resumes `h` from the loop, now (after the timers already due at this instant).
    void resume_soon(std::coroutine_handle<> h) { schedule(now(), h, h); }

    /// The policy's sleeper (`AsyncSleepHooks<Task>::sleeper`): retries wait in virtual time.
    [[nodiscard]] std::function<Task<void>(Duration)> sleeper() {
        return [this](Duration d) { return sleep_task(this, d); };
    }

    /// Starts `task` now; its frame is freed when it finishes. An exception it lets escape is
    /// kept and rethrown by `run()`.
    void spawn(Task<void> task) { detach(this, std::move(task)); }

    /// Fires timers in time order until none are left; rethrows the first exception a spawned
    /// task let escape.
    void run() {
        while (!timers_.empty()) {
            const Timer t = timers_.pop();
            if (const Timer* next = timers_.next()) prefetch(*next);
            clock_.advance_to(t.due);
            ++counters_.resumptions;
            t.handle.resume();
        }
        if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    }

    /// What the loop held at its fullest, and now.
    [[nodiscard]] const LoopCounters& counters() const noexcept { return counters_; }

private:
    using Timer = detail::Timer;

    /// Resumes the awaiting coroutine at `due`. With `WakesAwaiter` (a `Task` that only
    /// sleeps), the frame that then runs is the one awaiting that task.
    template <bool WakesAwaiter>
    struct SleepAwaiter {
        EventLoop* loop;
        TimePoint due;
        bool await_ready() const noexcept { return false; }
        template <class Promise>
        void await_suspend(std::coroutine_handle<Promise> h) const {
            if constexpr (WakesAwaiter) {
                loop->schedule(due, h, h.promise().continuation);
            } else {
                loop->schedule(due, h, h);
            }
        }
        void await_resume() const noexcept {}
    };

    static detail::Detached detach(EventLoop* loop, Task<void> task) {
        auto& c = loop->counters_;
        c.peak_live_tasks = std::max(c.peak_live_tasks, ++c.live_tasks);
        try {
            co_await std::move(task);
        } catch (...) {
            if (!loop->error_) loop->error_ = std::current_exception();
        }
        --c.live_tasks;
    }

    /// A backoff sleep through `sleeper()` (a hedged policy's; the simulator's other policies
    /// wait on `sleep()` itself). Its timer names the frame it wakes (the driver awaiting it)
    /// for `prefetch`.
    static Task<void> sleep_task(EventLoop* loop, Duration d) {
        co_await SleepAwaiter<true>{loop, loop->now() + std::max(d, Duration::zero())};
    }

    /// Starts loading the frames timer `t` will touch while the one before it runs: a frame is
    /// resumed thousands of events after it last ran, long out of the core's caches (0.7 of the
    /// CPU in the storm benchmark). A prefetch never faults: lines past a small frame are harmless.
    static void prefetch(const Timer& t) noexcept {
#if defined(__GNUC__) || defined(__clang__)
        if (t.handle != t.wakes) __builtin_prefetch(t.handle.address());
        // Written out, one instruction a line: as a loop it cost 4 (5 % of the benchmark's).
        [wakes = static_cast<const char*>(t.wakes.address())]<std::size_t... Line>(std::index_sequence<Line...>) {
            (__builtin_prefetch(wakes + 64 * Line), ...);
        }(std::make_index_sequence<prefetch_lines>{});
#endif
    }

    /// Resumes `h` at `due`; `wakes` is the frame that runs then (`h`'s, or the one it resumes).
    void schedule(TimePoint due, std::coroutine_handle<> h, std::coroutine_handle<> wakes) {
        timers_.push(Timer{due, ++seq_, h, wakes});
        counters_.peak_timers = std::max(counters_.peak_timers, timers_.size());
    }

    static constexpr int prefetch_lines = 16;  // 1 KB: the policy driver's frame
    testing::ManualClock clock_;
    detail::TimerQueue timers_;
    std::uint64_t seq_ = 0;
    LoopCounters counters_;
    std::exception_ptr error_;
};

}  // namespace redress::simulation
