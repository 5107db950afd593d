// The kernel's coarse monotonic clock: a cheaper time source for shared state whose decisions
// only need tick precision (Budget).
#pragma once

#include <chrono>
#include <cstdint>

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
    using time_point = std::chrono::steady_clock::time_point;
    using duration = std::chrono::nanoseconds;

    /// `sec` seconds plus `nsec` nanoseconds as a time point, saturating at the time point's
    /// range (a `timespec` can hold ~292 billion years; nanoseconds ~292 years).
    [[nodiscard]] static constexpr time_point from_timespec(std::int64_t sec, std::int64_t nsec) noexcept {
        constexpr std::int64_t giga = 1'000'000'000;
        constexpr std::int64_t max = duration::max().count();
        constexpr std::int64_t min = duration::min().count();
        constexpr std::int64_t top = max / giga;  // max = top * giga + max % giga
        if (static_cast<std::uint64_t>(sec) < static_cast<std::uint64_t>(top) &&
            static_cast<std::uint64_t>(nsec) < static_cast<std::uint64_t>(giga))
            return time_point{duration(sec * giga + nsec)};
        constexpr std::int64_t far = std::int64_t{1} << 62;
        if (sec > far) return time_point::max();
        if (sec < -far) return time_point::min();
        // The value is s * giga + n with 0 <= n < giga.
        std::int64_t s = sec + nsec / giga;
        std::int64_t n = nsec % giga;
        if (n < 0) {
            n += giga;
            --s;
        }
        constexpr std::int64_t bottom = min / giga - 1;  // min = bottom * giga + bottom_n
        constexpr std::int64_t bottom_n = (min - (bottom + 1) * giga) + giga;
        if (s > top || (s == top && n > max % giga)) return time_point::max();
        if (s < bottom || (s == bottom && n < bottom_n)) return time_point::min();
        return time_point{duration(s >= 0 ? s * giga + n : (s + 1) * giga + (n - giga))};
    }

    /// A monotonic reading as the kernel gives it: `0 <= nsec < 1e9` and `0 <= sec` below
    /// 292 years, since the clock counts from boot. Exact, with no check: `now()` is on the
    /// budget's admission path, where `from_timespec`'s range checks cost 5 instructions.
    [[nodiscard]] static constexpr time_point from_reading(std::int64_t sec, std::int64_t nsec) noexcept {
        return time_point{duration(sec * 1'000'000'000 + nsec)};
    }

#if defined(__linux__) && defined(CLOCK_MONOTONIC_COARSE)
    /// True when this platform has a coarse clock with a usable resolution.
    [[nodiscard]] static bool available() noexcept { return lag_bound() > duration::zero(); }

    [[nodiscard]] static time_point now() noexcept {
        timespec ts{};
        (void)::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        return from_reading(ts.tv_sec, ts.tv_nsec);
    }

    /// The clock's tick (`clock_getres`): how far apart two distinct readings are at least.
    /// Zero when the clock is unusable (see `lag_bound`).
    [[nodiscard]] static duration tick() noexcept {
        static const duration t = [] {
            timespec res{};
            if (::clock_getres(CLOCK_MONOTONIC_COARSE, &res) != 0) return duration::zero();
            const duration d = from_timespec(res.tv_sec, res.tv_nsec).time_since_epoch();
            return d > duration::zero() && d <= std::chrono::milliseconds(100) ? d : duration::zero();
        }();
        return t;
    }

    /// How far behind real time a reading may be, with a margin: four ticks, and at least
    /// 10 ms. The kernel moves the coarse clock on every tick while any CPU is busy, so a
    /// reading lags by at most one tick plus interrupt latency; the margin covers a late tick
    /// (a virtual CPU descheduled by its host). Zero when the clock is unusable: no resolution
    /// reported, or one coarser than 100 ms.
    [[nodiscard]] static duration lag_bound() noexcept {
        static const duration lag = [] {
            timespec res{};
            if (::clock_getres(CLOCK_MONOTONIC_COARSE, &res) != 0) return duration::zero();
            const duration tick = from_timespec(res.tv_sec, res.tv_nsec).time_since_epoch();
            if (tick <= duration::zero() || tick > std::chrono::milliseconds(100)) return duration::zero();
            const duration margin = 4 * tick;
            return margin < std::chrono::milliseconds(10) ? duration(std::chrono::milliseconds(10)) : margin;
        }();
        return lag;
    }
#else
    [[nodiscard]] static bool available() noexcept { return false; }
    [[nodiscard]] static time_point now() noexcept { return std::chrono::steady_clock::now(); }
    [[nodiscard]] static duration lag_bound() noexcept { return duration::zero(); }
    [[nodiscard]] static duration tick() noexcept { return duration::zero(); }
#endif
};

}  // namespace redress::detail
