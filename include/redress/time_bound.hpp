// TimeBound: an upper bound on a time, which may be infinite. The unit of a policy's worst
// case (<redress/envelope.hpp>) and of a strategy's bound on one sleep (`sleep_bound`).
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>

#include <redress/clock.hpp>

namespace redress {

/// An upper bound on a time: a non-negative `Duration`, or infinite. Infinity is explicit,
/// never a saturated `Duration::max()` standing in for it, and compares above every duration:
/// `static_assert(bound <= 2s)` fails for an infinite bound. Arithmetic never overflows: a sum
/// or multiple beyond `Duration::max()` (292 years) is infinite. A literal type: every member
/// is `constexpr`; thread-safe as any value; no allocation.
class TimeBound {
public:
    /// Zero.
    constexpr TimeBound() noexcept = default;
    /// The bound `d`, any `std::chrono` duration, converted with saturation; a
    /// negative `d` counts as zero: no time is shorter than none. Implicit, so a duration is a
    /// finite bound wherever one is expected.
    template <class Rep, class Period>
    constexpr TimeBound(std::chrono::duration<Rep, Period> d) noexcept  // NOLINT(google-explicit-constructor)
        : value_(nonnegative(detail::saturate(d))) {}

    /// No finite bound.
    [[nodiscard]] static constexpr TimeBound infinite() noexcept {
        TimeBound b;
        b.infinite_ = true;
        return b;
    }

    /// True when there is no finite bound.
    [[nodiscard]] constexpr bool is_infinite() const noexcept { return infinite_; }
    /// True when the bound is a duration.
    [[nodiscard]] constexpr bool is_finite() const noexcept { return !infinite_; }
    /// The bound as a duration when finite, else `fallback`.
    [[nodiscard]] constexpr Duration value_or(Duration fallback) const noexcept { return infinite_ ? fallback : value_; }
    /// The bound as a duration; `Duration::max()` for an infinite one (test `is_infinite()`
    /// first where the difference matters).
    [[nodiscard]] constexpr Duration saturated() const noexcept { return infinite_ ? Duration::max() : value_; }

    friend constexpr bool operator==(const TimeBound&, const TimeBound&) noexcept = default;
    /// Infinite bounds are equal to each other and greater than every finite one.
    friend constexpr std::strong_ordering operator<=>(TimeBound a, TimeBound b) noexcept {
        if (a.infinite_ || b.infinite_) return a.infinite_ <=> b.infinite_;
        return a.value_ <=> b.value_;
    }
    // Against any duration directly (`bound <= 2s`), compared in nanoseconds, saturated.
    template <class Rep, class Period>
    friend constexpr bool operator==(TimeBound a, std::chrono::duration<Rep, Period> d) noexcept {
        return !a.infinite_ && a.value_ == detail::saturate(d);
    }
    template <class Rep, class Period>
    friend constexpr std::strong_ordering operator<=>(TimeBound a, std::chrono::duration<Rep, Period> d) noexcept {
        if (a.infinite_) return std::strong_ordering::greater;
        return a.value_ <=> detail::saturate(d);
    }

    /// The sum; infinite when either is, or when it exceeds `Duration::max()`.
    friend constexpr TimeBound operator+(TimeBound a, TimeBound b) noexcept {
        if (a.infinite_ || b.infinite_ || a.value_ > Duration::max() - b.value_) return infinite();
        return TimeBound(a.value_ + b.value_);
    }
    /// `n` times the bound, `n` >= 0 (a negative `n` counts as 0). Zero times anything,
    /// infinity included, is zero: no attempt takes no time. Infinite beyond `Duration::max()`.
    friend constexpr TimeBound operator*(TimeBound a, std::int64_t n) noexcept {
        if (n <= 0) return TimeBound();
        if (a.infinite_ || a.value_.count() > Duration::max().count() / n) return infinite();
        return TimeBound(Duration(a.value_.count() * n));
    }
    friend constexpr TimeBound operator*(std::int64_t n, TimeBound a) noexcept { return a * n; }

private:
    static constexpr Duration nonnegative(Duration d) noexcept { return d < Duration::zero() ? Duration::zero() : d; }

    Duration value_{};       ///< zero when infinite, so that `==` can be defaulted
    bool infinite_ = false;
};

}  // namespace redress
