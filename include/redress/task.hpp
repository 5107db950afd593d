// redress::Task<T>: a small lazy coroutine task (docs/coroutines.md).
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include <redress/detail/frame_pool.hpp>

namespace redress {

template <class T = void>
class Task;

namespace detail {

struct TaskFinalAwaiter {
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) const noexcept {
        // Symmetric transfer: resume whoever awaited us without growing the stack.
        return h.promise().continuation;
    }
    void await_resume() const noexcept {}
};

// Frames come from the thread's `FramePool` when one is installed (detail/frame_pool.hpp).
struct TaskPromiseBase : PooledFrame {
    std::coroutine_handle<> continuation = std::noop_coroutine();
    std::suspend_always initial_suspend() const noexcept { return {}; }
    TaskFinalAwaiter final_suspend() const noexcept { return {}; }
};

template <class T>
struct TaskPromise : TaskPromiseBase {
    // The value or the exception, whichever the coroutine ended with (never both).
    std::optional<T> value;
    std::exception_ptr error;

    Task<T> get_return_object() noexcept;
    template <class U>
        requires std::is_convertible_v<U&&, T>
    void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        value.emplace(std::forward<U>(v));
    }
    void unhandled_exception() noexcept { error = std::current_exception(); }

    T take() {
        if (error) std::rethrow_exception(error);
        if (!value) throw std::logic_error("redress::Task: the task has no result (it has not finished)");
        return std::move(*value);
    }
};

template <>
struct TaskPromise<void> : TaskPromiseBase {
    std::exception_ptr error;

    Task<void> get_return_object() noexcept;
    void return_void() const noexcept {}
    void unhandled_exception() noexcept { error = std::current_exception(); }
    void take() const {
        if (error) std::rethrow_exception(error);
    }
};

}  // namespace detail

/// A lazy, move-only coroutine task: nothing runs until it is awaited (or started by a
/// scheduler such as `testing::VirtualScheduler`). Awaiting it resumes the awaiting
/// coroutine by symmetric transfer when it completes, and rethrows its exception.
/// Allocates nothing beyond its coroutine frame. Not thread-safe: await it once, from one place.
template <class T>
class [[nodiscard]] Task {
public:
    using promise_type = detail::TaskPromise<T>;  ///< the coroutine promise (implementation detail)
    using value_type = T;                          ///< what awaiting the task yields

    /// An empty task (no coroutine).
    Task() noexcept = default;
    /// Takes ownership of a coroutine (used by the promise).
    explicit Task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
    /// Moves the coroutine; `other` becomes empty.
    Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    /// Destroys this task's coroutine, if any, and takes `other`'s.
    Task& operator=(Task&& other) noexcept {
        if (this != &other) {
            if (handle_) handle_.destroy();
            handle_ = std::exchange(other.handle_, {});
        }
        return *this;
    }
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    ~Task() {
        if (handle_) handle_.destroy();
    }

    /// True when the task holds a coroutine that has finished.
    [[nodiscard]] bool done() const noexcept { return handle_ && handle_.done(); }
    /// True when the task holds a coroutine.
    [[nodiscard]] explicit operator bool() const noexcept { return static_cast<bool>(handle_); }

    /// Awaiting starts the task and resumes the awaiting coroutine (by symmetric transfer)
    /// when it completes, yielding its value or rethrowing its exception. Await once.
    auto operator co_await() && noexcept {
        struct Awaiter {
            std::coroutine_handle<promise_type> h;
            bool await_ready() const noexcept { return !h || h.done(); }
            std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) const noexcept {
                h.promise().continuation = awaiting;
                return h;
            }
            T await_resume() const { return h.promise().take(); }
        };
        return Awaiter{handle_};
    }

    /// The coroutine handle, for schedulers that start tasks (ownership stays with the task).
    [[nodiscard]] std::coroutine_handle<promise_type> handle() const noexcept { return handle_; }

    /// The result of a finished task (rethrows its exception). Precondition: `done()`.
    decltype(auto) result() { return handle_.promise().take(); }

private:
    std::coroutine_handle<promise_type> handle_{};
};

namespace detail {
template <class T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
    return Task<T>(std::coroutine_handle<TaskPromise<T>>::from_promise(*this));
}
inline Task<void> TaskPromise<void>::get_return_object() noexcept {
    return Task<void>(std::coroutine_handle<TaskPromise<void>>::from_promise(*this));
}
}  // namespace detail

namespace detail {
/// A coroutine that starts at once and frees its own frame when it ends: for work that may
/// outlive whoever started it (it must catch what it throws: an escaping exception terminates).
struct Detached {
    struct promise_type : PooledFrame {
        Detached get_return_object() const noexcept { return {}; }
        std::suspend_never initial_suspend() const noexcept { return {}; }
        std::suspend_never final_suspend() const noexcept { return {}; }
        void return_void() const noexcept {}
        void unhandled_exception() const noexcept { std::terminate(); }
    };
};
}  // namespace detail

/// Runs a task to completion on the calling thread and returns its result. For tasks that
/// never suspend on an outside event (their sleeps are synchronous or virtual); a task that
/// waits for an event loop needs that loop (for example `testing::VirtualScheduler::run`).
template <class T>
T sync_wait(Task<T> task) {
    auto h = task.handle();
    if (!h) throw std::invalid_argument("redress::sync_wait: empty task");
    h.resume();
    if (!h.done()) throw std::logic_error("redress::sync_wait: the task suspended on an event no one will deliver");
    return task.result();
}

}  // namespace redress
