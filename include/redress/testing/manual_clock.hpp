// ManualClock: virtual time for deterministic tests.
#pragma once

#include <atomic>
#include <memory>

#include <redress/clock.hpp>

namespace redress::testing {

/// A clock that moves only when told to. Satisfies `redress::Clock` and produces
/// `std::chrono::steady_clock` time points, so it can replace the real clock anywhere.
/// Copies share one time line (a handle), so one clock can drive a policy, a breaker, a
/// budget and a sleeper together. Thread-safe: reads and advances are atomic.
class ManualClock {
public:
    /// Starts at an arbitrary fixed point far from the epoch, so `now() - d` never underflows.
    explicit ManualClock(TimePoint start = TimePoint{} + std::chrono::hours(24 * 365))
        : ns_(std::make_shared<std::atomic<Duration::rep>>(start.time_since_epoch().count())) {}

    /// The current virtual time. Lock-free.
    [[nodiscard]] TimePoint now() const noexcept {
        return TimePoint{Duration{ns_->load(std::memory_order_acquire)}};
    }

    /// Moves time forward by `d` (negative values are ignored: the clock is monotonic),
    /// stopping at `TimePoint::max()` rather than overflowing.
    void advance(Duration d) const noexcept {
        if (d <= Duration::zero()) return;
        auto cur = ns_->load(std::memory_order_acquire);
        for (;;) {
            const auto next = cur > Duration::max().count() - d.count() ? Duration::max().count() : cur + d.count();
            if (next == cur || ns_->compare_exchange_weak(cur, next, std::memory_order_acq_rel)) return;
        }
    }

    /// Moves time forward to `t`; earlier points are ignored.
    void advance_to(TimePoint t) const noexcept {
        auto cur = ns_->load(std::memory_order_acquire);
        const auto target = t.time_since_epoch().count();
        while (cur < target && !ns_->compare_exchange_weak(cur, target, std::memory_order_acq_rel)) {
        }
    }

private:
    std::shared_ptr<std::atomic<Duration::rep>> ns_;
};

/// A sleeper that waits in virtual time: each call advances `clock` by the requested
/// duration and returns at once. Pass it as the `sleeper` option.
class AdvancingSleeper {
public:
    /// Advances `clock` (a handle: the caller's copy sees the time move).
    explicit AdvancingSleeper(ManualClock clock) : clock_(std::move(clock)) {}
    /// Advances the clock by `d` (a negative `d` does nothing) and returns at once.
    void operator()(Duration d) const noexcept { clock_.advance(d); }

private:
    ManualClock clock_;
};

}  // namespace redress::testing
