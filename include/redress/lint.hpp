// redress::lint: configuration mistakes found before they bite, like the Python doctor.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <redress/error_class.hpp>
#include <redress/policy.hpp>
#include <redress/retry.hpp>

namespace redress {

/// One finding of `lint`: a stable `code` (kebab-case, for filtering in tests), the `option`
/// it is about, and a sentence for people.
struct LintFinding {
    std::string code;     ///< stable identifier, e.g. `attempt-timeout-ge-deadline`
    std::string option;   ///< the option it is about, e.g. `attempt_timeout`
    std::string message;  ///< what is wrong and why, for people
};

/// What `lint` found. `errors` are configurations a policy refuses to build (the
/// `std::invalid_argument` cases of SPEC §3); `warnings` are valid configurations where an
/// option can never take effect or works against another.
/// A user's test: `CHECK(redress::lint(policy).clean());`.
struct LintReport {
    std::vector<LintFinding> errors{};    ///< what a policy would refuse to build
    std::vector<LintFinding> warnings{};  ///< valid, but an option can never take effect

    /// No errors (warnings allowed).
    [[nodiscard]] bool ok() const noexcept { return errors.empty(); }
    /// Neither errors nor warnings.
    [[nodiscard]] bool clean() const noexcept { return errors.empty() && warnings.empty(); }
    /// Whether a finding with this code was reported, as an error or a warning.
    [[nodiscard]] bool has(std::string_view code) const noexcept {
        for (const auto* list : {&errors, &warnings})
            for (const auto& f : *list)
                if (f.code == code) return true;
        return false;
    }
    /// Every finding as one line `error|warning <code> (<option>): <message>`.
    template <class = void>
    [[nodiscard]] std::string to_string() const {
        std::string out;
        for (const auto& [kind, list] : {std::pair{"error", &errors}, std::pair{"warning", &warnings}})
            for (const auto& f : *list) out += std::string(kind) + " " + f.code + " (" + f.option + "): " + f.message + "\n";
        return out;
    }
};

namespace detail {

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
};

template <class = void>
[[nodiscard]] std::string class_name(ErrorClass k) {
    return std::string(to_string(k));
}

// A template (on an unused parameter), like the public `lint` overloads, so that only a
// translation unit that lints compiles the checks and their string building.
template <class = void>
[[nodiscard]] LintReport lint_settings(const LintInput& in) {
    LintReport report;
    auto error = [&](std::string code, std::string option, std::string message) {
        report.errors.push_back({std::move(code), std::move(option), std::move(message)});
    };
    auto warn = [&](std::string code, std::string option, std::string message) {
        report.warnings.push_back({std::move(code), std::move(option), std::move(message)});
    };
    const auto n = std::to_string(in.max_attempts);

    // ---- errors: what a policy refuses to build ------------------------------------------
    if (!in.has_default_strategy && in.strategies->empty())
        error("no-strategy", "strategy", "neither 'strategy' nor 'strategies' is set: no failure could be retried");
    if (in.max_attempts < 1) error("max-attempts", "max_attempts", "must be >= 1 (it counts the first attempt), is " + n);
    if (in.deadline <= Duration::zero()) error("deadline", "deadline", "must be > 0");
    if (in.attempt_timeout && *in.attempt_timeout <= Duration::zero())
        error("attempt-timeout", "attempt_timeout", "must be > 0 when set");
    if (in.max_unknown_attempts && *in.max_unknown_attempts < 0)
        error("max-unknown-attempts", "max_unknown_attempts", "must be >= 0 when set");
    in.per_class_max_attempts->for_each([&](ErrorClass k, int limit) {
        if (limit < 0)
            error("per-class-max-attempts", "per_class_max_attempts",
                  "the limit of " + class_name(k) + " must be >= 0, is " + std::to_string(limit));
    });
    in.strategies->for_each([&](ErrorClass k, const AnyStrategy& s) {
        if (!s) error("empty-strategy", "strategies", "the entry for " + class_name(k) + " holds no strategy");
    });

    // ---- warnings: valid, but an option can never act -----------------------------------
    if (in.attempt_timeout && in.deadline > Duration::zero() && *in.attempt_timeout >= in.deadline)
        warn("attempt-timeout-ge-deadline", "attempt_timeout",
             "is not shorter than 'deadline': the deadline ends the operation before a timed-out attempt could be "
             "retried");

    // The unknown cap stops at unknown failure number max_unknown_attempts + 1, which is at
    // attempt max_unknown_attempts + 1 at the earliest; max_attempts stops at attempt
    // max_attempts. So the cap can act only if max_unknown_attempts + 1 <= max_attempts.
    if (in.max_unknown_attempts && *in.max_unknown_attempts >= 0 && in.max_attempts >= 1 &&
        *in.max_unknown_attempts >= in.max_attempts)
        warn("max-unknown-attempts-unreachable", "max_unknown_attempts",
             "(" + std::to_string(*in.max_unknown_attempts) + ") can never trigger: it stops at unknown failure " +
                 std::to_string(*in.max_unknown_attempts + 1) + ", but max_attempts (" + n + ") stops first");
    if (const int* unknown_limit = in.per_class_max_attempts->find(ErrorClass::Unknown);
        unknown_limit != nullptr && in.max_unknown_attempts && *in.max_unknown_attempts >= 0 &&
        *unknown_limit <= *in.max_unknown_attempts + 1 && *in.max_unknown_attempts < in.max_attempts)
        warn("max-unknown-attempts-shadowed", "max_unknown_attempts",
             "can never trigger: per_class_max_attempts for UNKNOWN (" + std::to_string(*unknown_limit) +
                 ") stops the operation at or before the same failure");

    in.per_class_max_attempts->for_each([&](ErrorClass k, int limit) {
        if (limit < 0 || in.max_attempts < 1) return;
        if (!is_retryable(k)) {
            warn("per-class-limit-non-retryable", "per_class_max_attempts",
                 "the limit for " + class_name(k) +
                     " has no effect on attempts: that class is never retried (it only changes the stop reason)");
        } else if (limit > in.max_attempts) {
            warn("per-class-limit-unreachable", "per_class_max_attempts",
                 "the limit for " + class_name(k) + " (" + std::to_string(limit) +
                     ") can never trigger: max_attempts (" + n + ") stops first");
        } else if (limit == in.max_attempts) {
            warn("per-class-limit-no-effect", "per_class_max_attempts",
                 "the limit for " + class_name(k) + " (" + std::to_string(limit) +
                     ") equals max_attempts: it never stops an operation earlier, only changes the stop reason");
        }
    });

    in.strategies->for_each([&](ErrorClass k, const AnyStrategy&) {
        if (!is_retryable(k))
            warn("strategy-non-retryable", "strategies",
                 "the strategy for " + class_name(k) + " is never used: that class is never retried");
    });

    if (!in.has_default_strategy && !in.strategies->empty()) {
        std::string missing;
        for (auto k : {ErrorClass::Concurrency, ErrorClass::RateLimit, ErrorClass::ServerError, ErrorClass::Transient,
                       ErrorClass::Unknown}) {
            if (!in.strategies->contains(k)) missing += (missing.empty() ? "" : ", ") + class_name(k);
        }
        if (!missing.empty())
            warn("classes-without-strategy", "strategy",
                 "no default 'strategy': failures of " + missing + " stop at once with NO_STRATEGY");
    }

    if (in.max_attempts == 1 && (in.has_default_strategy || !in.strategies->empty()))
        warn("strategy-unused", "max_attempts", "is 1: no retry ever happens, so no strategy is ever used");

    if (*in.budget && (**in.budget).options().max_retries == 0)
        warn("budget-zero", "budget", "max_retries is 0: the budget refuses every retry");
    return report;
}

}  // namespace detail

/// Checks a `Retry` for the mistakes a policy would reject (errors) and for options that can
/// never take effect (warnings). Never throws for a bad configuration (it reports it); may
/// throw `std::bad_alloc`. Cheap: no call of user code; linear in the number of classes.
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
    });
}

/// Checks shared settings (see `lint(const Retry&)`).
template <class = void>
[[nodiscard]] LintReport lint(const RetryConfig& config) {
    return detail::lint_settings(detail::LintInput{
        .has_default_strategy = static_cast<bool>(config.strategy),
        .strategies = &config.strategies,
        .deadline = config.deadline,
        .attempt_timeout = config.attempt_timeout,
        .max_attempts = config.max_attempts,
        .max_unknown_attempts = config.max_unknown_attempts,
        .per_class_max_attempts = &config.per_class_max_attempts,
        .budget = &config.budget,
    });
}

/// Checks a built policy's retry component (a breaker-only policy has nothing to check).
/// A built policy has no errors (construction validated it), so only warnings can appear.
template <class RetryT, class BreakerT>
[[nodiscard]] LintReport lint(const Policy<RetryT, BreakerT>& policy) {
    if constexpr (Policy<RetryT, BreakerT>::has_retry) {
        return lint(policy.retry());
    } else {
        (void)policy;
        return LintReport{};
    }
}

}  // namespace redress
