// Retry: the retry component's options, RetryConfig, and per-call options (see
// docs/usage-patterns.md and docs/pitfalls.md for the defaults).
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>

#include <redress/budget.hpp>
#include <redress/classify.hpp>
#include <redress/clock.hpp>
#include <redress/detail/attributes.hpp>
#include <redress/detail/message.hpp>
#include <redress/error_class.hpp>
#include <redress/errors.hpp>
#include <redress/event.hpp>
#include <redress/hooks.hpp>
#include <redress/outcome.hpp>
#include <redress/strategies.hpp>
#include <redress/tags.hpp>

namespace redress {

/// The `strategy` of a `Retry` that has none: only the per-class `strategies` apply.
struct NoStrategy {};

/// The `result_classifier` of a `Retry` that has none: every returned value is a success.
struct NoResultClassifier {};

namespace detail {

/// The answers a result classifier may give.
template <class V>
inline constexpr bool is_result_verdict =
    std::is_same_v<V, std::optional<ErrorClass>> || std::is_same_v<V, std::optional<Classification>>;

/// The result type and arity of a callable whose call operator is neither a template nor
/// overloaded (a function pointer, a lambda without `auto` parameters, `std::function`);
/// `known` is false for the others, whose answer depends on the argument's type.
template <class F, class = void>
struct CallShape {
    static constexpr bool known = false;
};
template <class R, class... A>
struct CallShape<R (*)(A...), void> {
    static constexpr bool known = true;
    static constexpr std::size_t arity = sizeof...(A);
    using result = R;
};
template <class R, class... A>
struct CallShape<R (*)(A...) noexcept, void> : CallShape<R (*)(A...)> {};
template <class R, class C, class... A>
struct CallShape<R (C::*)(A...), void> : CallShape<R (*)(A...)> {};
template <class R, class C, class... A>
struct CallShape<R (C::*)(A...) const, void> : CallShape<R (*)(A...)> {};
template <class R, class C, class... A>
struct CallShape<R (C::*)(A...) noexcept, void> : CallShape<R (*)(A...)> {};
template <class R, class C, class... A>
struct CallShape<R (C::*)(A...) const noexcept, void> : CallShape<R (*)(A...)> {};
template <class F>
struct CallShape<F, std::void_t<decltype(&F::operator())>> : CallShape<decltype(&F::operator())> {};

/// Whether `RC` can be a result classifier, as far as can be told without the result type:
/// a callable of known shape must take one argument and return a verdict; a generic one is
/// checked at the call, where the result type is known.
template <class RC>
consteval bool result_classifier_shape_ok() {
    if constexpr (std::is_same_v<RC, NoResultClassifier>) {
        return true;
    } else if constexpr (CallShape<RC>::known) {
        return CallShape<RC>::arity == 1 && is_result_verdict<std::remove_cvref_t<typename CallShape<RC>::result>>;
    } else {
        return std::is_class_v<RC>;
    }
}

}  // namespace detail

/// A result classifier for operations that return `T`: callable through a const reference
/// with `const T&`, returning `std::optional<ErrorClass>` or `std::optional<Classification>`;
/// `std::nullopt` means the value is a success, a class means it is a failure of that class.
template <class RC, class T>
concept ResultClassifier =
    std::invocable<const RC&, const T&> &&
    detail::is_result_verdict<std::remove_cvref_t<std::invoke_result_t<const RC&, const T&>>>;

/// Checks a `Retry`'s result classifier before the result type is known (a policy does it at
/// construction): compiles when it may be one, fails with one readable line otherwise.
/// Returns true, so `static_assert(assert_result_classifier<RC>());` reports only that line.
template <class RC>
consteval bool assert_result_classifier() {
    static_assert(detail::result_classifier_shape_ok<RC>(),
                  "redress: Retry::result_classifier must be callable as (const T&) -> "
                  "std::optional<redress::ErrorClass> (or std::optional<redress::Classification>), T the operation's "
                  "result: return std::nullopt for a success, an ErrorClass for a failure");
    return true;
}

/// Checks a result classifier against the operation's result type `T` (at the call). A
/// classifier that `assert_result_classifier` already rejected is not reported twice.
template <class RC, class T>
consteval bool assert_result_classifier_for() {
    static_assert(!detail::result_classifier_shape_ok<RC>() || ResultClassifier<RC, T>,
                  "redress: Retry::result_classifier must be callable as (const T&) -> "
                  "std::optional<redress::ErrorClass> (or std::optional<redress::Classification>), T the operation's "
                  "result: return std::nullopt for a success, an ErrorClass for a failure");
    return true;
}

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
    /// The exception classifier's type.
    using classifier_type = ClassifierT;
    /// The default strategy's type (`NoStrategy` when there is none).
    using strategy_type = StrategyT;
    /// The result classifier's type (`NoResultClassifier` when there is none).
    using result_classifier_type = ResultClassifierT;

    /// Maps a thrown exception (`const std::exception_ptr&`) to an `ErrorClass` or a
    /// `Classification`. Default `default_classifier`.
    ClassifierT classifier{};
    /// Judges a returned value: `(const T&) -> std::optional<ErrorClass>` (or
    /// `std::optional<Classification>`); empty means success. Default none: every value succeeds.
    ResultClassifierT result_classifier{};
    /// The backoff for classes without an entry in `strategies`. Required unless `strategies`
    /// is set.
    StrategyT strategy{};
    /// Per-class strategies, used instead of `strategy` for failures of their class; no entry may
    /// be empty. Type-erased (one indirect call per retry).
    PerClass<AnyStrategy> strategies{};
    /// Total time for the operation, attempts and sleeps together, from the first attempt's start
    /// on `clock`; must be > 0. Checked after each failure and each sleep, and sleeps are clamped to
    /// what is left; a running attempt is not interrupted. Default 60 s.
    Duration deadline = std::chrono::seconds(60);
    /// Time limit of one attempt; must be > 0 when set. Cooperative (the operation's
    /// `std::stop_token`, if it takes one, is requested) except with Asio, which cancels; an
    /// answer later than this counts as `AttemptTimeoutError` (`Transient`). Default none.
    std::optional<Duration> attempt_timeout{};
    /// Attempts in all, the first included; must be >= 1. Default 6.
    int max_attempts = 6;
    /// Retries allowed for `Unknown` failures: 2 means the third `Unknown` failure stops
    /// (`MaxUnknownAttempts`); must be >= 0; none means no cap. Default 2.
    std::optional<int> max_unknown_attempts = 2;
    /// Per-class caps on attempts: `{RateLimit, 2}` stops at the second `RateLimit` failure
    /// (`MaxAttemptsPerClass`); each limit must be >= 0. Default none.
    PerClass<int> per_class_max_attempts{};
    /// A shared retry budget: each retry takes one unit before it sleeps, and an empty budget
    /// stops the operation (`BudgetExhausted`). The last attempt takes none. A budget that
    /// counts requests (a ratio budget) is also told of every operation, once, at its start.
    /// Default none.
    std::optional<Budget> budget{};
    /// Decides what to do with each planned sleep: `Sleep`, `Defer` (stop `Scheduled`) or `Abort`.
    /// A handler that throws aborts. Default none: always sleep.
    SleepHandler sleep{};
    /// Observes each sleep just before it starts (after the `retry` event). Exceptions are
    /// swallowed. Default none.
    BeforeSleepHook before_sleep{};
    /// Performs each wait, also a zero one. A throwing sleeper aborts. Default none: `call()`
    /// waits on the calling thread and a stop request wakes it at once.
    Sleeper sleeper{};
    /// The clock of the deadline, of `elapsed` and of attempt lateness (not of the default
    /// sleeper's wait). Default `std::chrono::steady_clock`.
    AnyClock clock{};
    /// Receives every event (for metrics). Exceptions are swallowed.
    EventHook on_metric{};
    /// Receives every event, like `on_metric` (for logs). Exceptions are swallowed.
    EventHook on_log{};
    /// Called before each attempt runs. Exceptions are swallowed.
    AttemptHook on_attempt_start{};
    /// Called after each attempt with its decision. Exceptions are swallowed.
    AttemptHook on_attempt_end{};
    /// Polled before each attempt, after each failure and after the `retry` event; true stops the
    /// operation as `Aborted`. A predicate that throws counts as false.
    AbortPredicate abort_if{};
    /// Key=value pairs every event of every call carries (`Event::tags`), such as the service or
    /// the downstream's name; a call's `CallOptions::tags` add to them. Default none.
    Tags tags{};
};

/// Retry settings to share between services or load from configuration, without the
/// classifier (which is code). `RetryPolicy<>::from_config(cfg, classifier)` builds a policy.
struct RetryConfig {
    /// The backoff for classes without an entry in `strategies`. Required unless `strategies`
    /// is set.
    AnyStrategy strategy{};
    /// As `Retry::strategies`.
    PerClass<AnyStrategy> strategies{};
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
    /// As `Retry::budget`: a handle, so every policy built from this config shares it.
    std::optional<Budget> budget{};
};

/// Per-call options of `call()`, `execute()` and `context()`. Each hook set here wins over
/// the policy's hook of the same name. `stop_token` and `abort_if` both request a
/// cooperative abort; a stop request also wakes a retry that is sleeping.
struct CallOptions {
    /// A name for this call, passed to events and attempt hooks as `operation`. Must outlive
    /// the call; not copied (except into a timeline).
    std::string_view operation{};
    /// Key=value pairs every event of this call carries (`Event::tags`), after the policy's
    /// `Retry::tags` (a key set in both takes this value). Held inline: no allocation.
    Tags tags{};
    /// Overrides `Retry::on_metric` for this call.
    EventHook on_metric{};
    /// Overrides `Retry::on_log` for this call.
    EventHook on_log{};
    /// Overrides `Retry::on_attempt_start` for this call.
    AttemptHook on_attempt_start{};
    /// Overrides `Retry::on_attempt_end` for this call.
    AttemptHook on_attempt_end{};
    /// Overrides `Retry::abort_if` for this call.
    AbortPredicate abort_if{};
    /// A stop request aborts the operation at the next abort point and wakes the default
    /// sleeper at once; the operation receives it when it takes a `std::stop_token`.
    std::stop_token stop_token{};
    /// Overrides `Retry::sleep` for this call.
    SleepHandler sleep{};
    /// Overrides `Retry::before_sleep` for this call.
    BeforeSleepHook before_sleep{};
    /// Overrides `Retry::sleeper` for this call.
    Sleeper sleeper{};
    /// Records the call's events into `Outcome::timeline`, or into the caller's timeline when
    /// one is given. Default off: nothing recorded, no allocation.
    TimelineCapture capture_timeline{};
};

namespace detail {

/// The options of a call made without any: one object for every policy (its destructor
/// and guard compiled once, not per policy type).
[[nodiscard]] const CallOptions& no_call_options() noexcept;

template <class T>
struct IsRetry : std::false_type {};
template <class C, class S, class R>
struct IsRetry<Retry<C, S, R>> : std::true_type {};

/// Whether a retry component has a result classifier (so returned values may be rejected).
template <class T>
struct RejectsResults : std::false_type {};
template <class C, class S, class R>
struct RejectsResults<Retry<C, S, R>> : std::bool_constant<!std::is_same_v<R, NoResultClassifier>> {};

/// Whether a strategy value is present: `NoStrategy` never, an empty `AnyStrategy` not.
template <class S>
[[nodiscard]] constexpr bool strategy_present(const S& s) noexcept {
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

/// Throws `InvalidOption` for an option of `Retry`.
[[noreturn]] void invalid_retry_option(std::string_view option, std::string_view rule);
[[noreturn]] void invalid_retry_option(std::string_view option, const Message& rule);

/// What the attempt loop reads of a `Retry`, whatever its classifier and strategy types: the
/// loop is then one class for every policy, its code shared by all of them (and compiled once
/// under separate compilation) instead of generated per policy type. Points into the `Retry`,
/// which outlives the loop. The retry's own strategy is reached through two function pointers
/// (an indirect call per retry; the per-class strategies were type-erased already), its
/// classifier through one more. The validation of a `Retry` reads the same view, and the sync
/// driver its clock and `attempt_timeout` (engine/sync_driver.hpp).
struct RetryView {
    const PerClass<AnyStrategy>* strategies = nullptr;
    const PerClass<int>* per_class_max_attempts = nullptr;
    const std::optional<int>* max_unknown_attempts = nullptr;
    const std::optional<Budget>* budget = nullptr;
    const AnyClock* clock = nullptr;
    const std::optional<Duration>* attempt_timeout = nullptr;
    Duration deadline{};
    int max_attempts = 0;
    /// The retry's own strategy; null when it has none (`NoStrategy`, an empty `AnyStrategy`).
    const void* strategy = nullptr;
    Duration (*sleep_of)(const void* strategy, const BackoffContext& ctx) = nullptr;
    void (*notify)(const void* strategy, bool success) = nullptr;
    /// The retry's classifier, called through a function pointer (once per failure).
    const void* classifier = nullptr;
    Classification (*classify)(const void* classifier, const std::exception_ptr& error) = nullptr;
};

/// The view of `r` the attempt loop and the validation work on.
template <class RetryT>
[[nodiscard]] RetryView view_of(const RetryT& r) noexcept {
    RetryView v;
    v.strategies = &r.strategies;
    v.per_class_max_attempts = &r.per_class_max_attempts;
    v.max_unknown_attempts = &r.max_unknown_attempts;
    v.budget = &r.budget;
    v.clock = &r.clock;
    v.attempt_timeout = &r.attempt_timeout;
    v.deadline = r.deadline;
    v.max_attempts = r.max_attempts;
    using C = typename RetryT::classifier_type;
    v.classifier = &r.classifier;
    v.classify = [](const void* c, const std::exception_ptr& error) {
        return invoke_classifier(*static_cast<const C*>(c), error);
    };
    using S = typename RetryT::strategy_type;
    if constexpr (!std::is_same_v<S, NoStrategy>) {
        if (strategy_present(r.strategy)) {
            v.strategy = &r.strategy;
            v.sleep_of = [](const void* s, const BackoffContext& ctx) {
                return invoke_strategy(*static_cast<const S*>(s), ctx);
            };
            v.notify = [](const void* s, bool success) {
                if (success) {
                    notify_success(*static_cast<const S*>(s));
                } else {
                    notify_failure(*static_cast<const S*>(s));
                }
            };
        }
    }
    return v;
}

/// Validates the options a `RetryView` shows. (A template only to be compiled once under
/// separate compilation: `validate_options<void>`.)
template <class = void>
void validate_options(const RetryView& r);
REDRESS_EXTERN_TEMPLATE(void validate_options(const RetryView&))

/// The validation of a `Retry`'s options, shared by every policy constructor.
template <class C, class S, class R>
void validate(const Retry<C, S, R>& r) {
    validate_options(view_of(r));
}

}  // namespace detail
}  // namespace redress

#if !defined(REDRESS_SEPARATE_COMPILATION)
#include <redress/impl/retry.hpp>
#endif
