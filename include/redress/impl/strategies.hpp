// <redress/impl/strategies.hpp>: the definitions <redress/strategies.hpp> declares.
// Included at the end of that header, or once, by <redress/impl/src.hpp> under separate
// compilation (detail/attributes.hpp says which definitions live here).
#pragma once

#include <redress/strategies.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>

#include <redress/detail/attributes.hpp>

namespace redress {

namespace detail {

REDRESS_DECL double capped_growth(Duration base, double factor, int exponent, Duration max) noexcept {
    if (base <= Duration::zero()) return 0.0;
    const int e = exponent < 0 ? 0 : (exponent > 4096 ? 4096 : exponent);
    const double grown = ns(base) * detail::pow_int(factor, e);
    return grown < ns(max) ? grown : ns(max);
}

/// The failure of a jitter's `{base, max}` options: a negative `base`, else `max < base`.
[[noreturn]] REDRESS_DECL void reject_base_max(std::string_view component, Duration base) {
    require_option(base >= Duration::zero(), component, "base", "must be >= 0");
    invalid_option(component, "max", "must be >= base");  // the one left: it fails
}

}  // namespace detail

// ---- the catalogue -----------------------------------------------------------------------
// Each constructor checks its options inline (it is constexpr) and calls `reject` only when
// one is invalid: `reject` runs the checks in order and throws for the first that fails (the
// last one when the others pass).

REDRESS_DECL void DecorrelatedJitter::reject(const DecorrelatedJitterOptions& options) {
    detail::reject_base_max("decorrelated_jitter", options.base);
}

REDRESS_DECL Duration DecorrelatedJitter::operator()(const BackoffContext& ctx) const noexcept {
    const double base = detail::ns(options_.base);
    const double prev = ctx.prev_sleep ? detail::max_of(detail::ns(*ctx.prev_sleep), base) : base;
    return detail::min_of(detail::uniform_ns(base, 3.0 * prev), options_.max);
}

REDRESS_DECL void EqualJitter::reject(const EqualJitterOptions& options) {
    detail::reject_base_max("equal_jitter", options.base);
}

REDRESS_DECL Duration EqualJitter::operator()(const BackoffContext& ctx) const noexcept {
    const double cap = detail::capped_growth(options_.base, 2.0, detail::attempt_of(ctx), options_.max);
    return detail::uniform_ns(cap / 2.0, cap);
}

REDRESS_DECL void TokenBackoff::reject(const TokenBackoffOptions& options) {
    detail::reject_base_max("token_backoff", options.base);
}

REDRESS_DECL Duration TokenBackoff::operator()(const BackoffContext& ctx) const noexcept {
    const double cap = detail::capped_growth(options_.base, 1.5, detail::attempt_of(ctx), options_.max);
    return detail::uniform_ns(cap / 2.0, cap);
}

REDRESS_DECL void FullJitter::reject(const FullJitterOptions& options) {
    detail::reject_base_max("full_jitter", options.base);
}

REDRESS_DECL Duration FullJitter::operator()(const BackoffContext& ctx) const noexcept {
    const double cap = detail::capped_growth(options_.base, 2.0, detail::attempt_of(ctx), options_.max);
    return detail::uniform_ns(0.0, cap);
}

REDRESS_DECL void Exponential::reject(const ExponentialOptions& options) {
    detail::require_option(options.base >= Duration::zero(), "exponential", "base", "must be >= 0");
    detail::require_option(options.max >= options.base, "exponential", "max", "must be >= base");
    detail::invalid_option("exponential", "multiplier", "must be finite and >= 1");  // the one left: it fails
}

REDRESS_DECL Duration Exponential::operator()(const BackoffContext& ctx) const noexcept {
    return detail::ns_to_duration(
        detail::capped_growth(options_.base, options_.multiplier, detail::attempt_of(ctx) - 1, options_.max));
}

REDRESS_DECL void Linear::reject(const LinearOptions& options) {
    detail::require_option(options.base >= Duration::zero(), "linear", "base", "must be >= 0");
    detail::require_option(options.step >= Duration::zero(), "linear", "step", "must be >= 0");
    detail::invalid_option("linear", "max", "must be >= base");  // the one left: it fails
}

REDRESS_DECL Duration Linear::operator()(const BackoffContext& ctx) const noexcept {
    return linear_sleep(detail::attempt_of(ctx));
}

// ---- adaptive ----------------------------------------------------------------------------

namespace detail {

REDRESS_DECL AdaptiveState::AdaptiveState(const AdaptiveOptions& o)
    : clock_(o.clock),
      origin_(clock_.now()),
      width_(static_cast<std::uint64_t>(
          detail::max_of(Duration(1), o.window / static_cast<Duration::rep>(bucket_count)).count())),
      threshold_(1.0 - o.target_success),
      min_(o.min_multiplier),
      max_(o.max_multiplier) {}

REDRESS_DECL std::optional<double> AdaptiveState::failure_rate() const noexcept {
    const std::uint64_t e = current_bucket();
    std::uint64_t successes = 0;
    std::uint64_t failures = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
        const std::uint64_t slot = buckets_[i].load(std::memory_order_acquire);
        const std::uint64_t word = counts_[i].load(std::memory_order_acquire);
        if (slot == 0 || slot > e + 1 || e + 1 - slot >= bucket_count) continue;  // unused, or outside the window
        if (tag_of(word) != static_cast<std::uint32_t>(slot - 1)) continue;    // claimed for a later bucket
        successes += (word >> 16U) & 0xFFFFU;
        failures += word & 0xFFFFU;
    }
    if (successes + failures == 0) return std::nullopt;
    return static_cast<double>(failures) / static_cast<double>(successes + failures);
}

REDRESS_DECL double AdaptiveState::multiplier() const noexcept {
    const auto rate = failure_rate();
    if (!rate || *rate <= threshold_) return min_;
    return min_ + (max_ - min_) * (*rate - threshold_) / (1.0 - threshold_);
}

}  // namespace detail

}  // namespace redress
