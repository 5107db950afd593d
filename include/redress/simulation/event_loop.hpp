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
            void await_suspend(std::coroutine_handle<> h) const { loop->schedule(due, h); }
            void await_resume() const noexcept {}
        };
        return Awaiter{this, now() + std::max(d, Duration::zero())};
    }

    /// Resumes `h` from the loop, now (after the timers already due at this instant).
    void resume_soon(std::coroutine_handle<> h) { schedule(now(), h); }

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
        while (timers_.size() != 0) {
            const Timer t = timers_.pop();
            clock_.advance_to(TimePoint{Duration{static_cast<Duration::rep>(t.key ^ sign_bit)}});
            ++counters_.resumptions;
            t.handle.resume();
        }
        if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    }

    /// What the loop held at its fullest, and now.
    [[nodiscard]] const LoopCounters& counters() const noexcept { return counters_; }

private:
    /// A due time as an unsigned key in the same order (the sign bit flipped).
    static constexpr std::uint64_t sign_bit = std::uint64_t{1} << 63U;

    struct Timer {
        std::uint64_t key;
        std::uint64_t seq;  // the order timers were set in: the tie-break at one instant
        std::coroutine_handle<> handle;
    };

    /// The timers, earliest first and, at one instant, in the order they were set: a calendar
    /// of slots of 2^20 ns (about 1 ms) over the next 2^14 slots (17 s), the slot at hand kept
    /// sorted, later timers in a heap. Setting a timer appends it to its slot; each slot is
    /// sorted once, when it comes up (about 8 timers in the storm benchmark). Taking one out
    /// prefetches the frame of the coroutine two timers on, which the loop then resumes warm
    /// (coroutines wait thousands of events: their frames are out of cache by then). A third
    /// of the cost of std::priority_queue, the loop's largest (callgrind, the storm benchmark).
    class Timers {
    public:
        explicit Timers(std::uint64_t start) : slot_(start >> slot_bits) {}
        [[nodiscard]] std::size_t size() const noexcept { return size_; }

        void push(Timer t) {
            ++size_;
            const std::uint64_t slot = t.key >> slot_bits;  // >= slot_: virtual time never goes back
            if (slot == slot_) {
                // The slot at hand: into its place, after the timers due at the same instant.
                const auto at = std::upper_bound(now_.begin() + static_cast<std::ptrdiff_t>(head_), now_.end(), t,
                                                 [](const Timer& a, const Timer& b) { return a.key < b.key; });
                now_.insert(at, t);
            } else if (slot - slot_ < slots) {
                ring_[slot % slots].push_back(t);
                ++in_ring_;
            } else {
                later_.push_back(t);
                std::push_heap(later_.begin(), later_.end(), later_first);
            }
        }

        /// The earliest timer. Precondition: `size() != 0`.
        Timer pop() {
            if (head_ == now_.size()) next_slot();
            --size_;
#if defined(__GNUC__)
            if (head_ + 2 < now_.size()) __builtin_prefetch(now_[head_ + 2].handle.address());
#endif
            return now_[head_++];
        }

    private:
        static constexpr unsigned slot_bits = 20;
        static constexpr std::uint64_t slots = std::uint64_t{1} << 14U;

        static bool later_first(const Timer& a, const Timer& b) noexcept {  // a heap's "less": the top is earliest
            return a.key != b.key ? a.key > b.key : a.seq > b.seq;
        }

        /// Makes the next slot that holds timers the slot at hand, sorted.
        void next_slot() {
            now_.clear();
            head_ = 0;
            if (in_ring_ == 0) {
                slot_ = later_.front().key >> slot_bits;  // nothing in the calendar: skip to the heap's earliest
            } else {
                do {
                    ++slot_;
                } while (ring_[slot_ % slots].empty() && !(!later_.empty() && (later_.front().key >> slot_bits) == slot_));
                std::vector<Timer>& due = ring_[slot_ % slots];
                in_ring_ -= due.size();
                now_.swap(due);
            }
            while (!later_.empty() && (later_.front().key >> slot_bits) == slot_) {
                std::pop_heap(later_.begin(), later_.end(), later_first);
                now_.push_back(later_.back());
                later_.pop_back();
            }
            std::sort(now_.begin(), now_.end(),
                      [](const Timer& a, const Timer& b) { return a.key != b.key ? a.key < b.key : a.seq < b.seq; });
        }

        std::vector<Timer> now_;  // the slot at hand, sorted; taken out from head_
        std::size_t head_ = 0;
        std::uint64_t slot_;
        std::vector<std::vector<Timer>> ring_ = std::vector<std::vector<Timer>>(slots);  // the next slots
        std::size_t in_ring_ = 0;
        std::vector<Timer> later_;  // beyond the calendar: a heap
        std::size_t size_ = 0;
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

    static Task<void> sleep_task(EventLoop* loop, Duration d) { co_await loop->sleep(d); }

    void schedule(TimePoint due, std::coroutine_handle<> h) {
        timers_.push(Timer{static_cast<std::uint64_t>(due.time_since_epoch().count()) ^ sign_bit, ++seq_, h});
        counters_.peak_timers = std::max(counters_.peak_timers, timers_.size());
    }

    testing::ManualClock clock_;
    Timers timers_{static_cast<std::uint64_t>(clock_.now().time_since_epoch().count()) ^ sign_bit};
    std::uint64_t seq_ = 0;
    LoopCounters counters_;
    std::exception_ptr error_;
};

}  // namespace redress::simulation
