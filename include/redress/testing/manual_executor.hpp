// ManualExecutor: an executor whose tasks a test runs by hand, for hedged sync calls.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <utility>

namespace redress::testing {

/// An executor (`redress::Executor`) that only queues its tasks: the test runs them, on its
/// own thread, in the order it chooses. A hedged sync call waits on its own thread while the
/// test waits for the tasks the call queues (`wait_for`) and runs them (`run`):
/// ```
/// redress::testing::ManualExecutor executor;
/// std::thread caller([&] { out = policy.execute(fn, redress::hedge_on(executor)); });
/// executor.wait_for(2);  // attempt 1 and the hedge timer
/// executor.run(1);       // the timer: its sleeper advances the manual clock; the hedge is sent
/// ```
/// Thread-safe.
class ManualExecutor {
public:
    /// Queues `task`.
    void execute(std::function<void()> task) {
        std::lock_guard lock(mutex_);
        tasks_.push_back(std::move(task));
        queued_.notify_all();
    }

    /// Waits (in real time, at most `timeout`) until at least `n` tasks are queued; false
    /// when they were not.
    bool wait_for(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        std::unique_lock lock(mutex_);
        return queued_.wait_for(lock, timeout, [&] { return tasks_.size() >= n; });
    }

    /// Takes the task at `index` (0: the oldest) out of the queue and runs it on this thread.
    /// Throws `std::out_of_range` when there is none.
    void run(std::size_t index = 0) {
        std::function<void()> task;
        {
            std::lock_guard lock(mutex_);
            if (index >= tasks_.size()) throw std::out_of_range("ManualExecutor::run: no task at this index");
            task = std::move(tasks_[index]);
            tasks_.erase(tasks_.begin() + static_cast<std::ptrdiff_t>(index));
        }
        task();
    }

    /// The tasks queued and not run yet.
    [[nodiscard]] std::size_t pending() const {
        std::lock_guard lock(mutex_);
        return tasks_.size();
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable queued_;
    std::deque<std::function<void()>> tasks_;
};

}  // namespace redress::testing
