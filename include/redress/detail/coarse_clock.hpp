// The kernel's coarse monotonic clock: a cheaper time source for shared state whose decisions
// only need tick precision (Budget, issue 8).
#pragma once

#include <chrono>

#include <redress/clock.hpp>

#if defined(__linux__)
#include <time.h>  // clock_gettime, CLOCK_MONOTONIC_COARSE (POSIX/Linux, part of the C library)
#endif

namespace redress::detail {

/// `CLOCK_MONOTONIC_COARSE` on Linux: the monotonic time of the last timer tick, read from
/// the vDSO without a hardware counter. About a third of the cost of
/// `std::chrono::steady_clock::now()` (10 ns against 31 ns on the reference VM), at the price
/// of lagging real time by up to a tick (1-10 ms, `clock_getres`).
///
/// Readings share `steady_clock`'s epoch on Linux (both count CLOCK_MONOTONIC time), but the
/// library never mixes them: a component reads one clock or the other for its whole life.
struct CoarseClock {
#if defined(__linux__) && defined(CLOCK_MONOTONIC_COARSE)
    /// True when this platform has a coarse clock with a usable resolution.
    [[nodiscard]] static bool available() noexcept { return lag_bound() > Duration::zero(); }

    [[nodiscard]] static TimePoint now() noexcept {
        timespec ts{};
        (void)::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        return TimePoint{std::chrono::duration_cast<Duration>(std::chrono::seconds(ts.tv_sec)) + Duration(ts.tv_nsec)};
    }

    /// How far behind real time a reading may be, with a margin: four ticks, and at least
    /// 10 ms. The kernel moves the coarse clock on every tick while any CPU is busy, so a
    /// reading lags by at most one tick plus interrupt latency; the margin covers a late tick
    /// (a virtual CPU descheduled by its host). Zero when the clock is unusable: no resolution
    /// reported, or one coarser than 100 ms.
    [[nodiscard]] static Duration lag_bound() noexcept {
        static const Duration lag = [] {
            timespec res{};
            if (::clock_getres(CLOCK_MONOTONIC_COARSE, &res) != 0) return Duration::zero();
            const auto tick = std::chrono::duration_cast<Duration>(std::chrono::seconds(res.tv_sec)) + Duration(res.tv_nsec);
            if (tick <= Duration::zero() || tick > std::chrono::milliseconds(100)) return Duration::zero();
            const Duration margin = 4 * tick;
            return margin < std::chrono::milliseconds(10) ? Duration(std::chrono::milliseconds(10)) : margin;
        }();
        return lag;
    }
#else
    [[nodiscard]] static bool available() noexcept { return false; }
    [[nodiscard]] static TimePoint now() noexcept { return std::chrono::steady_clock::now(); }
    [[nodiscard]] static Duration lag_bound() noexcept { return Duration::zero(); }
#endif
};

}  // namespace redress::detail
