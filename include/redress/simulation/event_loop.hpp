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
#include <vector>

#include <redress/clock.hpp>
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
    [[nodiscard]] auto sleep(Duration d) {
        struct Awaiter {
            EventLoop* loop;
            TimePoint due;
            bool await_ready() const noexcept { return false; }
            void await_suspend(std::coroutine_handle<> h) const { loop->schedule(due, h, h); }
            void await_resume() const noexcept {}
        };
        return Awaiter{this, now() + std::max(d, Duration::zero())};
    }

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
            if (!timers_.empty()) prefetch(timers_.top());
            clock_.advance_to(t.due);
            ++counters_.resumptions;
            t.handle.resume();
        }
        if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    }

    /// What the loop held at its fullest, and now.
    [[nodiscard]] const LoopCounters& counters() const noexcept { return counters_; }

private:
    struct Timer {
        TimePoint due;
        std::uint64_t seq;
        std::coroutine_handle<> handle;
        std::coroutine_handle<> wakes;  // the frame that runs when `handle` resumes
        bool operator<(const Timer& o) const noexcept { return due != o.due ? due < o.due : seq < o.seq; }
    };

    /// A 4-ary min-heap of timers: half the levels of a binary heap, and a node's children
    /// share cache lines. (`seq` makes the order total, so any heap pops the same sequence.)
    class TimerHeap {
    public:
        [[nodiscard]] bool empty() const noexcept { return v_.empty(); }
        [[nodiscard]] std::size_t size() const noexcept { return v_.size(); }
        [[nodiscard]] const Timer& top() const noexcept { return v_.front(); }

        void push(const Timer& t) {
            std::size_t i = v_.size();
            v_.push_back(t);
            while (i > 0) {
                const std::size_t parent = (i - 1) / arity;
                if (!(t < v_[parent])) break;
                v_[i] = v_[parent];
                i = parent;
            }
            v_[i] = t;
        }

        /// Removes and returns the earliest timer. Precondition: not empty.
        Timer pop() {
            const Timer top = v_.front();
            const Timer last = v_.back();
            v_.pop_back();
            const std::size_t n = v_.size();
            if (n == 0) return top;
            std::size_t i = 0;
            for (;;) {
                const std::size_t first = arity * i + 1;
                if (first >= n) break;
                const std::size_t end = std::min(first + arity, n);
                std::size_t least = first;
                for (std::size_t c = first + 1; c < end; ++c)
                    if (v_[c] < v_[least]) least = c;
                if (!(v_[least] < last)) break;
                v_[i] = v_[least];
                i = least;
            }
            v_[i] = last;
            return top;
        }

    private:
        static constexpr std::size_t arity = 4;
        std::vector<Timer> v_;
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

    /// The policy's backoff sleep. Its timer names the frame it wakes (the driver awaiting it)
    /// for `prefetch`.
    static Task<void> sleep_task(EventLoop* loop, Duration d) {
        struct Awaiter {
            EventLoop* loop;
            TimePoint due;
            bool await_ready() const noexcept { return false; }
            void await_suspend(std::coroutine_handle<Task<void>::promise_type> h) const {
                loop->schedule(due, h, h.promise().continuation);
            }
            void await_resume() const noexcept {}
        };
        co_await Awaiter{loop, loop->now() + std::max(d, Duration::zero())};
    }

    /// Starts loading the frames timer `t` will touch while the one before it runs: a frame is
    /// resumed thousands of events after it last ran, long out of the core's caches (-30 % CPU
    /// in the storm benchmark). A prefetch never faults: lines past a small frame are harmless.
    static void prefetch(const Timer& t) noexcept {
#if defined(__GNUC__) || defined(__clang__)
        const char* frame = static_cast<const char*>(t.handle.address());
        __builtin_prefetch(frame);
        const char* wakes = static_cast<const char*>(t.wakes.address());
        for (int line = 0; line < prefetch_lines; ++line) __builtin_prefetch(wakes + 64 * line);
#endif
    }

    /// Resumes `h` at `due`; `wakes` is the frame that runs then (`h`'s, or the one it resumes).
    void schedule(TimePoint due, std::coroutine_handle<> h, std::coroutine_handle<> wakes) {
        timers_.push(Timer{due, ++seq_, h, wakes});
        counters_.peak_timers = std::max(counters_.peak_timers, timers_.size());
    }

    static constexpr int prefetch_lines = 16;  // 1 KB: the policy driver's frame
    testing::ManualClock clock_;
    TimerHeap timers_;
    std::uint64_t seq_ = 0;
    LoopCounters counters_;
    std::exception_ptr error_;
};

}  // namespace redress::simulation
