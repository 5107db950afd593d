// Time vocabulary: every duration is a std::chrono duration, every clock reading a
// steady_clock time point, and every component that reads time takes an injectable clock.
#pragma once

#include <chrono>
#include <concepts>
#include <functional>
#include <type_traits>
#include <utility>

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

/// A type-erased clock for components shared across threads and policies (breakers,
/// budgets, adaptive strategies). Empty means `std::chrono::steady_clock`, read directly with
/// no indirect call; a custom clock costs one indirect call per read.
/// Thread-safe to read when the wrapped clock is.
class AnyClock {
public:
    AnyClock() = default;

    /// Wraps `clock` (copied); `std::chrono::steady_clock` itself is stored as empty, with no
    /// indirect call; any other clock is held in a `std::function` (which may allocate).
    template <Clock C>
        requires(!std::same_as<std::remove_cvref_t<C>, AnyClock>)
    AnyClock(C clock)  // NOLINT(google-explicit-constructor): a clock is a clock
        : now_(make_now(std::move(clock))) {}

    /// The wrapped clock's reading, or `std::chrono::steady_clock::now()` when empty.
    [[nodiscard]] TimePoint now() const {
        return now_ ? now_() : std::chrono::steady_clock::now();
    }

    /// True when this reads `std::chrono::steady_clock`.
    [[nodiscard]] bool is_steady() const noexcept { return !now_; }

private:
    template <class C>
    static std::function<TimePoint()> make_now(C clock) {
        if constexpr (std::same_as<C, std::chrono::steady_clock>) {
            return {};
        } else {
            return [c = std::move(clock)]() -> TimePoint { return c.now(); };
        }
    }

    std::function<TimePoint()> now_;
};

namespace detail {

/// Converts a possibly fractional or non-finite duration to `Duration`, saturating at the
/// representable range; NaN becomes zero.
template <class Rep, class Period>
[[nodiscard]] constexpr Duration saturate(std::chrono::duration<Rep, Period> d) noexcept {
    if constexpr (std::is_floating_point_v<Rep>) {
        const auto ns = std::chrono::duration<long double, std::nano>(d).count();
        if (!(ns == ns)) return Duration::zero();
        if (ns >= static_cast<long double>(Duration::max().count())) return Duration::max();
        if (ns <= static_cast<long double>(Duration::min().count())) return Duration::min();
        return Duration(static_cast<Duration::rep>(ns));
    } else {
        return std::chrono::duration_cast<Duration>(d);
    }
}

}  // namespace detail
}  // namespace redress
