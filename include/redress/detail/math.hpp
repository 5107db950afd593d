// The few numeric helpers the strategies need, without <cmath> and <algorithm>: with C++17's
// special functions and C++20's ranges, those two are among the costliest standard headers
// to parse, and every translation unit that includes <redress/redress.hpp> would pay for them.
#pragma once

#if !defined(__GNUC__)
#include <cmath>
#endif

namespace redress::detail {

/// `x` raised to `y`, as `std::pow(double, double)` computes it.
[[nodiscard]] inline double pow(double x, double y) noexcept {
#if defined(__GNUC__)
    return __builtin_pow(x, y);
#else
    return std::pow(x, y);
#endif
}

/// `std::isfinite`: false for NaN and ±infinity.
template <class F>
[[nodiscard]] constexpr bool is_finite(F x) noexcept {
#if defined(__GNUC__)
    return __builtin_isfinite(x);
#else
    return std::isfinite(x);
#endif
}

/// `std::min`: the first argument when the two are equivalent.
template <class T>
[[nodiscard]] constexpr const T& min_of(const T& a, const T& b) noexcept {
    return b < a ? b : a;
}

/// `std::max`: the first argument when the two are equivalent.
template <class T>
[[nodiscard]] constexpr const T& max_of(const T& a, const T& b) noexcept {
    return a < b ? b : a;
}

}  // namespace redress::detail
