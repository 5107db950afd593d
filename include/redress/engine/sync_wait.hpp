// Waiting in sync code: an interruptible sleep, and the watchdog behind `attempt_timeout`.
//
// The functions and classes with code are templates (on a defaulted, unused parameter), so a
// translation unit that never waits, or never runs an operation that takes a stop token under
// an attempt timeout, instantiates none of them: the watchdog thread, its queue and its
// condition variable cost compile time only where they are used.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <thread>

#include <redress/detail/attributes.hpp>

namespace redress::detail {

/// `t + d` for `d >= 0`, stopping at the clock's last time point instead of overflowing:
/// a wait of `nanoseconds::max()` lasts as long as the clock does.
[[nodiscard]] inline std::chrono::steady_clock::time_point saturating_deadline(
    std::chrono::steady_clock::time_point t, std::chrono::nanoseconds d) noexcept {
    using time_point = std::chrono::steady_clock::time_point;
    if (d <= std::chrono::nanoseconds::zero()) return t;
    if (t.time_since_epoch() > time_point::max().time_since_epoch() - d) return time_point::max();
    return t + d;
}

/// Sleeps for `d` on the real steady clock, returning early when `token` is stopped. A `d`
/// too long for the clock (`nanoseconds::max()`) sleeps until the stop request.
/// Allocates nothing: the stop callback and the condition variable live on the stack.
template <class = void>
void interruptible_sleep(std::chrono::nanoseconds d, const std::stop_token& token) {
    if (d <= std::chrono::nanoseconds::zero()) return;
    if (!token.stop_possible()) {
        std::this_thread::sleep_for(d);
        return;
    }
    std::mutex mutex;
    std::condition_variable cv;
    bool stopped = false;
    const auto until = saturating_deadline(std::chrono::steady_clock::now(), d);
    // Declared after what it touches, so it is destroyed (and waits for a running callback) first.
    std::stop_callback wake(token, [&] {
        std::lock_guard lock(mutex);
        stopped = true;
        cv.notify_all();
    });
    std::unique_lock lock(mutex);
    cv.wait_until(lock, until, [&] { return stopped; });
}
REDRESS_EXTERN_TEMPLATE(void interruptible_sleep<void>(std::chrono::nanoseconds, const std::stop_token&))

/// One attempt's entry in the watchdog's queue. It lives inside the `AttemptDeadline` that
/// scheduled it, so scheduling allocates nothing; the queue links entries in due order.
struct TimeoutEntry {
    std::chrono::steady_clock::time_point due{};
    std::stop_source* source = nullptr;  ///< requested when `due` passes
    TimeoutEntry* prev = nullptr;
    TimeoutEntry* next = nullptr;
    bool queued = false;
};

/// A process-wide watchdog thread that requests stop sources when their attempt's time is
/// up. Started on first use (only by attempts under `attempt_timeout` whose operation takes
/// a stop token), stopped and joined at static destruction. Thread-safe.
template <class = void>
class BasicTimeoutService {
public:
    static BasicTimeoutService& instance() {
        static BasicTimeoutService service;
        return service;
    }

    BasicTimeoutService(const BasicTimeoutService&) = delete;
    BasicTimeoutService& operator=(const BasicTimeoutService&) = delete;

    /// Requests `*entry.source` at `entry.due` unless cancelled first. Entries due at the same
    /// time fire in the order they were scheduled.
    void schedule(TimeoutEntry& entry) {
        std::lock_guard lock(mutex_);
        if (!thread_.joinable()) thread_ = std::thread(&BasicTimeoutService::run_thread, this);
        // Usually the latest deadline so far: walk from the tail.
        TimeoutEntry* after = tail_;
        while (after != nullptr && entry.due < after->due) after = after->prev;
        entry.prev = after;
        entry.next = after != nullptr ? after->next : head_;
        if (entry.next != nullptr) {
            entry.next->prev = &entry;
        } else {
            tail_ = &entry;
        }
        if (after != nullptr) {
            after->next = &entry;
        } else {
            head_ = &entry;
        }
        entry.queued = true;
        if (head_ == &entry) cv_.notify_all();  // the watchdog waits for an earlier deadline now
    }

    /// Takes `entry` out of the queue if it has not fired yet. After this returns, the
    /// watchdog no longer refers to `entry`.
    void cancel(TimeoutEntry& entry) {
        std::lock_guard lock(mutex_);
        if (entry.queued) unlink(entry);
    }

    ~BasicTimeoutService() {
        {
            std::lock_guard lock(mutex_);
            shutting_down_ = true;
            cv_.notify_all();
        }
        if (thread_.joinable()) thread_.join();
    }

private:
    BasicTimeoutService() = default;

    static void run_thread(BasicTimeoutService* self) { self->run(); }

    void unlink(TimeoutEntry& entry) noexcept {
        (entry.prev != nullptr ? entry.prev->next : head_) = entry.next;
        (entry.next != nullptr ? entry.next->prev : tail_) = entry.prev;
        entry.prev = entry.next = nullptr;
        entry.queued = false;
    }

    void run() {
        std::unique_lock lock(mutex_);
        while (!shutting_down_) {
            if (head_ == nullptr) {
                cv_.wait(lock);
                continue;
            }
            const auto first = head_->due;
            if (std::chrono::steady_clock::now() < first) {
                cv_.wait_until(lock, first);
                continue;
            }
            TimeoutEntry& entry = *head_;
            unlink(entry);
            // A copy shares the stop state: the entry's owner may be gone once the lock is released.
            std::stop_source source = *entry.source;
            lock.unlock();
            source.request_stop();
            lock.lock();
        }
    }

    std::mutex mutex_;
    std::condition_variable cv_;
    TimeoutEntry* head_ = nullptr;
    TimeoutEntry* tail_ = nullptr;
    bool shutting_down_ = false;
    std::thread thread_;
};

using TimeoutService = BasicTimeoutService<>;

/// Requests a stop source: the callback linking the caller's token to an attempt's.
struct RequestStop {
    std::stop_source* source;
    void operator()() const noexcept { source->request_stop(); }
};

/// RAII: one attempt's deadline. Its token is stopped when the attempt's time is up or when
/// the caller's token is stopped. A timeout too long for the clock (`nanoseconds::max()`)
/// never fires.
template <class = void>
class BasicAttemptDeadline {
public:
    BasicAttemptDeadline(std::chrono::nanoseconds timeout, const std::stop_token& outer)
        : link_(outer, RequestStop{&source_}) {
        entry_.due = saturating_deadline(std::chrono::steady_clock::now(), timeout);
        entry_.source = &source_;
        BasicTimeoutService<>::instance().schedule(entry_);
    }
    BasicAttemptDeadline(const BasicAttemptDeadline&) = delete;
    BasicAttemptDeadline& operator=(const BasicAttemptDeadline&) = delete;
    ~BasicAttemptDeadline() { BasicTimeoutService<>::instance().cancel(entry_); }

    [[nodiscard]] std::stop_token token() const noexcept { return source_.get_token(); }

private:
    std::stop_source source_{};
    std::stop_callback<RequestStop> link_;
    TimeoutEntry entry_{};
};

using AttemptDeadline = BasicAttemptDeadline<>;

}  // namespace redress::detail
