// The few numeric helpers the strategies need, without <cmath> and <algorithm>: with C++17's
// special functions and C++20's ranges, those two are among the costliest standard headers
// to parse, and every translation unit that includes <redress/redress.hpp> would pay for them.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

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

/// `x` raised to the integral `e` (0 <= e <= 4096), equal to `pow(x, e)`. A power of two is
/// built from its bits: the backoff strategies' multiplier 2 then costs no libm call on each
/// failure (3 % of the storm simulator's time went to `pow`).
[[nodiscard]] inline double pow_int(double x, int e) noexcept {
    if (x == 2.0 && e >= 0 && e <= 1023) return std::bit_cast<double>(static_cast<std::uint64_t>(1023 + e) << 52);
    return pow(x, static_cast<double>(e));
}

/// `std::llround(double)`: to the nearest integer, halfway cases away from zero.
[[nodiscard]] inline long long llround(double x) noexcept {
#if defined(__GNUC__)
    return __builtin_llround(x);
#else
    return std::llround(x);
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

/// `std::nth_element(first, first + k, first + n)` for a few hundred values: the `k`-th
/// smallest of `v[0..n)` is left at `v[k]` (`k < n`), the smaller ones before it and the
/// larger ones after it (Hoare's selection, middle pivot).
template <class T>
constexpr void select_nth(T* v, std::size_t k, std::size_t n) noexcept {
    std::size_t lo = 0;
    std::size_t hi = n - 1;
    while (lo < hi) {
        const T pivot = v[lo + (hi - lo) / 2];
        std::size_t i = lo;
        std::size_t j = hi;
        while (i <= j) {
            while (v[i] < pivot) ++i;
            while (pivot < v[j]) --j;
            if (i <= j) {
                const T t = v[i];
                v[i] = v[j];
                v[j] = t;
                ++i;
                if (j == 0) break;
                --j;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return;
    }
}

}  // namespace redress::detail
