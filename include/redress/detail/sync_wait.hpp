// Waiting in sync code: an interruptible sleep, and the watchdog behind `attempt_timeout`.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <stop_token>
#include <thread>

#include <redress/clock.hpp>

namespace redress::detail {

/// Sleeps for `d` on the real steady clock, returning early when `token` is stopped.
/// Allocates nothing: the stop callback and the condition variable live on the stack.
inline void interruptible_sleep(Duration d, const std::stop_token& token) {
    if (d <= Duration::zero()) return;
    if (!token.stop_possible()) {
        std::this_thread::sleep_for(d);
        return;
    }
    std::mutex mutex;
    std::condition_variable cv;
    bool stopped = false;
    const auto until = std::chrono::steady_clock::now() + d;
    // Declared after what it touches, so it is destroyed (and waits for a running callback) first.
    std::stop_callback wake(token, [&] {
        std::lock_guard lock(mutex);
        stopped = true;
        cv.notify_all();
    });
    std::unique_lock lock(mutex);
    cv.wait_until(lock, until, [&] { return stopped; });
}

/// A process-wide watchdog thread that requests stop sources when their attempt's time is
/// up. Started on first use (only by policies with `attempt_timeout`), stopped and joined
/// at static destruction. Thread-safe.
class TimeoutService {
public:
    static TimeoutService& instance() {
        static TimeoutService service;
        return service;
    }

    TimeoutService(const TimeoutService&) = delete;
    TimeoutService& operator=(const TimeoutService&) = delete;

    /// Requests `source` at `due` (steady clock) unless cancelled first. Returns a ticket.
    std::uint64_t schedule(std::chrono::steady_clock::time_point due, std::stop_source source) {
        std::lock_guard lock(mutex_);
        if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
        const auto id = ++next_id_;
        timers_.emplace(Key{due, id}, std::move(source));
        cv_.notify_all();
        return id;
    }

    void cancel(std::chrono::steady_clock::time_point due, std::uint64_t id) {
        std::lock_guard lock(mutex_);
        timers_.erase(Key{due, id});
    }

    ~TimeoutService() {
        {
            std::lock_guard lock(mutex_);
            shutting_down_ = true;
            cv_.notify_all();
        }
        if (thread_.joinable()) thread_.join();
    }

private:
    TimeoutService() = default;

    struct Key {
        std::chrono::steady_clock::time_point due;
        std::uint64_t id;
        bool operator<(const Key& o) const noexcept { return due != o.due ? due < o.due : id < o.id; }
    };

    void run() {
        std::unique_lock lock(mutex_);
        while (!shutting_down_) {
            if (timers_.empty()) {
                cv_.wait(lock);
                continue;
            }
            const auto first = timers_.begin()->first.due;
            if (std::chrono::steady_clock::now() < first) {
                cv_.wait_until(lock, first);
                continue;
            }
            auto source = std::move(timers_.begin()->second);
            timers_.erase(timers_.begin());
            lock.unlock();
            source.request_stop();
            lock.lock();
        }
    }

    std::mutex mutex_;
    std::condition_variable cv_;
    std::map<Key, std::stop_source> timers_;
    std::uint64_t next_id_ = 0;
    bool shutting_down_ = false;
    std::thread thread_;
};

/// RAII: one attempt's deadline. Its token is stopped when the attempt's time is up or when
/// the caller's token is stopped.
class AttemptDeadline {
public:
    AttemptDeadline(Duration timeout, const std::stop_token& outer)
        : due_(std::chrono::steady_clock::now() + timeout),
          link_(outer, [this] { source_.request_stop(); }),
          id_(TimeoutService::instance().schedule(due_, source_)) {}
    AttemptDeadline(const AttemptDeadline&) = delete;
    AttemptDeadline& operator=(const AttemptDeadline&) = delete;
    ~AttemptDeadline() { TimeoutService::instance().cancel(due_, id_); }

    [[nodiscard]] std::stop_token token() const noexcept { return source_.get_token(); }

private:
    std::stop_source source_{};
    std::chrono::steady_clock::time_point due_;
    std::stop_callback<std::function<void()>> link_;
    std::uint64_t id_;
};

}  // namespace redress::detail
