// Backoff strategies (see docs/strategies.md): the Strategy concept, the type-erased
// AnyStrategy, the adaptive notification protocol, and the built-in catalogue.
//
// Every built-in strategy is an immutable value: calling it reads only its options, the
// context and the calling thread's random engine (`redress::seed_random`), so one instance
// may be called from any number of threads at once without a lock. `adaptive` keeps shared,
// lock-free state (atomics) that all of its copies see.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <redress/backoff_context.hpp>
#include <redress/clock.hpp>
#include <redress/detail/attributes.hpp>
#include <redress/detail/math.hpp>
#include <redress/detail/random.hpp>
#include <redress/error_class.hpp>
#include <redress/errors.hpp>
#include <redress/time_bound.hpp>

namespace redress {

// ---- the concept ----------------------------------------------------------------------

namespace detail {

template <class T>
struct IsChronoDuration : std::false_type {};
template <class Rep, class Period>
struct IsChronoDuration<std::chrono::duration<Rep, Period>> : std::true_type {};

/// A strategy's return value: any `std::chrono::duration` (integral or floating rep), or a
/// type that converts to `Duration`.
template <class R>
concept SleepValue = IsChronoDuration<std::remove_cvref_t<R>>::value || std::convertible_to<R, Duration>;

}  // namespace detail

/// A strategy in the context form: `Duration(const BackoffContext&)`.
template <class S>
concept ContextStrategy = std::invocable<const S&, const BackoffContext&> &&
                          detail::SleepValue<std::invoke_result_t<const S&, const BackoffContext&>>;

/// A strategy in the legacy form: `Duration(int attempt, ErrorClass, std::optional<Duration> prev_sleep)`.
template <class S>
concept LegacyStrategy = std::invocable<const S&, int, ErrorClass, std::optional<Duration>> &&
                         detail::SleepValue<std::invoke_result_t<const S&, int, ErrorClass, std::optional<Duration>>>;

/// A backoff strategy: callable through a const reference in the context form or the legacy
/// form, returning any `std::chrono::duration`. The context form wins when both apply.
template <class S>
concept Strategy = ContextStrategy<S> || LegacyStrategy<S>;

/// Compiles when `S` is a strategy and fails with one readable line otherwise. Use it as
/// `static_assert(assert_strategy<S>());`: it returns true, so a failure reports only the
/// message below.
template <class S>
consteval bool assert_strategy() {
    static_assert(Strategy<S>,
                  "redress: a strategy must be callable as Duration(const BackoffContext&) or as "
                  "Duration(int attempt, ErrorClass, std::optional<Duration> prev_sleep)");
    return true;
}

/// `assert_strategy<S>()` as a variable, for use in `static_assert` and `requires` chains.
template <class S>
inline constexpr bool strategy_check = assert_strategy<S>();

namespace detail {

/// A strategy's raw answer made a sleep: non-finite (NaN, ±inf) gives zero, negative gives
/// zero, too large saturates.
template <class R>
[[nodiscard]] constexpr Duration to_sleep(const R& value) noexcept {
    Duration d{};
    if constexpr (IsChronoDuration<std::remove_cvref_t<R>>::value) {
        if constexpr (std::is_floating_point_v<typename std::remove_cvref_t<R>::rep>) {
            if (!detail::is_finite(value.count())) return Duration::zero();
        }
        d = detail::saturate(value);
    } else {
        d = Duration(value);
    }
    return d < Duration::zero() ? Duration::zero() : d;
}

}  // namespace detail

/// Calls `s` in whichever form it accepts and returns a finite, non-negative `Duration`
/// (non-finite answers give zero, negative answers zero, huge answers saturate). Clamping
/// to the time remaining is the caller's job.
template <class S>
[[nodiscard]] Duration invoke_strategy(const S& s, const BackoffContext& ctx) {
    static_assert(assert_strategy<S>());
    if constexpr (ContextStrategy<S>) {
        return detail::to_sleep(std::invoke(s, ctx));
    } else if constexpr (LegacyStrategy<S>) {
        return detail::to_sleep(std::invoke(s, ctx.attempt, ctx.klass(), ctx.prev_sleep));
    } else {
        return Duration::zero();
    }
}

// ---- adaptive notifications ------------------------------------------------------------

/// Tells a strategy that an operation succeeded: calls `s.on_success()` when it has one,
/// does nothing otherwise. The attempt loop calls it on every success.
template <class S>
void notify_success(const S& s) {
    if constexpr (requires { s.on_success(); }) s.on_success();
}

/// Tells a strategy that an attempt failed and will be retried: calls `s.on_failure()` when
/// it has one, does nothing otherwise. The attempt loop calls it after computing the sleep.
template <class S>
void notify_failure(const S& s) {
    if constexpr (requires { s.on_failure(); }) s.on_failure();
}

// ---- bounds ------------------------------------------------------------------------------

/// A strategy that states an upper bound on its sleeps: a const member
/// `sleep_bound(int retry, TimeBound prev) -> TimeBound` answering, for the retry after attempt
/// `retry` (1 for the first) when the previous sleep was at most `prev` (zero on the first
/// retry), a bound no sleep it returns exceeds. The bound must not decrease as `retry` or `prev`
/// grows. Every built-in strategy has one (`constexpr` where the strategy is a literal type);
/// `redress::envelope` reads it.
template <class S>
concept BoundedStrategy = requires(const S& s, int retry, TimeBound prev) {
    { s.sleep_bound(retry, prev) } -> std::convertible_to<TimeBound>;
};

/// An upper bound on the sleep `s` answers before the retry after attempt `retry`, when the
/// previous sleep was at most `prev`: the strategy's own `sleep_bound`, or infinite for a
/// strategy that states none (a lambda, a legacy-form function).
template <class S>
[[nodiscard]] constexpr TimeBound sleep_bound(const S& s, int retry, TimeBound prev = {}) {
    if constexpr (BoundedStrategy<S>) {
        return TimeBound(s.sleep_bound(retry, prev));
    } else {
        (void)s;
        (void)retry;
        (void)prev;
        return TimeBound::infinite();
    }
}

// ---- type erasure ----------------------------------------------------------------------

/// Any strategy behind one type, for per-class tables and shared configuration. Copies
/// share the wrapped strategy (a reference count); calls are const and as thread-safe as
/// the wrapped strategy (every built-in is). Cost: one indirect call per use. Forwards
/// `on_success` / `on_failure`. Calling an empty one throws `std::bad_function_call`.
class AnyStrategy {
public:
    AnyStrategy() = default;

    /// Wraps any strategy; anything that is not one fails with the `assert_strategy` message.
    template <class S>
        requires(!std::same_as<std::decay_t<S>, AnyStrategy> &&
                 (std::is_class_v<std::decay_t<S>> || std::is_pointer_v<std::decay_t<S>>))
    AnyStrategy(S&& strategy)  // NOLINT(google-explicit-constructor): a strategy is a strategy
    {
        using D = std::decay_t<S>;
        static_assert(assert_strategy<D>());
        if constexpr (Strategy<D>) impl_ = std::make_shared<const Model<D>>(std::forward<S>(strategy));
    }

    /// The wrapped strategy's sleep for `ctx`, made finite and non-negative.
    /// Throws `std::bad_function_call` when empty.
    [[nodiscard]] Duration operator()(const BackoffContext& ctx) const {
        if (!impl_) throw std::bad_function_call();
        return impl_->call(ctx);
    }

    /// Forwards a success to the wrapped strategy (`notify_success`); no-op when empty.
    void on_success() const {
        if (impl_) impl_->on_success();
    }
    /// Forwards a failure to the wrapped strategy (`notify_failure`); no-op when empty.
    void on_failure() const {
        if (impl_) impl_->on_failure();
    }

    /// The wrapped strategy's `sleep_bound` (infinite when it states none, or when empty).
    [[nodiscard]] TimeBound sleep_bound(int retry, TimeBound prev) const {
        return impl_ ? impl_->bound(retry, prev) : TimeBound::infinite();
    }

    /// True when a strategy is held.
    explicit operator bool() const noexcept { return impl_ != nullptr; }

private:
    struct Base {
        virtual ~Base() = default;
        virtual Duration call(const BackoffContext& ctx) const = 0;
        virtual void on_success() const = 0;
        virtual void on_failure() const = 0;
        virtual TimeBound bound(int retry, TimeBound prev) const = 0;
    };
    template <class S>
    struct Model final : Base {
        template <class U>
        explicit Model(U&& u) : s(std::forward<U>(u)) {}
        Duration call(const BackoffContext& ctx) const override { return invoke_strategy(s, ctx); }
        void on_success() const override { notify_success(s); }
        void on_failure() const override { notify_failure(s); }
        TimeBound bound(int retry, TimeBound prev) const override { return redress::sleep_bound(s, retry, prev); }
        S s;
    };

    std::shared_ptr<const Base> impl_;
};

// ---- the catalogue -----------------------------------------------------------------------

namespace detail {

/// Throws `InvalidOption` for `option` of the strategy `component` unless `ok`.
constexpr void require_option(bool ok, std::string_view component, std::string_view option, std::string_view rule) {
    if (!ok) invalid_option(component, option, rule);
}

[[nodiscard]] constexpr double ns(Duration d) noexcept { return static_cast<double>(d.count()); }

/// The attempt a strategy computes with: `ctx.attempt`, or 1 when it is below 1 (the first
/// retry), so a wrong attempt number never overflows or grows a negative sleep.
[[nodiscard]] constexpr int attempt_of(const BackoffContext& ctx) noexcept { return ctx.attempt < 1 ? 1 : ctx.attempt; }
/// `attempt_of` for a bare retry number.
[[nodiscard]] constexpr int attempt_of_retry(int retry) noexcept { return retry < 1 ? 1 : retry; }

/// `base · factor^exponent`, capped at `max`, in nanoseconds, for `0 <= base <= max` and a
/// finite `factor >= 1`: finite, in [0, max], never NaN. A zero base is zero at any exponent
/// (0 · ∞ would be NaN); an infinite product is capped like any other.
[[nodiscard]] double capped_growth(Duration base, double factor, int exponent, Duration max) noexcept;

/// An upper bound on `capped_growth(base, factor, exponent, max)` as a duration, computable at
/// compile time (no `pow`): the growth by repeated multiplication, exact for an integral factor
/// while below 2^53 ns (so equal to the sleep of `exponential` with multiplier 2, and to the
/// cap of the jittered strategies), otherwise raised by a few parts in 2^52 to cover the
/// rounding of `pow` (at most a nanosecond above the true sleep below 104 days).
[[nodiscard]] constexpr Duration growth_bound(Duration base, double factor, int exponent, Duration max) noexcept {
    if (base <= Duration::zero()) return Duration::zero();
    const int e = exponent < 0 ? 0 : (exponent > 4096 ? 4096 : exponent);
    const double cap = ns(max);
    double v = ns(base);
    for (int i = 0; i < e && v < cap; ++i) v *= factor;
    const bool integral = factor < 0x1.0p53 && factor == static_cast<double>(static_cast<std::int64_t>(factor));
    const bool exact = integral && v < 0x1.0p53;
    if (!exact) v *= 1.0 + static_cast<double>(e + 4) * 0x1.0p-52;
    return ns_to_duration(v < cap ? v : cap);
}

}  // namespace detail

/// Options of `decorrelated_jitter`.
struct DecorrelatedJitterOptions {
    /// The shortest sleep, and the `prev` of the first retry; must be >= 0. Default 250 ms.
    Duration base = std::chrono::milliseconds(250);
    /// The longest sleep; must be >= `base`. Default 30 s.
    Duration max = std::chrono::seconds(30);
};

/// Decorrelated jitter: `min(max, uniform(base, 3 × prev))` where `prev` is the previous
/// sleep (or `base` on the first retry; a previous sleep shorter than `base` counts as
/// `base`). Immutable; thread-safe; no allocation.
class DecorrelatedJitter {
public:
    /// Validates `options`: throws `InvalidOption` for a negative `base` or `max < base`.
    constexpr explicit DecorrelatedJitter(DecorrelatedJitterOptions options = {}) : options_(options) {
        if (!(options_.base >= Duration::zero() && options_.max >= options_.base)) reject(options_);
    }

    /// The sleep before the retry after `ctx.attempt`; reads `ctx.prev_sleep` only. Draws from
    /// the calling thread's engine.
    [[nodiscard]] Duration operator()(const BackoffContext& ctx) const noexcept;

    /// `min(max, 3 × max(prev, base))`: the draw's upper end, from the bound on the previous
    /// sleep (the first retry's previous sleep counts as `base`).
    [[nodiscard]] constexpr TimeBound sleep_bound(int, TimeBound prev) const noexcept {
        if (prev.is_infinite()) return options_.max;
        const double p = detail::max_of(detail::ns(prev.saturated()), detail::ns(options_.base));
        double top = 3.0 * p;
        if (!(top < 0x1.0p52)) top *= 1.0 + 0x1.0p-50;  // beyond 2^52 ns the draw's rounding may pass 3p
        return detail::min_of(detail::ns_to_duration(top), options_.max);
    }

    /// The validated options.
    [[nodiscard]] constexpr const DecorrelatedJitterOptions& options() const noexcept { return options_; }

private:
    /// The constructor's failure path, for options of which one at least is invalid: throws
    /// `InvalidOption` naming the first.
    [[noreturn]] static void reject(const DecorrelatedJitterOptions& options);

    DecorrelatedJitterOptions options_;
};

/// `DecorrelatedJitter` with the given options: `decorrelated_jitter({.max = 5s})`.
/// Throws `InvalidOption` for a negative base or `max < base`.
[[nodiscard]] constexpr DecorrelatedJitter decorrelated_jitter(DecorrelatedJitterOptions options = {}) {
    return DecorrelatedJitter{options};
}

/// Options of `equal_jitter`.
struct EqualJitterOptions {
    /// Growth base: the cap is `base · 2^attempt` (the first retry draws from [base, 2·base]);
    /// must be >= 0. Default 250 ms.
    Duration base = std::chrono::milliseconds(250);
    /// Upper bound of the cap, hence of every sleep; must be >= `base`. Default 30 s.
    Duration max = std::chrono::seconds(30);
};

/// Equal jitter: `cap = min(max, base · 2^attempt)`, sleep `cap/2 + uniform(0, cap/2)`.
/// Immutable; thread-safe; no allocation.
class EqualJitter {
public:
    /// Validates `options`: throws `InvalidOption` for a negative `base` or `max < base`.
    constexpr explicit EqualJitter(EqualJitterOptions options = {}) : options_(options) {
        if (!(options_.base >= Duration::zero() && options_.max >= options_.base)) reject(options_);
    }

    /// The sleep before the retry after `ctx.attempt`, in [cap/2, cap]. Draws from the calling
    /// thread's engine.
    [[nodiscard]] Duration operator()(const BackoffContext& ctx) const noexcept;

    /// The cap of the draw, `min(max, base · 2^retry)`.
    [[nodiscard]] constexpr TimeBound sleep_bound(int retry, TimeBound) const noexcept {
        return detail::growth_bound(options_.base, 2.0, detail::attempt_of_retry(retry), options_.max);
    }

    /// The validated options.
    [[nodiscard]] constexpr const EqualJitterOptions& options() const noexcept { return options_; }

private:
    /// The constructor's failure path, for options of which one at least is invalid: throws
    /// `InvalidOption` naming the first.
    [[noreturn]] static void reject(const EqualJitterOptions& options);

    EqualJitterOptions options_;
};

/// `EqualJitter` with the given options. Throws `InvalidOption` on invalid options.
[[nodiscard]] constexpr EqualJitter equal_jitter(EqualJitterOptions options = {}) { return EqualJitter{options}; }

/// Options of `token_backoff`.
struct TokenBackoffOptions {
    /// Growth base: the cap is `base · 1.5^attempt` (the first retry draws from
    /// [0.75·base, 1.5·base]); must be >= 0. Default 250 ms.
    Duration base = std::chrono::milliseconds(250);
    /// Upper bound of the cap, hence of every sleep; must be >= `base`. Default 20 s.
    Duration max = std::chrono::seconds(20);
};

/// Token backoff, gentle growth for rate limits: `cap = min(max, base · 1.5^attempt)`, sleep
/// `uniform(cap/2, cap)`. Immutable; thread-safe; no allocation.
class TokenBackoff {
public:
    /// Validates `options`: throws `InvalidOption` for a negative `base` or `max < base`.
    constexpr explicit TokenBackoff(TokenBackoffOptions options = {}) : options_(options) {
        if (!(options_.base >= Duration::zero() && options_.max >= options_.base)) reject(options_);
    }

    /// The sleep before the retry after `ctx.attempt`, in [cap/2, cap]. Draws from the calling
    /// thread's engine.
    [[nodiscard]] Duration operator()(const BackoffContext& ctx) const noexcept;

    /// The cap of the draw, `min(max, base · 1.5^retry)`.
    [[nodiscard]] constexpr TimeBound sleep_bound(int retry, TimeBound) const noexcept {
        return detail::growth_bound(options_.base, 1.5, detail::attempt_of_retry(retry), options_.max);
    }

    /// The validated options.
    [[nodiscard]] constexpr const TokenBackoffOptions& options() const noexcept { return options_; }

private:
    /// The constructor's failure path, for options of which one at least is invalid: throws
    /// `InvalidOption` naming the first.
    [[noreturn]] static void reject(const TokenBackoffOptions& options);

    TokenBackoffOptions options_;
};

/// `TokenBackoff` with the given options. Throws `InvalidOption` on invalid options.
[[nodiscard]] constexpr TokenBackoff token_backoff(TokenBackoffOptions options = {}) { return TokenBackoff{options}; }

/// Options of `full_jitter`.
struct FullJitterOptions {
    /// Growth base: the cap is `base · 2^attempt` (the first retry draws from [0, 2·base]);
    /// must be >= 0. Default 250 ms.
    Duration base = std::chrono::milliseconds(250);
    /// Upper bound of the cap, hence of every sleep; must be >= `base`. Default 30 s.
    Duration max = std::chrono::seconds(30);
};

/// Full jitter: `cap = min(max, base · 2^attempt)`, sleep `uniform(0, cap)`.
/// Immutable; thread-safe; no allocation.
class FullJitter {
public:
    /// Validates `options`: throws `InvalidOption` for a negative `base` or `max < base`.
    constexpr explicit FullJitter(FullJitterOptions options = {}) : options_(options) {
        if (!(options_.base >= Duration::zero() && options_.max >= options_.base)) reject(options_);
    }

    /// The sleep before the retry after `ctx.attempt`, in [0, cap]. Draws from the calling
    /// thread's engine.
    [[nodiscard]] Duration operator()(const BackoffContext& ctx) const noexcept;

    /// The cap of the draw, `min(max, base · 2^retry)`.
    [[nodiscard]] constexpr TimeBound sleep_bound(int retry, TimeBound) const noexcept {
        return detail::growth_bound(options_.base, 2.0, detail::attempt_of_retry(retry), options_.max);
    }

    /// The validated options.
    [[nodiscard]] constexpr const FullJitterOptions& options() const noexcept { return options_; }

private:
    /// The constructor's failure path, for options of which one at least is invalid: throws
    /// `InvalidOption` naming the first.
    [[noreturn]] static void reject(const FullJitterOptions& options);

    FullJitterOptions options_;
};

/// `FullJitter` with the given options. Throws `InvalidOption` on invalid options.
[[nodiscard]] constexpr FullJitter full_jitter(FullJitterOptions options = {}) { return FullJitter{options}; }

/// Options of `exponential`.
struct ExponentialOptions {
    /// The first retry's sleep; must be >= 0. Default 250 ms.
    Duration base = std::chrono::milliseconds(250);
    /// The longest sleep; must be >= `base`. Default 30 s.
    Duration max = std::chrono::seconds(30);
    /// Growth factor from one retry to the next; must be finite and >= 1. Default 2.
    double multiplier = 2.0;
};

/// Exponential backoff without jitter: `min(max, base · multiplier^(attempt − 1))`, so the
/// first retry waits `base`. Deterministic; thread-safe; no allocation.
class Exponential {
public:
    /// Validates `options`: throws `InvalidOption` for a negative `base`, `max < base`,
    /// or a multiplier that is not finite or below 1.
    constexpr explicit Exponential(ExponentialOptions options = {}) : options_(options) {
        if (!(options_.base >= Duration::zero() && options_.max >= options_.base &&
              detail::is_finite(options_.multiplier) && options_.multiplier >= 1.0))
            reject(options_);
    }

    /// The sleep before the retry after `ctx.attempt` (1 for the first retry); reads nothing else.
    [[nodiscard]] Duration operator()(const BackoffContext& ctx) const noexcept;

    /// The sleep itself (the strategy is deterministic): `min(max, base · multiplier^(retry − 1))`.
    [[nodiscard]] constexpr TimeBound sleep_bound(int retry, TimeBound) const noexcept {
        return detail::growth_bound(options_.base, options_.multiplier, detail::attempt_of_retry(retry) - 1, options_.max);
    }

    /// The validated options.
    [[nodiscard]] constexpr const ExponentialOptions& options() const noexcept { return options_; }

private:
    /// The constructor's failure path, for options of which one at least is invalid: throws
    /// `InvalidOption` naming the first.
    [[noreturn]] static void reject(const ExponentialOptions& options);

    ExponentialOptions options_;
};

/// `Exponential` with the given options. Throws `InvalidOption` on invalid options.
[[nodiscard]] constexpr Exponential exponential(ExponentialOptions options = {}) { return Exponential{options}; }

/// The same sleep every time. Thread-safe; no allocation.
class Constant {
public:
    /// Throws `InvalidOption` for a negative `sleep`.
    constexpr explicit Constant(Duration sleep) : sleep_(sleep) {
        detail::require_option(sleep_ >= Duration::zero(), "constant", "sleep", "must be >= 0");
    }

    /// Always `sleep()`, whatever the context.
    [[nodiscard]] Duration operator()(const BackoffContext&) const noexcept { return sleep_; }

    /// The sleep itself.
    [[nodiscard]] constexpr TimeBound sleep_bound(int, TimeBound) const noexcept { return sleep_; }

    /// The sleep given at construction.
    [[nodiscard]] constexpr Duration sleep() const noexcept { return sleep_; }

private:
    Duration sleep_;
};

/// `Constant{sleep}`. Throws `InvalidOption` for a negative sleep.
[[nodiscard]] constexpr Constant constant(Duration sleep) { return Constant{sleep}; }

/// Options of `linear`.
struct LinearOptions {
    /// The first retry's sleep; must be >= 0. Default 250 ms.
    Duration base = std::chrono::milliseconds(250);
    /// Added for every further retry; must be >= 0. Default 250 ms.
    Duration step = std::chrono::milliseconds(250);
    /// The longest sleep; must be >= `base`. Default 30 s.
    Duration max = std::chrono::seconds(30);
};

/// Linear backoff without jitter: `min(max, base + step · (attempt − 1))`.
/// Deterministic; thread-safe; no allocation.
class Linear {
public:
    /// Validates `options`: throws `InvalidOption` for a negative `base` or `step`, or
    /// `max < base`.
    constexpr explicit Linear(LinearOptions options = {}) : options_(options) {
        if (!(options_.base >= Duration::zero() && options_.step >= Duration::zero() && options_.max >= options_.base))
            reject(options_);
    }

    /// The sleep before the retry after `ctx.attempt` (1 for the first retry); reads nothing else.
    [[nodiscard]] Duration operator()(const BackoffContext& ctx) const noexcept;

    /// The sleep itself (the strategy is deterministic).
    [[nodiscard]] constexpr TimeBound sleep_bound(int retry, TimeBound) const noexcept {
        return linear_sleep(detail::attempt_of_retry(retry));
    }

    /// The validated options.
    [[nodiscard]] constexpr const LinearOptions& options() const noexcept { return options_; }

private:
    /// The constructor's failure path, for options of which one at least is invalid: throws
    /// `InvalidOption` naming the first.
    [[noreturn]] static void reject(const LinearOptions& options);

    [[nodiscard]] constexpr Duration linear_sleep(int attempt) const noexcept {
        const double steps = static_cast<double>(attempt - 1);
        return detail::ns_to_duration(
            detail::min_of(detail::ns(options_.max), detail::ns(options_.base) + detail::ns(options_.step) * steps));
    }

    LinearOptions options_;
};

/// `Linear` with the given options. Throws `InvalidOption` on invalid options.
[[nodiscard]] constexpr Linear linear(LinearOptions options = {}) { return Linear{options}; }

/// Honours a server's retry hint: when the classification carries `retry_after`, sleeps
/// `max(retry_after, 0) + uniform(0, jitter)`; otherwise asks `fallback`. The answer is
/// finite, ≥ 0 and at most `ctx.remaining` when that is set. Forwards adaptive
/// notifications to `fallback`. Thread-safe when `fallback` is.
template <class F>
class RetryAfterOr {
public:
    /// Throws `InvalidOption` for a negative `jitter`.
    constexpr RetryAfterOr(F fallback, Duration jitter) : fallback_(std::move(fallback)), jitter_(jitter) {
        detail::require_option(jitter_ >= Duration::zero(), "retry_after_or", "jitter", "must be >= 0");
    }

    /// The hint plus jitter, or `fallback`'s sleep when there is no hint; at most
    /// `ctx.remaining` when that is set.
    [[nodiscard]] Duration operator()(const BackoffContext& ctx) const {
        Duration d{};
        if (const auto& hint = ctx.classification.retry_after) {
            const Duration floor = detail::max_of(*hint, Duration::zero());
            d = detail::saturating_add(floor, detail::uniform_ns(0.0, detail::ns(jitter_)));
        } else {
            d = invoke_strategy(fallback_, ctx);
        }
        if (ctx.remaining) d = detail::min_of(d, detail::max_of(*ctx.remaining, Duration::zero()));
        return d;
    }

    /// Forwards a success to `fallback` (`notify_success`).
    void on_success() const { notify_success(fallback_); }
    /// Forwards a failure to `fallback` (`notify_failure`).
    void on_failure() const { notify_failure(fallback_); }

    /// Infinite: a server's hint may ask for any wait (the attempt loop bounds it by the time
    /// left before the deadline, and stops when the hint is longer).
    [[nodiscard]] constexpr TimeBound sleep_bound(int, TimeBound) const noexcept { return TimeBound::infinite(); }

    /// The strategy used when the classification has no `retry_after`.
    [[nodiscard]] constexpr const F& fallback() const noexcept { return fallback_; }
    /// The upper bound of the random time added to a `retry_after` hint.
    [[nodiscard]] constexpr Duration jitter() const noexcept { return jitter_; }

private:
    F fallback_;
    Duration jitter_;
};

/// `RetryAfterOr` over `fallback`: `retry_after_or(decorrelated_jitter({.max = 10s}))`.
/// Throws `InvalidOption` for a negative jitter.
template <class F>
[[nodiscard]] constexpr auto retry_after_or(F fallback, Duration jitter = std::chrono::milliseconds(250)) {
    static_assert(assert_strategy<F>());
    return RetryAfterOr<F>(std::move(fallback), jitter);
}

/// Options of `adaptive`.
struct AdaptiveOptions {
    /// The rolling window over which the failure rate is measured (32 buckets); must be > 0.
    /// Default 60 s.
    Duration window = std::chrono::seconds(60);
    /// The success rate to hold: above a failure rate of `1 − target_success` the multiplier
    /// rises. In (0, 1]; default 0.9.
    double target_success = 0.9;
    /// The multiplier while the failure rate is on target (and before anything is recorded);
    /// finite and > 0. Default 1.
    double min_multiplier = 1.0;
    /// The multiplier at 100 % failures; finite and >= `min_multiplier`. Default 5.
    double max_multiplier = 5.0;
    /// The clock that places outcomes in the window; default `std::chrono::steady_clock`.
    AnyClock clock{};
};

namespace detail {

/// Rolling-window success/failure counts, lock-free. The window is split into
/// `bucket_count` buckets of `window / bucket_count`, numbered from construction with a full
/// 64-bit index (exact for any uptime and any idle period). Bucket `e` lives in slot
/// `e % bucket_count`: one word holding `e + 1` (0: never used) and one packing the low 32 bits
/// of `e` with its success and failure counts (16 bits each; both are halved when one would
/// overflow, which keeps the ratio). A record claims a slot for its bucket by zeroing the
/// counts, then publishing the bucket; a read takes a slot's counts only when both words
/// name the same bucket, inside the window. Memory is fixed; a read sums the buckets.
class AdaptiveState {
public:
    static constexpr std::size_t bucket_count = 32;

    AdaptiveState(const AdaptiveOptions& o);

    void record(bool success) noexcept {
        const std::uint64_t e = current_bucket();
        const auto tag = static_cast<std::uint32_t>(e);
        auto& named = buckets_[e % bucket_count];
        auto& counts = counts_[e % bucket_count];
        for (;;) {
            const std::uint64_t slot = named.load(std::memory_order_acquire);
            if (slot > e + 1) return;  // a later bucket took the slot: this record is outside its window
            std::uint64_t old = counts.load(std::memory_order_acquire);
            if (slot == e + 1) {
                if (tag_of(old) != tag) continue;  // being claimed for a later bucket
                std::uint32_t s = (old >> 16U) & 0xFFFFU;
                std::uint32_t f = old & 0xFFFFU;
                (success ? s : f) += 1;
                if (s > 0xFFFFU || f > 0xFFFFU) {
                    s = (s + 1) / 2;
                    f = (f + 1) / 2;
                }
                const std::uint64_t next = (std::uint64_t{tag} << 32U) | (std::uint64_t{s} << 16U) | f;
                if (counts.compare_exchange_weak(old, next, std::memory_order_acq_rel, std::memory_order_acquire)) return;
                continue;
            }
            // Claim the slot for bucket `e`: zero its counts while it still names an older bucket
            // (which is outside the window of `e`), then name `e`.
            if (named.load(std::memory_order_acquire) != slot) continue;
            const std::uint64_t empty = std::uint64_t{tag} << 32U;
            if (old != empty && !counts.compare_exchange_strong(old, empty, std::memory_order_acq_rel,
                                                                std::memory_order_acquire))
                continue;
            std::uint64_t expected = slot;
            (void)named.compare_exchange_strong(expected, e + 1, std::memory_order_acq_rel, std::memory_order_acquire);
        }
    }

    /// Failure rate in the window, or none when nothing was recorded.
    [[nodiscard]] std::optional<double> failure_rate() const noexcept;

    [[nodiscard]] double max_multiplier() const noexcept { return max_; }

    [[nodiscard]] double multiplier() const noexcept;

private:
    static std::uint32_t tag_of(std::uint64_t word) noexcept { return static_cast<std::uint32_t>(word >> 32U); }

    /// Buckets since construction (0 for a reading before it); at most 2^64 - 2, so `e + 1`
    /// never wraps.
    [[nodiscard]] std::uint64_t current_bucket() const noexcept {
        const auto now = static_cast<std::uint64_t>(clock_.now().time_since_epoch().count());
        const auto origin = static_cast<std::uint64_t>(origin_.time_since_epoch().count());
        // Unsigned offsets from the most negative reading keep the order of signed readings.
        constexpr std::uint64_t flip = std::uint64_t{1} << 63U;
        const std::uint64_t a = now ^ flip;
        const std::uint64_t b = origin ^ flip;
        const std::uint64_t e = a > b ? (a - b) / width_ : 0;
        return e < ~std::uint64_t{0} ? e : e - 1;
    }

    AnyClock clock_;
    TimePoint origin_;
    std::uint64_t width_;
    double threshold_;
    double min_;
    double max_;
    std::array<std::atomic<std::uint64_t>, bucket_count> buckets_{};  ///< bucket + 1 held by each slot
    std::array<std::atomic<std::uint64_t>, bucket_count> counts_{};   ///< low 32 bits of the bucket, counts
};

}  // namespace detail

/// Scales a fallback strategy by the recent failure rate: sleep = fallback × multiplier,
/// where the multiplier is `min_multiplier` while the failure rate over `window` is at most
/// `1 − target_success` and rises linearly to `max_multiplier` at 100 % failures.
/// Failures and successes are learnt through `on_failure()` / `on_success()` (the attempt
/// loop calls them). Copies share one state; thread-safe and lock-free; fixed memory.
template <class F>
class Adaptive {
public:
    /// Validates `options` (see `adaptive`): throws `InvalidOption` naming the option.
    /// Allocates the shared state once.
    Adaptive(F fallback, const AdaptiveOptions& options)
        : fallback_(std::move(fallback)), state_(make_state(options)) {}

    /// `fallback`'s sleep for `ctx` times the current `multiplier()` (a read of the shared
    /// window, lock-free).
    [[nodiscard]] Duration operator()(const BackoffContext& ctx) const {
        const Duration base = invoke_strategy(fallback_, ctx);
        return detail::ns_to_duration(detail::ns(base) * state_->multiplier());
    }

    /// Records a success in the shared window and forwards it to `fallback`.
    void on_success() const {
        state_->record(true);
        notify_success(fallback_);
    }
    /// Records a failure in the shared window and forwards it to `fallback`.
    void on_failure() const {
        state_->record(false);
        notify_failure(fallback_);
    }

    /// `fallback`'s bound times `max_multiplier` (not `constexpr`: the options live in the
    /// shared state).
    [[nodiscard]] TimeBound sleep_bound(int retry, TimeBound prev) const {
        const TimeBound base = redress::sleep_bound(fallback_, retry, prev);
        if (base.is_infinite()) return base;
        // Raised by a few parts in 2^52: the multiplier's own rounding may pass max_multiplier.
        const double top = detail::ns(base.saturated()) * state_->max_multiplier() * (1.0 + 0x1.0p-50);
        return top >= detail::ns(Duration::max()) ? TimeBound::infinite() : TimeBound(detail::ns_to_duration(top));
    }

    /// The multiplier the next call would apply.
    [[nodiscard]] double multiplier() const noexcept { return state_->multiplier(); }
    /// The failure rate in the window; none before anything was recorded.
    [[nodiscard]] std::optional<double> failure_rate() const noexcept { return state_->failure_rate(); }

    /// The strategy whose sleeps are scaled.
    [[nodiscard]] const F& fallback() const noexcept { return fallback_; }

private:
    static std::shared_ptr<detail::AdaptiveState> make_state(const AdaptiveOptions& o) {
        detail::require_option(o.window > Duration::zero(), "adaptive", "window", "must be > 0");
        detail::require_option(o.target_success > 0.0 && o.target_success <= 1.0, "adaptive", "target_success",
                               "must be in (0, 1]");
        detail::require_option(detail::is_finite(o.min_multiplier) && o.min_multiplier > 0.0, "adaptive",
                               "min_multiplier", "must be finite and > 0");
        detail::require_option(detail::is_finite(o.max_multiplier) && o.max_multiplier >= o.min_multiplier, "adaptive",
                               "max_multiplier", "must be finite and >= min_multiplier");
        return std::make_shared<detail::AdaptiveState>(o);
    }

    F fallback_;
    std::shared_ptr<detail::AdaptiveState> state_;
};

/// `Adaptive` over `fallback`: `adaptive(decorrelated_jitter(), {.window = 60s})`.
/// Throws `InvalidOption` naming the option for window ≤ 0, target_success outside
/// (0, 1], min_multiplier ≤ 0 or max_multiplier < min_multiplier.
template <class F>
[[nodiscard]] auto adaptive(F fallback, AdaptiveOptions options = {}) {
    static_assert(assert_strategy<F>());
    return Adaptive<F>(std::move(fallback), options);
}

}  // namespace redress

#if !defined(REDRESS_SEPARATE_COMPILATION)
#include <redress/impl/strategies.hpp>
#endif
