// VirtualScheduler: a virtual-time event loop for coroutine tests, no Asio needed.
#pragma once

#include <coroutine>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <stop_token>
#include <stdexcept>
#include <utility>
#include <vector>

#include <redress/clock.hpp>
#include <redress/task.hpp>
#include <redress/testing/manual_clock.hpp>

namespace redress::testing {

/// Runs coroutines in virtual time: a coroutine that awaits `sleep(d)` is resumed when the
/// loop has advanced the `ManualClock` by `d`; nothing waits in real time. Timers due at the
/// same instant resume in the order they were set. Single-threaded: use from one thread.
///
/// ```
/// redress::testing::VirtualScheduler loop{clock};
/// auto out = loop.run(policy.async_execute(fn, {}, {.sleeper = loop.sleeper()}));
/// ```
class VirtualScheduler {
public:
    /// A loop that advances `clock` (a handle: share it with the policy under test).
    explicit VirtualScheduler(ManualClock clock = ManualClock{}) : clock_(std::move(clock)) {}
    VirtualScheduler(const VirtualScheduler&) = delete;
    VirtualScheduler& operator=(const VirtualScheduler&) = delete;

    /// An awaitable that resumes the awaiting coroutine `d` later in virtual time.
    [[nodiscard]] auto sleep(Duration d) {
        struct Awaiter {
            VirtualScheduler* loop;
            Duration d;
            bool await_ready() const noexcept { return false; }
            void await_suspend(std::coroutine_handle<> h) const { loop->schedule(loop->clock_.now() + d, h, nullptr); }
            void await_resume() const noexcept {}
        };
        return Awaiter{this, d < Duration::zero() ? Duration::zero() : d};
    }

    /// An awaitable that resumes the awaiting coroutine `d` later in virtual time, or as soon
    /// as `token` is stopped (at the virtual time of the stop request), whichever comes first:
    /// an operation that waits this way observes cancellation (a hedge's loser, a timeout).
    [[nodiscard]] auto sleep(Duration d, std::stop_token token) {
        struct Wake {
            VirtualScheduler* loop;
            std::shared_ptr<bool> pending;
            std::coroutine_handle<> h;
            void operator()() const {
                if (!*pending) return;
                *pending = false;
                loop->schedule(loop->clock_.now(), h, nullptr);
            }
        };
        struct Awaiter {
            VirtualScheduler* loop;
            Duration d;
            std::stop_token token;
            std::optional<std::stop_callback<Wake>> on_stop{};
            bool await_ready() const noexcept { return token.stop_requested(); }
            void await_suspend(std::coroutine_handle<> h) {
                auto pending = std::make_shared<bool>(true);
                loop->schedule(loop->clock_.now() + d, h, pending);
                on_stop.emplace(token, Wake{loop, pending, h});
            }
            void await_resume() noexcept { on_stop.reset(); }
        };
        return Awaiter{this, d < Duration::zero() ? Duration::zero() : d, std::move(token)};
    }

    /// An async sleeper for `AsyncSleepHooks<Task>::sleeper`.
    [[nodiscard]] std::function<Task<void>(Duration)> sleeper() {
        return [this](Duration d) { return sleep_task(this, d); };
    }

    /// Starts `task` now (it runs until its first suspension); the scheduler keeps it alive.
    void spawn(Task<void> task) {
        auto h = task.handle();
        if (!h) throw std::invalid_argument("redress::testing::VirtualScheduler::spawn: empty task");
        spawned_.push_back(std::move(task));
        h.resume();
    }

    /// Resumes due coroutines, advancing virtual time to each timer, until none are left.
    /// Returns the number of resumptions.
    std::size_t run() {
        std::size_t resumed = 0;
        while (!timers_.empty()) {
            const Timer t = timers_.top();
            timers_.pop();
            if (t.pending) {
                if (!*t.pending) continue;  // woken early by its stop token
                *t.pending = false;
            }
            clock_.advance_to(t.due);
            t.handle.resume();
            ++resumed;
        }
        std::erase_if(spawned_, [](const Task<void>& task) { return task.done(); });
        return resumed;
    }

    /// Starts `task`, runs the loop until no timers are left, and returns its result.
    template <class T>
    T run(Task<T> task) {
        auto h = task.handle();
        if (!h) throw std::invalid_argument("redress::testing::VirtualScheduler::run: empty task");
        h.resume();
        run();
        if (!task.done()) throw std::logic_error("redress::testing::VirtualScheduler::run: the task did not finish");
        return task.result();
    }

    /// Coroutines waiting on a virtual timer.
    [[nodiscard]] std::size_t pending_timers() const noexcept { return timers_.size(); }
    /// Spawned tasks not finished yet.
    [[nodiscard]] std::size_t unfinished() const noexcept {
        std::size_t n = 0;
        for (const auto& t : spawned_)
            if (!t.done()) ++n;
        return n;
    }
    /// The clock the loop advances.
    [[nodiscard]] const ManualClock& clock() const noexcept { return clock_; }

private:
    struct Timer {
        TimePoint due;
        std::uint64_t seq;
        std::coroutine_handle<> handle;
        std::shared_ptr<bool> pending;  ///< a stoppable sleep's: false once it has been woken
        bool operator>(const Timer& o) const noexcept { return due != o.due ? due > o.due : seq > o.seq; }
    };

    static Task<void> sleep_task(VirtualScheduler* loop, Duration d) { co_await loop->sleep(d); }

    void schedule(TimePoint due, std::coroutine_handle<> h, std::shared_ptr<bool> pending) {
        timers_.push(Timer{due, ++seq_, h, std::move(pending)});
    }

    ManualClock clock_;
    std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
    std::uint64_t seq_ = 0;
    std::vector<Task<void>> spawned_;
};

}  // namespace redress::testing
