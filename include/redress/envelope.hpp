// redress::envelope: a policy's worst case, computed from its configuration before it runs —
// attempts, requests, total sleep and time to outcome — at compile time for a `RetryLimits`
// (see docs/envelope.md for the design and the proof of each bound).
#pragma once

#include <chrono>
#include <climits>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

#include <redress/classify.hpp>
#include <redress/clock.hpp>
#include <redress/detail/math.hpp>
#include <redress/error_class.hpp>
#include <redress/errors.hpp>
#include <redress/policy.hpp>
#include <redress/retry.hpp>
#include <redress/strategies.hpp>
#include <redress/time_bound.hpp>

namespace redress {

/// The worst case of one operation under a policy: no run exceeds any of these. A literal
/// type, so `static_assert(redress::envelope(limits).max_time <= 2s)` checks a configuration
/// at compile time.
///
/// The time bounds count what the policy controls. They hold when every attempt ends within
/// `attempt_timeout` (with Asio it is cancelled; a sync or `Task` operation must honour its
/// stop token: an attempt cannot be pre-empted, and a late answer is only counted as timed
/// out), when the sleeper waits what it is asked (the default one does), and leave out the
/// policy's own microseconds (hooks, classification, the breaker).
struct Envelope {
    /// Attempts of the operation: `max_attempts`, lowered when per-class caps and
    /// `max_unknown_attempts` cap every retryable class a strategy serves.
    int max_attempts = 1;
    /// Requests the operation can send downstream: one per attempt, multiplied through nested
    /// policies (`nest`). A breaker never adds any; a budget can only remove some.
    std::int64_t max_requests = 1;
    /// The sleeps asked for in all (the `retry` events' `sleep`): the strategies' bounds
    /// summed over the retries, and never more than the deadline, since each sleep is clamped
    /// to the time left.
    TimeBound max_sleep{};
    /// How long one attempt can take: `attempt_timeout`, infinite without one.
    TimeBound max_attempt_time = TimeBound::infinite();
    /// The deadline; no attempt starts after it. Infinite for a breaker-only policy.
    TimeBound deadline = TimeBound::infinite();
    /// How long the operation can take, from its first attempt to its outcome:
    /// `min(deadline + max_attempt_time, max_attempts × max_attempt_time + max_sleep)`. An
    /// attempt that is running is not interrupted at the deadline, so the last one may end
    /// `max_attempt_time` after it. Infinite without `attempt_timeout`.
    TimeBound max_time = TimeBound::infinite();

    friend constexpr bool operator==(const Envelope&, const Envelope&) = default;
};

/// The settings that bound an operation, with its strategy: a literal type, so that a
/// `constexpr` one gives its `envelope` at compile time and builds the policy that runs with
/// the same values (`limits.retry()`). Fields and defaults as in `Retry`.
/// ```
/// constexpr redress::RetryLimits limits{.strategy = redress::exponential({.base = 100ms}),
///                                       .deadline = 2s, .attempt_timeout = 500ms, .max_attempts = 3};
/// static_assert(redress::envelope(limits).max_time <= 3s);
/// redress::Policy policy{limits.retry()};
/// ```
template <class StrategyT>
struct RetryLimits {
    /// The backoff of every class (see `Retry::strategy`).
    StrategyT strategy{};
    /// As `Retry::deadline`. Default 60 s.
    Duration deadline = std::chrono::seconds(60);
    /// As `Retry::attempt_timeout`. Default none.
    std::optional<Duration> attempt_timeout{};
    /// As `Retry::max_attempts`. Default 6.
    int max_attempts = 6;
    /// As `Retry::max_unknown_attempts`. Default 2.
    std::optional<int> max_unknown_attempts = 2;
    /// As `Retry::per_class_max_attempts`. Default none.
    PerClass<int> per_class_max_attempts{};

    /// A `Retry` with these settings and `classifier`; set its hooks before building the
    /// policy: `auto r = limits.retry(); r.on_log = log; redress::Policy policy{std::move(r)};`
    template <class C = DefaultClassifier>
    [[nodiscard]] Retry<C, StrategyT> retry(C classifier = {}) const {
        return Retry<C, StrategyT>{
            .classifier = std::move(classifier),
            .strategy = strategy,
            .deadline = deadline,
            .attempt_timeout = attempt_timeout,
            .max_attempts = max_attempts,
            .max_unknown_attempts = max_unknown_attempts,
            .per_class_max_attempts = per_class_max_attempts,
        };
    }
};

namespace detail {

/// Retries of one class an operation can make before a cap stops it: a per-class limit `L`
/// stops at the `L`-th failure, so `L − 1` failures retry; `max_unknown_attempts` `m` lets `m`
/// unknown failures retry. None when nothing caps the class.
[[nodiscard]] constexpr std::optional<std::int64_t> class_retries(ErrorClass klass, const PerClass<int>& caps,
                                                                  std::optional<int> max_unknown) noexcept {
    std::optional<std::int64_t> n{};
    if (const int* limit = caps.find(klass)) n = *limit <= 1 ? 0 : std::int64_t{*limit} - 1;
    if (klass == ErrorClass::Unknown && max_unknown) {
        const std::int64_t m = *max_unknown < 0 ? 0 : *max_unknown;
        n = n ? detail::min_of(*n, m) : m;
    }
    return n;
}

inline constexpr ErrorClass retryable_classes[] = {ErrorClass::Concurrency, ErrorClass::RateLimit,
                                                   ErrorClass::ServerError, ErrorClass::Transient, ErrorClass::Unknown};

/// The envelope of retry settings. `strategy` serves every class without an entry in
/// `per_class` (when `has_default`); `per_class` may be null.
template <class S>
[[nodiscard]] constexpr Envelope envelope_of(const S& strategy, bool has_default, const PerClass<AnyStrategy>* per_class,
                                             Duration deadline, std::optional<Duration> attempt_timeout,
                                             int max_attempts, std::optional<int> max_unknown,
                                             const PerClass<int>& caps) {
    // Attempts: 1 + the retries every retryable class allows (a class no strategy serves
    // stops at its first failure), at most max_attempts.
    const int configured = max_attempts < 1 ? 1 : max_attempts;
    bool uses_default = false;
    bool uses_class[error_class_count]{};
    std::int64_t retries = 0;
    bool capped = true;
    for (ErrorClass k : retryable_classes) {
        const bool own = per_class != nullptr && per_class->contains(k);
        if (!own && !has_default) continue;
        const std::optional<std::int64_t> n = class_retries(k, caps, max_unknown);
        if (n && *n == 0) continue;
        if (own) uses_class[static_cast<std::size_t>(k)] = true;
        else uses_default = true;
        if (n) retries += *n;
        else capped = false;
    }
    const int attempts = capped && retries + 1 < configured ? static_cast<int>(retries + 1) : configured;

    // The bound of one sleep: the largest among the strategies a retry may use.
    auto bound = [&](int retry, TimeBound prev) {
        TimeBound b{};
        if (uses_default) b = redress::sleep_bound(strategy, retry, prev);
        if (per_class != nullptr) {
            for (ErrorClass k : retryable_classes)
                if (uses_class[static_cast<std::size_t>(k)])
                    b = detail::max_of(b, per_class->find(k)->sleep_bound(retry, prev));
        }
        return b;
    };

    // Total sleep: the bounds retry by retry while they grow (at most 1024 of them), then the
    // bound of every later retry for the rest; a strategy's bound never decreases, so that one
    // covers them all. Each sleep is clamped to the time left, so the total stops at the deadline.
    const TimeBound limit(deadline);
    const TimeBound tail = bound(INT_MAX, TimeBound::infinite());
    constexpr int exact = 1024;
    TimeBound slept{};
    TimeBound prev{};
    for (int k = 1; k < attempts && slept < limit; ++k) {
        const TimeBound s = bound(k, prev);
        if (s == tail || k > exact) {
            slept = slept + tail * (attempts - k);
            break;
        }
        slept = slept + s;
        prev = detail::min_of(s, limit);
    }

    Envelope e;
    e.max_attempts = attempts;
    e.max_requests = attempts;
    e.max_sleep = detail::min_of(slept, limit);
    e.max_attempt_time = attempt_timeout ? TimeBound(*attempt_timeout) : TimeBound::infinite();
    e.deadline = limit;
    e.max_time = detail::min_of(limit + e.max_attempt_time, e.max_attempt_time * attempts + e.max_sleep);
    return e;
}

/// `a × b` for counts, saturating at the largest `std::int64_t` (a count below 1 gives 0).
[[nodiscard]] constexpr std::int64_t saturating_product(std::int64_t a, std::int64_t b) noexcept {
    constexpr std::int64_t top = INT64_MAX;
    if (a <= 0 || b <= 0) return 0;
    return a > top / b ? top : a * b;
}

}  // namespace detail

/// The worst case of limits, at compile time when they are `constexpr`. Throws
/// `InvalidOption` for the settings a policy refuses (so a `constexpr` call with one does not
/// compile). The strategy's `sleep_bound` gives each sleep's bound: jitter's upper end,
/// the cap of a capped growth, infinite for `retry_after_or` and for strategies that state none.
template <class S>
[[nodiscard]] constexpr Envelope envelope(const RetryLimits<S>& limits) {
    detail::require_option(detail::strategy_present(limits.strategy), "RetryLimits", "strategy", "is required");
    detail::require_option(limits.max_attempts >= 1, "RetryLimits", "max_attempts", "must be >= 1");
    detail::require_option(limits.deadline > Duration::zero(), "RetryLimits", "deadline", "must be > 0");
    detail::require_option(!limits.attempt_timeout || *limits.attempt_timeout > Duration::zero(), "RetryLimits",
                           "attempt_timeout", "must be > 0");
    detail::require_option(!limits.max_unknown_attempts || *limits.max_unknown_attempts >= 0, "RetryLimits",
                           "max_unknown_attempts", "must be >= 0");
    limits.per_class_max_attempts.for_each([](ErrorClass, int limit) {
        detail::require_option(limit >= 0, "RetryLimits", "per_class_max_attempts", "must be >= 0");
    });
    return detail::envelope_of(limits.strategy, true, nullptr, limits.deadline, limits.attempt_timeout,
                               limits.max_attempts, limits.max_unknown_attempts, limits.per_class_max_attempts);
}

/// The worst case of a `Retry`, per-class strategies included (a type-erased strategy gives
/// its wrapped strategy's bound). Never throws for invalid settings: attempts count at least 1.
template <class C, class S, class R>
[[nodiscard]] Envelope envelope(const Retry<C, S, R>& retry) {
    return detail::envelope_of(retry.strategy, detail::strategy_present(retry.strategy), &retry.strategies,
                               retry.deadline, retry.attempt_timeout, retry.max_attempts, retry.max_unknown_attempts,
                               retry.per_class_max_attempts);
}

/// The worst case of shared settings (see `envelope(const Retry&)`).
template <class = void>
[[nodiscard]] Envelope envelope(const RetryConfig& config) {
    return detail::envelope_of(config.strategy, static_cast<bool>(config.strategy), &config.strategies, config.deadline,
                               config.attempt_timeout, config.max_attempts, config.max_unknown_attempts,
                               config.per_class_max_attempts);
}

/// The worst case of a built policy: its `Retry`'s (the breaker adds no request). A
/// breaker-only policy runs one attempt, with no deadline and no timeout: one request, no
/// sleep, no bound on time.
template <class RetryT, class BreakerT, class HedgeT>
[[nodiscard]] Envelope envelope(const Policy<RetryT, BreakerT, HedgeT>& policy) {
    if constexpr (Policy<RetryT, BreakerT, HedgeT>::has_retry) {
        return envelope(policy.retry());
    } else {
        (void)policy;
        return Envelope{};
    }
}

/// The worst case of an operation under `outer` whose every attempt runs a call under a
/// policy of envelope `inner` (a retried call that itself retries). Requests multiply; each
/// outer attempt lasts at most the inner call's `max_time`, or the outer `attempt_timeout` when
/// shorter (and the inner call honours the attempt's stop token). Two nested 3-attempt policies
/// send up to 9 requests. `outer` is one level: nest deeper as `nest(a, nest(b, c))`, or
/// `nest(a, b, c)`.
[[nodiscard]] constexpr Envelope nest(const Envelope& outer, const Envelope& inner) noexcept {
    Envelope e = outer;
    e.max_requests = detail::saturating_product(outer.max_attempts, inner.max_requests);
    e.max_attempt_time = detail::min_of(outer.max_attempt_time, inner.max_time);
    e.max_time = detail::min_of(outer.deadline + e.max_attempt_time,
                                e.max_attempt_time * outer.max_attempts + outer.max_sleep);
    // The inner sleeps of an attempt fit in the attempt's time.
    const TimeBound inner_sleep = detail::min_of(inner.max_sleep, e.max_attempt_time);
    e.max_sleep = detail::min_of(outer.max_sleep + inner_sleep * outer.max_attempts, e.max_time);
    return e;
}

/// `nest(outer, nest(middle, inner...))`: the levels from the outermost in.
template <class... More>
    requires(sizeof...(More) >= 1 && (std::is_same_v<More, Envelope> && ...))
[[nodiscard]] constexpr Envelope nest(const Envelope& outer, const Envelope& middle, const More&... inner) noexcept {
    return nest(outer, nest(middle, inner...));
}

}  // namespace redress
