// InMemoryBreakerStore: a BreakerStore in this process, for tests of breakers shared by a fleet.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>

#include <redress/circuit_breaker.hpp>
#include <redress/clock.hpp>

namespace redress::testing {

/// One shared breaker's state kept in memory: several `CircuitBreaker`s given the same store
/// (`CircuitBreakerOptions::store`) stand in for the processes of a fleet. It keeps the record
/// a real store keeps (the opening on record, its generation, and a probe lease that expires
/// on the store's clock), on the clock it is given: a `ManualClock` shared with the breakers
/// makes every time exact. `set_available(false)` makes every call answer nothing, as a store
/// that timed out; `before_call` runs a hook before each answer (to advance a manual clock as
/// latency would, or to hold a thread). Thread-safe; each call is atomic.
class InMemoryBreakerStore final : public BreakerStore {
public:
    /// A store timed by `clock` (default `std::chrono::steady_clock`).
    explicit InMemoryBreakerStore(AnyClock clock = {}) : clock_(std::move(clock)) {}

    [[nodiscard]] std::optional<BreakerFleetState> read() override {
        return answer([&] { return state_locked(); });
    }

    [[nodiscard]] std::optional<BreakerFleetState> publish_open(Duration recovery_timeout) override {
        return answer([&] {
            ++generation_;
            open_ = true;
            opened_at_ = clock_.now();
            recovery_ = recovery_timeout;
            lease_until_.reset();
            return state_locked();
        });
    }

    [[nodiscard]] std::optional<BreakerFleetState> acquire_probe(std::uint64_t generation, Duration lease) override {
        return answer([&] {
            auto s = state_locked();
            const auto now = clock_.now();
            if (s.open && s.generation == generation && s.open_for >= s.recovery_timeout &&
                (!lease_until_ || now >= *lease_until_)) {
                lease_until_ = now + lease;
                ++grants_;
                s.probe_granted = true;
            }
            return s;
        });
    }

    [[nodiscard]] std::optional<BreakerFleetState> publish_closed(std::uint64_t generation) override {
        return answer([&] {
            if (open_ && generation_ == generation) {
                open_ = false;
                lease_until_.reset();
            }
            return state_locked();
        });
    }

    /// While false, every call answers nothing (counted in `unanswered()`); the record stays.
    void set_available(bool available) {
        std::lock_guard lock(mutex_);
        available_ = available;
    }

    /// Runs before each call is answered, outside the store's lock, on the caller's thread.
    /// Set it before the breakers run.
    void before_call(std::function<void()> hook) {
        std::lock_guard lock(mutex_);
        before_ = std::move(hook);
    }

    /// The state on record, without counting a call.
    [[nodiscard]] BreakerFleetState peek() const {
        std::lock_guard lock(mutex_);
        return state_locked();
    }

    /// Calls answered.
    [[nodiscard]] std::uint64_t calls() const {
        std::lock_guard lock(mutex_);
        return calls_;
    }

    /// Calls answered with nothing because the store was unavailable.
    [[nodiscard]] std::uint64_t unanswered() const {
        std::lock_guard lock(mutex_);
        return unanswered_;
    }

    /// Probe leases granted.
    [[nodiscard]] std::uint64_t grants() const {
        std::lock_guard lock(mutex_);
        return grants_;
    }

private:
    template <class Change>
    std::optional<BreakerFleetState> answer(Change&& change) {
        std::function<void()> before;
        {
            std::lock_guard lock(mutex_);
            before = before_;
        }
        if (before) before();
        std::lock_guard lock(mutex_);
        if (!available_) {
            ++unanswered_;
            return std::nullopt;
        }
        ++calls_;
        return std::forward<Change>(change)();
    }

    [[nodiscard]] BreakerFleetState state_locked() const {
        BreakerFleetState s;
        if (!open_) return s;
        s.open = true;
        s.generation = generation_;
        s.open_for = clock_.now() - opened_at_;
        s.recovery_timeout = recovery_;
        return s;
    }

    AnyClock clock_;
    mutable std::mutex mutex_;
    bool available_ = true;
    std::function<void()> before_;
    bool open_ = false;
    std::uint64_t generation_ = 0;
    TimePoint opened_at_{};
    Duration recovery_{};
    std::optional<TimePoint> lease_until_;
    std::uint64_t calls_ = 0;
    std::uint64_t unanswered_ = 0;
    std::uint64_t grants_ = 0;
};

}  // namespace redress::testing
