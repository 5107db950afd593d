// redress::lint: configuration mistakes found before they bite, like the Python doctor.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <redress/circuit_breaker.hpp>
#include <redress/detail/attributes.hpp>
#include <redress/envelope.hpp>
#include <redress/error_class.hpp>
#include <redress/policy.hpp>
#include <redress/retry.hpp>
#include <redress/strategies.hpp>

namespace redress {

/// One finding of `lint`: a stable `code` (kebab-case, for filtering in tests), the `option`
/// it is about, and a sentence for people.
struct LintFinding {
    std::string code;     ///< stable identifier, e.g. `attempt-timeout-ge-deadline`
    std::string option;   ///< the option it is about, e.g. `attempt_timeout`
    std::string message;  ///< what is wrong and why, for people
};

/// What `lint` found. `errors` are configurations a policy refuses to build (the
/// `InvalidOption` cases, see docs/usage-patterns.md); `warnings` are valid configurations
/// where an option can never take effect or works against another; `notes` are choices a
/// reviewer would question depending on what lint cannot see (the traffic, the caller).
/// A user's test: `CHECK(redress::lint(policy).clean());`.
struct LintReport {
    std::vector<LintFinding> errors{};    ///< what a policy would refuse to build
    std::vector<LintFinding> warnings{};  ///< valid, but an option can never take effect
    std::vector<LintFinding> notes{};     ///< worth a second look, depending on the service

    /// No errors (warnings and notes allowed).
    [[nodiscard]] bool ok() const noexcept { return errors.empty(); }
    /// Neither errors nor warnings (notes allowed).
    [[nodiscard]] bool clean() const noexcept { return errors.empty() && warnings.empty(); }
    /// Whether a finding with this code was reported, as an error, a warning or a note.
    [[nodiscard]] bool has(std::string_view code) const noexcept;
    /// Every finding as one line `error|warning|note <code> (<option>): <message>`.
    template <class = void>
    [[nodiscard]] std::string to_string() const;
};

namespace detail {

// ---- what lint knows of the built-in strategies' sleeps ----------------------------------
// Read from the strategies' public options. For every built-in strategy the shortest sleep
// never decreases from one retry to the next, which the plan below relies on.

/// `base · factor^exponent`, capped at `cap` (nanoseconds); `factor` >= 1.
[[nodiscard]] double lint_growth(double base, double factor, int exponent, double cap) noexcept;

[[nodiscard]] inline double lint_ns(Duration d) noexcept { return static_cast<double>(d.count()); }

[[nodiscard]] Duration lint_duration(double ns) noexcept;

/// The shortest sleep strategy `s` can choose before retry `retry` (1 for the first), for a
/// failure without a server hint; none when lint cannot know (a custom or type-erased
/// strategy, `adaptive`, whose multiplier is not visible).
template <class S>
[[nodiscard]] std::optional<Duration> shortest_sleep(const S&, int) {
    return std::nullopt;
}
[[nodiscard]] std::optional<Duration> shortest_sleep(const Constant& s, int retry);
[[nodiscard]] std::optional<Duration> shortest_sleep(const DecorrelatedJitter& s, int retry);
[[nodiscard]] std::optional<Duration> shortest_sleep(const FullJitter& s, int retry);
[[nodiscard]] std::optional<Duration> shortest_sleep(const EqualJitter& s, int retry);
[[nodiscard]] std::optional<Duration> shortest_sleep(const TokenBackoff& s, int retry);
[[nodiscard]] std::optional<Duration> shortest_sleep(const Exponential& s, int retry);
[[nodiscard]] std::optional<Duration> shortest_sleep(const Linear& s, int retry);
template <class F>
[[nodiscard]] std::optional<Duration> shortest_sleep(const RetryAfterOr<F>& s, int retry) {
    return shortest_sleep(s.fallback(), retry);
}

/// What the default strategy's shortest sleeps mean for one operation, attempts taking no
/// time: an upper bound on what the operation can do before its deadline.
struct SleepPlan {
    bool known = false;        ///< the strategy's sleeps are known (a built-in strategy)
    Duration first{};          ///< the shortest sleep before the first retry
    int attempts_started = 0;  ///< attempts that can start before the deadline (at most max_attempts)
    Duration slept{};          ///< when fewer than max_attempts: the shortest sleeps before the next one, in all
};

template <class S>
[[nodiscard]] SleepPlan sleep_plan(const S& strategy, int max_attempts, Duration deadline) {
    SleepPlan plan;
    const std::optional<Duration> first = shortest_sleep(strategy, 1);
    if (!first || max_attempts < 1 || deadline <= Duration::zero()) return plan;
    plan.known = true;
    plan.first = *first;
    plan.attempts_started = max_attempts;
    // Retry k's sleep is at least shortest_sleep(k), which never decreases: past the first
    // 1024 retries the last value is a lower bound for each of the rest, so the loop stays
    // short even for max_attempts in the millions.
    constexpr int exact = 1024;
    const int retries = max_attempts - 1;
    const double limit = lint_ns(deadline);
    double total = 0.0;
    double last = 0.0;
    for (int k = 1; k <= retries && k <= exact; ++k) {
        last = lint_ns(shortest_sleep(strategy, k).value_or(Duration::zero()));
        total += last;
        if (total >= limit) {  // attempt k + 1 would start at or after the deadline
            plan.attempts_started = k;
            plan.slept = lint_duration(total);
            return plan;
        }
    }
    if (retries > exact && last > 0.0) {
        const double needed = (limit - total) / last;  // further retries until the deadline
        if (needed <= static_cast<double>(retries - exact)) {
            auto more = static_cast<int>(needed);
            if (static_cast<double>(more) < needed) ++more;
            plan.attempts_started = exact + more;
            plan.slept = lint_duration(total + static_cast<double>(more) * last);
        }
    }
    return plan;
}

/// `d` in the largest unit that shows it exactly: `2 s`, `250 ms`, `1500 us`, `7 ns`.
template <class = void>
[[nodiscard]] std::string lint_format(Duration d);

/// The settings lint reads, whatever holds them (`Retry`, `RetryConfig`).
struct LintInput {
    bool has_default_strategy = false;
    const PerClass<AnyStrategy>* strategies = nullptr;
    Duration deadline{};
    std::optional<Duration> attempt_timeout{};
    int max_attempts = 0;
    std::optional<int> max_unknown_attempts{};
    const PerClass<int>* per_class_max_attempts = nullptr;
    const std::optional<Budget>* budget = nullptr;
    SleepPlan sleeps{};  ///< the default strategy's, when known
    std::optional<Duration> clock_resolution{};  ///< the policy's clock steps this coarsely
    TimeBound max_time{};  ///< the settings' `envelope().max_time`
};

// The rules are templates (on an unused parameter), like the public `lint` overloads, so that
// only a translation unit that lints compiles the checks and their string building; under
// separate compilation none does (redress::compiled instantiates them, in
// <redress/impl/lint.hpp>).

/// The name of `k`, as `to_string(k)` spells it.
template <class = void>
[[nodiscard]] std::string class_name(ErrorClass k);

/// The checks of `lint` on the settings of a `Retry` or a `RetryConfig`.
template <class = void>
[[nodiscard]] LintReport lint_settings(const LintInput& in);

/// Lint of a circuit breaker's options (see `lint(const CircuitBreaker&)`).
template <class = void>
void lint_breaker(const CircuitBreakerOptions& o, LintReport& report);

REDRESS_EXTERN_TEMPLATE(std::string lint_format<void>(Duration))
REDRESS_EXTERN_TEMPLATE(std::string class_name<void>(ErrorClass))
REDRESS_EXTERN_TEMPLATE(LintReport lint_settings<void>(const LintInput&))
REDRESS_EXTERN_TEMPLATE(void lint_breaker<void>(const CircuitBreakerOptions&, LintReport&))

}  // namespace detail

/// Checks a `Retry` for the mistakes a policy would reject (errors), for options that can
/// never take effect (warnings) and for choices worth a second look (notes); the codes are
/// listed in docs/usage-patterns.md. Never throws for a bad configuration (it reports it);
/// may throw `std::bad_alloc`. Cheap: no call of user code (a built-in strategy's sleeps are
/// computed from its options, for at most 1024 retries); linear in the number of classes.
template <class C, class S, class R>
[[nodiscard]] LintReport lint(const Retry<C, S, R>& retry) {
    return detail::lint_settings(detail::LintInput{
        .has_default_strategy = detail::strategy_present(retry.strategy),
        .strategies = &retry.strategies,
        .deadline = retry.deadline,
        .attempt_timeout = retry.attempt_timeout,
        .max_attempts = retry.max_attempts,
        .max_unknown_attempts = retry.max_unknown_attempts,
        .per_class_max_attempts = &retry.per_class_max_attempts,
        .budget = &retry.budget,
        .sleeps = detail::sleep_plan(retry.strategy, retry.max_attempts, retry.deadline),
        .clock_resolution = retry.clock.is_coarse() ? std::optional<Duration>(CoarseClock::resolution()) : std::nullopt,
        .max_time = envelope(retry).max_time,
    });
}

/// Checks shared settings (see `lint(const Retry&)`).
template <class = void>
[[nodiscard]] LintReport lint(const RetryConfig& config);

/// Checks a built circuit breaker: no errors (construction validated it); warnings for
/// options its mode never reads (`minimum_throughput` outside ratio mode,
/// `max_recovery_timeout` without `recovery_backoff`); notes when count mode opens it on a
/// few failures per window (which a busy service reaches at a tiny failure rate) or ratio
/// mode decides over fewer than 20 calls.
template <class = void>
[[nodiscard]] LintReport lint(const CircuitBreaker& breaker);

REDRESS_EXTERN_TEMPLATE(std::string LintReport::to_string<void>() const)
REDRESS_EXTERN_TEMPLATE(LintReport lint<void>(const RetryConfig&))
REDRESS_EXTERN_TEMPLATE(LintReport lint<void>(const CircuitBreaker&))

/// Checks a built policy: its retry component and its circuit breaker (when it is a
/// `CircuitBreaker`). A built policy has no errors (construction validated it).
template <class RetryT, class BreakerT, class HedgeT>
[[nodiscard]] LintReport lint(const Policy<RetryT, BreakerT, HedgeT>& policy) {
    LintReport report;
    if constexpr (Policy<RetryT, BreakerT, HedgeT>::has_retry) report = lint(policy.retry());
    if constexpr (std::is_same_v<BreakerT, CircuitBreaker>) detail::lint_breaker(policy.circuit_breaker().options(), report);
    (void)policy;
    return report;
}

}  // namespace redress

#if !defined(REDRESS_SEPARATE_COMPILATION)
#include <redress/impl/lint.hpp>
#endif
