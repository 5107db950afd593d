// Time vocabulary: every duration is a std::chrono duration, every clock reading a
// steady_clock time point, and every component that reads time takes an injectable clock.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <type_traits>
#include <utility>

#include <redress/detail/coarse_clock.hpp>

namespace redress {

/// The library's duration type. Any std::chrono duration with an integral count converts
/// implicitly (`30s`, `250ms`).
using Duration = std::chrono::nanoseconds;

/// The library's time point. Test clocks produce the same type, so a manual clock can stand
/// in for `std::chrono::steady_clock` anywhere.
using TimePoint = std::chrono::steady_clock::time_point;

/// A clock is anything with `now()` returning a `TimePoint` (as `std::chrono::steady_clock`
/// does). It must be monotonic; it is read from many threads at once when shared.
template <class C>
concept Clock = requires(const C& c) {
    { c.now() } -> std::convertible_to<TimePoint>;
};

/// The kernel's coarse monotonic clock (`CLOCK_MONOTONIC_COARSE` on Linux): the time of the
/// last timer tick, read without a hardware counter — about 10 ns against ~31 ns for
/// `std::chrono::steady_clock::now()` on the reference machine — at a resolution of one tick
/// (`resolution()`: 1–10 ms, 4 ms at 250 Hz). A policy given `.clock = redress::CoarseClock{}`
/// measures deadlines and `elapsed` to that resolution; `lint()` warns when a deadline or
/// attempt timeout is below it. Where the platform has no coarse clock, it reads
/// `std::chrono::steady_clock` and `resolution()` is 1 ns. Thread-safe; stateless.
struct CoarseClock {
    // A standard Clock (the members `std::chrono::is_clock_v` asks for), usable wherever the
    // standard wants one.
    using duration = Duration;          ///< Nanoseconds, as every redress duration.
    using rep = Duration::rep;          ///< `duration`'s count type.
    using period = Duration::period;    ///< `duration`'s period (1 ns).
    using time_point = TimePoint;       ///< A `steady_clock` time point: the same epoch.
    static constexpr bool is_steady = true;  ///< Readings never go backwards.

    /// The current reading (a `steady_clock` time point on the same epoch on Linux).
    [[nodiscard]] static TimePoint now() noexcept { return detail::CoarseClock::now(); }
    /// The tick: readings move in steps of this much.
    [[nodiscard]] static Duration resolution() noexcept {
        const Duration tick = detail::CoarseClock::tick();
        return tick > Duration::zero() ? tick : Duration(1);
    }
};

/// A type-erased clock for components shared across threads and policies (breakers,
/// budgets, adaptive strategies, the policy itself). `std::chrono::steady_clock` (the default)
/// and `CoarseClock` are read directly, with no indirect call; any other clock is held in a
/// `std::function` and costs one indirect call per read. Thread-safe to read when the wrapped
/// clock is.
class AnyClock {
public:
    AnyClock() = default;

    /// Wraps `clock` (copied); `std::chrono::steady_clock` and `CoarseClock` are stored as a
    /// tag, any other clock in a `std::function` (which may allocate).
    template <Clock C>
        requires(!std::same_as<std::remove_cvref_t<C>, AnyClock>)
    AnyClock(C clock)  // NOLINT(google-explicit-constructor): a clock is a clock
    {
        if constexpr (std::same_as<C, std::chrono::steady_clock>) {
            (void)clock;
        } else if constexpr (std::same_as<C, CoarseClock>) {
            (void)clock;
            kind_ = Kind::Coarse;
        } else {
            kind_ = Kind::Custom;
            now_ = [c = std::move(clock)]() -> TimePoint { return c.now(); };
        }
    }

    /// The wrapped clock's reading.
    [[nodiscard]] TimePoint now() const {
        if (kind_ == Kind::Steady) [[likely]]
            return std::chrono::steady_clock::now();
        if (kind_ == Kind::Coarse) return CoarseClock::now();
        return now_();
    }

    /// True when this reads `std::chrono::steady_clock`.
    [[nodiscard]] bool is_steady() const noexcept { return kind_ == Kind::Steady; }
    /// True when this reads `CoarseClock`.
    [[nodiscard]] bool is_coarse() const noexcept { return kind_ == Kind::Coarse; }

private:
    enum class Kind : unsigned char { Steady, Coarse, Custom };
    Kind kind_ = Kind::Steady;
    std::function<TimePoint()> now_;
};

namespace detail {

/// `v > bound`, exact for any integer type (signed or not, narrower or wider than 64 bits).
template <class T>
[[nodiscard]] constexpr bool greater_than(T v, std::int64_t bound) noexcept {
    if constexpr (std::is_signed_v<T>) {
        if constexpr (sizeof(T) >= sizeof(std::int64_t)) return v > static_cast<T>(bound);
        else return static_cast<std::int64_t>(v) > bound;
    } else {
        if (bound < 0) return true;
        if constexpr (sizeof(T) >= sizeof(std::uint64_t)) return v > static_cast<T>(bound);
        else return static_cast<std::uint64_t>(v) > static_cast<std::uint64_t>(bound);
    }
}

/// `v < bound`, exact for any integer type.
template <class T>
[[nodiscard]] constexpr bool less_than(T v, std::int64_t bound) noexcept {
    if constexpr (std::is_signed_v<T>) {
        if constexpr (sizeof(T) >= sizeof(std::int64_t)) return v < static_cast<T>(bound);
        else return static_cast<std::int64_t>(v) < bound;
    } else {
        if (bound <= 0) return false;
        if constexpr (sizeof(T) >= sizeof(std::uint64_t)) return v < static_cast<T>(bound);
        else return static_cast<std::uint64_t>(v) < static_cast<std::uint64_t>(bound);
    }
}

/// Converts any duration to `Duration`: exact (truncated towards zero, as `duration_cast`)
/// when the value fits, saturating at `Duration::max()` / `Duration::min()` when it does not
/// (`hours::max()`, a huge `double`, ±infinity); NaN becomes zero. Never overflows, for every
/// rep (integral of any width and signedness, or floating) and every period.
template <class Rep, class Period>
[[nodiscard]] constexpr Duration saturate(std::chrono::duration<Rep, Period> d) noexcept {
    constexpr std::int64_t max = Duration::max().count();
    constexpr std::int64_t min = Duration::min().count();
    if constexpr (std::is_floating_point_v<Rep>) {
        const auto ns = std::chrono::duration<long double, std::nano>(d).count();
        if (!(ns == ns)) return Duration::zero();
        if (ns >= static_cast<long double>(max)) return Duration::max();
        if (ns <= static_cast<long double>(min)) return Duration::min();
        return Duration(static_cast<Duration::rep>(ns));
    } else {
        // Nanoseconds = count * num / den.
        using R = std::ratio_divide<Period, std::nano>;
        constexpr std::int64_t num = R::num;
        constexpr std::int64_t den = R::den;
        // In a type at least 64 bits wide with the rep's signedness: den always fits.
        using W = std::conditional_t<(sizeof(Rep) > sizeof(std::int64_t)), Rep,
                                     std::conditional_t<std::is_signed_v<Rep>, std::int64_t, std::uint64_t>>;
        const W c = static_cast<W>(d.count());
        // count = q * den + r (r takes the sign of count), so the result is q * num + r * num / den.
        const W q = c / static_cast<W>(den);
        const W r = c % static_cast<W>(den);
        if (greater_than(q, max / num)) return Duration::max();
        if (less_than(q, min / num)) return Duration::min();
        const std::int64_t whole = static_cast<std::int64_t>(q) * num;  // in range: |q| <= |limit| / num
        std::int64_t part = 0;
        if constexpr (den != 1) {
            // |r| < den and num = na * den + nb, so r * num / den = r * na + r * nb / den with
            // no overflow while nb <= max / den (every period but the most exotic ones).
            constexpr std::int64_t na = num / den;
            constexpr std::int64_t nb = num % den;
            const auto rr = static_cast<std::int64_t>(r);
            if constexpr (nb <= max / den) {
                part = rr * na + rr * nb / den;
            } else {
                part = rr * na + static_cast<std::int64_t>(static_cast<long double>(rr) * nb / den);
            }
        }
        if (whole > 0 && part > max - whole) return Duration::max();
        if (whole < 0 && part < min - whole) return Duration::min();
        return Duration(whole + part);
    }
}

}  // namespace detail
}  // namespace redress
