// Retry: the retry component's options (SPEC §3), RetryConfig, and per-call options (§4).
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>

#include <redress/budget.hpp>
#include <redress/classify.hpp>
#include <redress/clock.hpp>
#include <redress/error_class.hpp>
#include <redress/event.hpp>
#include <redress/hooks.hpp>
#include <redress/outcome.hpp>
#include <redress/strategies.hpp>

namespace redress {

/// The `strategy` of a `Retry` that has none: only the per-class `strategies` apply.
struct NoStrategy {};

/// The `result_classifier` of a `Retry` that has none: every returned value is a success.
struct NoResultClassifier {};

/// The retry component: how failures are classified and answered, and the bounds of one
/// operation. An aggregate, written with designated initializers in this order:
/// ```
/// redress::Retry{.classifier = redress::default_classifier,
///                .strategy = redress::decorrelated_jitter({.max = 5s}),
///                .deadline = 30s, .max_attempts = 5}
/// ```
/// `classifier`, `result_classifier` and `strategy` keep their own types (no type erasure,
/// no indirect calls); per-class `strategies` are type-erased because they differ by class.
/// The hook members are policy-wide defaults for the per-call options of the same names.
/// A policy validates its `Retry` at construction (`std::invalid_argument` naming the option).
template <class ClassifierT = DefaultClassifier, class StrategyT = NoStrategy, class ResultClassifierT = NoResultClassifier>
struct Retry {
    using classifier_type = ClassifierT;
    using strategy_type = StrategyT;
    using result_classifier_type = ResultClassifierT;

    ClassifierT classifier{};
    ResultClassifierT result_classifier{};
    StrategyT strategy{};
    PerClass<AnyStrategy> strategies{};
    Duration deadline = std::chrono::seconds(60);
    std::optional<Duration> attempt_timeout{};
    int max_attempts = 6;
    std::optional<int> max_unknown_attempts = 2;
    PerClass<int> per_class_max_attempts{};
    std::optional<Budget> budget{};
    SleepHandler sleep{};
    BeforeSleepHook before_sleep{};
    Sleeper sleeper{};
    AnyClock clock{};
    EventHook on_metric{};
    EventHook on_log{};
    AttemptHook on_attempt_start{};
    AttemptHook on_attempt_end{};
    AbortPredicate abort_if{};
};

/// Retry settings to share between services or load from configuration, without the
/// classifier (which is code). `RetryPolicy<>::from_config(cfg, classifier)` builds a policy.
struct RetryConfig {
    AnyStrategy strategy{};
    PerClass<AnyStrategy> strategies{};
    Duration deadline = std::chrono::seconds(60);
    std::optional<Duration> attempt_timeout{};
    int max_attempts = 6;
    std::optional<int> max_unknown_attempts = 2;
    PerClass<int> per_class_max_attempts{};
    std::optional<Budget> budget{};
};

/// Per-call options of `call()`, `execute()` and `context()`. Each hook set here wins over
/// the policy's hook of the same name. `stop_token` and `abort_if` both request a
/// cooperative abort; a stop request also wakes a retry that is sleeping.
struct CallOptions {
    std::string_view operation{};
    EventHook on_metric{};
    EventHook on_log{};
    AttemptHook on_attempt_start{};
    AttemptHook on_attempt_end{};
    AbortPredicate abort_if{};
    std::stop_token stop_token{};
    SleepHandler sleep{};
    BeforeSleepHook before_sleep{};
    Sleeper sleeper{};
    TimelineCapture capture_timeline{};
};

namespace detail {

template <class T>
struct IsRetry : std::false_type {};
template <class C, class S, class R>
struct IsRetry<Retry<C, S, R>> : std::true_type {};

/// Whether a strategy value is present: `NoStrategy` never, an empty `AnyStrategy` not.
template <class S>
[[nodiscard]] bool strategy_present(const S& s) noexcept {
    if constexpr (std::is_same_v<S, NoStrategy>) {
        (void)s;
        return false;
    } else if constexpr (std::is_constructible_v<bool, const S&>) {
        return static_cast<bool>(s);
    } else {
        (void)s;
        return true;
    }
}

[[noreturn]] inline void invalid_option(std::string_view option, std::string_view rule) {
    throw std::invalid_argument("redress: Retry option '" + std::string(option) + "' " + std::string(rule));
}

/// The validation of SPEC §3, shared by every policy constructor.
template <class C, class S, class R>
void validate(const Retry<C, S, R>& r) {
    if (!strategy_present(r.strategy) && r.strategies.empty())
        invalid_option("strategy", "is required: set 'strategy' or 'strategies' (no backoff is configured)");
    if (r.max_attempts < 1) invalid_option("max_attempts", "must be >= 1");
    if (r.deadline <= Duration::zero()) invalid_option("deadline", "must be > 0");
    if (r.attempt_timeout && *r.attempt_timeout <= Duration::zero()) invalid_option("attempt_timeout", "must be > 0");
    if (r.max_unknown_attempts && *r.max_unknown_attempts < 0) invalid_option("max_unknown_attempts", "must be >= 0");
    r.per_class_max_attempts.for_each([](ErrorClass klass, int limit) {
        if (limit < 0)
            invalid_option("per_class_max_attempts",
                           "must be >= 0 (class " + std::string(to_string(klass)) + " has " + std::to_string(limit) + ")");
    });
    r.strategies.for_each([](ErrorClass klass, const AnyStrategy& s) {
        if (!s) invalid_option("strategies", "has an empty strategy for class " + std::string(to_string(klass)));
    });
}

}  // namespace detail
}  // namespace redress
