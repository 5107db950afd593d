// Executors: where a hedged sync call runs its attempts. A sync `call()` has one thread, and
// it waits; the attempts of a hedged call run on an executor the caller passes with
// `redress::hedge_on(executor)` (docs/hedging.md, "Sync calls").
#pragma once

#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>

namespace redress {

/// Anything that runs a task somewhere else: `executor.execute(task)` or `executor(task)`,
/// with `task` a `std::function<void()>` it must run exactly once (a task it drops would
/// leave the call waiting for it). A thread pool's `post` adapts in one lambda:
/// `[&pool](std::function<void()> task) { pool.post(std::move(task)); }`.
template <class E>
concept Executor = requires(E& e, std::function<void()> task) { e.execute(std::move(task)); } ||
                   std::invocable<E&, std::function<void()>>;

/// The executor a hedged sync call runs its attempts on: `policy.call(fn, redress::hedge_on(pool))`.
/// Holds a reference to an executor passed as an lvalue, a copy of one passed as an rvalue.
template <class E>
struct HedgeOn {
    E executor;  ///< the executor, or a reference to it (`E` an lvalue reference type)
};

/// Runs the attempts of a hedged sync call on `executor` (see `HedgeOn`).
template <class E>
    requires Executor<std::remove_cvref_t<E>>
[[nodiscard]] HedgeOn<E> hedge_on(E&& executor) {
    return HedgeOn<E>{std::forward<E>(executor)};
}

/// Runs each task on a new thread; the destructor waits until every task it started has
/// ended. Thread-safe. Costs a thread's creation per task (0.1 ms or more, against about
/// 15 µs through a small pool): for tests, examples and low rates; a service passes its
/// thread pool instead.
class ThreadExecutor {
public:
    ThreadExecutor() = default;
    ThreadExecutor(const ThreadExecutor&) = delete;
    ThreadExecutor& operator=(const ThreadExecutor&) = delete;
    ~ThreadExecutor() {
        std::unique_lock lock(mutex_);
        idle_.wait(lock, [&] { return running_ == 0; });
    }

    /// Starts `task` on a new thread. Throws `std::system_error` when no thread can be made.
    /// (A template only so that a translation unit that never calls it does not compile the
    /// `std::thread` it starts.)
    template <class = void>
    void execute(std::function<void()> task) {
        {
            std::lock_guard lock(mutex_);
            ++running_;
        }
        try {
            std::thread([this, task = std::move(task)]() mutable {
                task();
                task = nullptr;  // what the task holds is released before the destructor may return
                std::lock_guard lock(mutex_);
                if (--running_ == 0) idle_.notify_all();
            }).detach();
        } catch (...) {
            std::lock_guard lock(mutex_);
            --running_;
            throw;
        }
    }

private:
    std::mutex mutex_;
    std::condition_variable idle_;
    std::size_t running_ = 0;
};

namespace detail {

/// Hands `task` to `executor` in the form it takes.
template <class E>
void submit(E& executor, std::function<void()> task) {
    if constexpr (requires { executor.execute(std::move(task)); }) {
        executor.execute(std::move(task));
    } else {
        executor(std::move(task));
    }
}

}  // namespace detail
}  // namespace redress
