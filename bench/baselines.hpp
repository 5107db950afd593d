// Hand-written baselines the benchmarks compare redress against, in the same run.
//
// Each baseline is what a careful engineer would write without the library, with the same
// semantics as the redress path it is compared with:
//   * hand_retry: the try/catch loop with the policy's deadline semantics (start read once;
//     a failure stops when elapsed > deadline or it was the last attempt);
//   * MutexDequeBreaker: a circuit breaker behind one mutex that counts failures in a rolling
//     window by pushing timestamps into a std::deque and popping the old ones (the shape of
//     the Python original's breaker);
//   * MutexDequeBudget: a retry budget behind one mutex: pop timestamps older than the
//     window, admit when size + cost <= max_retries, push one timestamp per retry.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>

namespace redress_bench {

using Clock = std::chrono::steady_clock;

/// The hand-written retry loop: no classification, no backoff (the compared policies sleep 0).
/// `ClockT` is the steady clock, or the coarse one for the coarse-clock policy's context.
template <class ClockT = Clock, class F>
inline auto hand_retry(F&& fn, int max_attempts, typename ClockT::duration deadline) {
    const auto start = ClockT::now();
    for (int attempt = 1;; ++attempt) {
        try {
            return fn();
        } catch (...) {
            if (ClockT::now() - start > deadline || attempt == max_attempts) throw;
        }
    }
}

/// A mutex + std::deque circuit breaker with the same semantics as redress::CircuitBreaker
/// in count mode: closed, open (until recovery_timeout), half-open with a single probe.
class MutexDequeBreaker {
public:
    struct Permit {
        bool allowed = true;
        bool probe = false;
    };

    MutexDequeBreaker(std::size_t threshold, Clock::duration window, Clock::duration recovery)
        : threshold_(threshold), window_(window), recovery_(recovery) {}

    Permit allow() {
        std::lock_guard lock(mutex_);
        switch (state_) {
            case State::Closed: return {true, false};
            case State::Open:
                if (Clock::now() - opened_at_ >= recovery_) {
                    state_ = State::HalfOpen;
                    return {true, true};
                }
                return {false, false};
            case State::HalfOpen: break;
        }
        return {false, false};
    }

    void record_success(Permit p) {
        std::lock_guard lock(mutex_);
        if (p.probe && state_ == State::HalfOpen) {
            state_ = State::Closed;
            failures_.clear();
        }
    }

    void record_failure(Permit p) {
        std::lock_guard lock(mutex_);
        const auto now = Clock::now();
        if (p.probe) {
            open(now);
            return;
        }
        if (state_ != State::Closed) return;
        while (!failures_.empty() && now - failures_.front() >= window_) failures_.pop_front();
        failures_.push_back(now);
        if (failures_.size() >= threshold_) open(now);
    }

    [[nodiscard]] bool closed() {
        std::lock_guard lock(mutex_);
        return state_ == State::Closed;
    }

private:
    enum class State { Closed, Open, HalfOpen };

    void open(Clock::time_point now) {
        state_ = State::Open;
        opened_at_ = now;
        failures_.clear();
    }

    std::mutex mutex_;
    std::deque<Clock::time_point> failures_;
    State state_ = State::Closed;
    Clock::time_point opened_at_{};
    std::size_t threshold_;
    Clock::duration window_;
    Clock::duration recovery_;
};

/// A mutex + std::deque retry budget: at most max_retries retries in any rolling window.
class MutexDequeBudget {
public:
    MutexDequeBudget(std::size_t max_retries, Clock::duration window) : max_(max_retries), window_(window) {}

    bool consume(std::size_t cost = 1) {
        std::lock_guard lock(mutex_);
        const auto now = Clock::now();
        while (!taken_.empty() && now - taken_.front() >= window_) taken_.pop_front();
        if (taken_.size() + cost > max_) return false;
        for (std::size_t i = 0; i < cost; ++i) taken_.push_back(now);
        return true;
    }

private:
    std::mutex mutex_;
    std::deque<Clock::time_point> taken_;
    std::size_t max_;
    Clock::duration window_;
};

}  // namespace redress_bench
