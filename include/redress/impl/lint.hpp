// <redress/impl/lint.hpp>: the definitions <redress/lint.hpp> declares.
// Included at the end of that header, or once, by <redress/impl/src.hpp> under separate
// compilation (detail/attributes.hpp says which definitions live here).
#pragma once

#include <redress/lint.hpp>

#include <chrono>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <redress/detail/attributes.hpp>

namespace redress {

REDRESS_DECL bool LintReport::has(std::string_view code) const noexcept {
    for (const auto* list : {&errors, &warnings, &notes})
        for (const auto& f : *list)
            if (f.code == code) return true;
    return false;
}

template <class>
std::string LintReport::to_string() const {
    std::string out;
    for (const auto& [kind, list] :
         {std::pair{"error", &errors}, std::pair{"warning", &warnings}, std::pair{"note", &notes}})
        for (const auto& f : *list) out += std::string(kind) + " " + f.code + " (" + f.option + "): " + f.message + "\n";
    return out;
}

namespace detail {

// ---- what lint knows of the built-in strategies' sleeps ----------------------------------

REDRESS_DECL double lint_growth(double base, double factor, int exponent, double cap) noexcept {
    double v = base;
    if (factor > 1.0)
        for (int i = 0; i < exponent && v < cap; ++i) v *= factor;
    return v < cap ? v : cap;
}

REDRESS_DECL Duration lint_duration(double ns) noexcept {
    constexpr double top = static_cast<double>(std::numeric_limits<Duration::rep>::max());
    if (!(ns > 0.0)) return Duration::zero();
    return ns >= top ? Duration::max() : Duration(static_cast<Duration::rep>(ns));
}

REDRESS_DECL std::optional<Duration> shortest_sleep(const Constant& s, int) { return s.sleep(); }
REDRESS_DECL std::optional<Duration> shortest_sleep(const DecorrelatedJitter& s, int) { return s.options().base; }
REDRESS_DECL std::optional<Duration> shortest_sleep(const FullJitter&, int) { return Duration::zero(); }
REDRESS_DECL std::optional<Duration> shortest_sleep(const EqualJitter& s, int retry) {
    return lint_duration(lint_growth(lint_ns(s.options().base), 2.0, retry, lint_ns(s.options().max)) / 2.0);
}
REDRESS_DECL std::optional<Duration> shortest_sleep(const TokenBackoff& s, int retry) {
    return lint_duration(lint_growth(lint_ns(s.options().base), 1.5, retry, lint_ns(s.options().max)) / 2.0);
}
REDRESS_DECL std::optional<Duration> shortest_sleep(const Exponential& s, int retry) {
    const auto& o = s.options();
    return lint_duration(lint_growth(lint_ns(o.base), o.multiplier, retry - 1, lint_ns(o.max)));
}
REDRESS_DECL std::optional<Duration> shortest_sleep(const Linear& s, int retry) {
    const auto& o = s.options();
    const double grown = lint_ns(o.base) + lint_ns(o.step) * static_cast<double>(retry - 1);
    return lint_duration(grown < lint_ns(o.max) ? grown : lint_ns(o.max));
}

// ---- the rules ---------------------------------------------------------------------------

template <class>
std::string lint_format(Duration d) {
    using namespace std::chrono;
    if (d == Duration::max()) return "forever";
    if (d != Duration::zero() && d % hours(1) == Duration::zero()) return std::to_string(duration_cast<hours>(d).count()) + " h";
    if (d % seconds(1) == Duration::zero()) return std::to_string(duration_cast<seconds>(d).count()) + " s";
    if (d % milliseconds(1) == Duration::zero()) return std::to_string(duration_cast<milliseconds>(d).count()) + " ms";
    if (d % microseconds(1) == Duration::zero()) return std::to_string(duration_cast<microseconds>(d).count()) + " us";
    return std::to_string(d.count()) + " ns";
}

template <class>
std::string class_name(ErrorClass k) {
    return std::string(to_string(k));
}

template <class>
LintReport lint_settings(const LintInput& in) {
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

    if (*in.budget && (**in.budget).is_window() && (**in.budget).options().max_retries == 0)
        warn("budget-zero", "budget", "max_retries is 0: the budget refuses every retry");

    // ---- what the default strategy's sleeps allow within the deadline --------------------
    // Read only for built-in strategies (see shortest_sleep); attempts are taken to cost no
    // time, so each finding holds a fortiori for real attempts.
    const SleepPlan& plan = in.sleeps;
    const bool retries = plan.known && in.max_attempts > 1 && in.deadline > Duration::zero();
    const bool only_default = in.strategies->empty();  // no per-class strategy may sleep less
    if (retries && plan.first >= in.deadline) {
        warn("backoff-ge-deadline", "strategy",
             "the shortest first sleep (" + lint_format(plan.first) + ") is not shorter than the deadline (" +
                 lint_format(in.deadline) +
                 "): every retry is cut by the deadline (the sleep is shortened to the time left and the operation "
                 "ends at its deadline)");
    } else if (retries && only_default && plan.attempts_started < in.max_attempts) {
        warn("max-attempts-beyond-deadline", "max_attempts",
             "(" + n + ") is not reached before the deadline: the shortest sleeps before attempt " +
                 std::to_string(plan.attempts_started + 1) + " add up to " + lint_format(plan.slept) +
                 ", at or past the deadline (" + lint_format(in.deadline) + "), so at most " +
                 std::to_string(plan.attempts_started) +
                 " attempts start before it; lower max_attempts or the backoff, or raise the deadline");
    }
    if (retries && only_default && *in.budget && (**in.budget).is_window()) {
        const Duration window = (**in.budget).options().window;
        if (window < plan.first)
            warn("budget-window-lt-backoff", "budget",
                 "window (" + lint_format(window) + ") is shorter than the shortest sleep between attempts (" +
                     lint_format(plan.first) +
                     "): a retry leaves the window before the same operation retries again, so the budget bounds "
                     "only bursts across operations (" +
                     std::to_string((**in.budget).options().max_retries) + " per " + lint_format(window) +
                     "); a window spans several backoffs, typically 10 s or more");
    }

    if (in.clock_resolution) {
        const Duration tick = *in.clock_resolution;
        if (in.deadline < tick)
            warn("deadline-below-clock-resolution", "deadline",
                 "(" + lint_format(in.deadline) + ") is shorter than the clock's resolution (" + lint_format(tick) +
                     "): on the coarse clock the time spent reads 0 until a tick passes, so the deadline is "
                     "checked only to the tick");
        if (in.attempt_timeout && *in.attempt_timeout < tick)
            warn("attempt-timeout-below-clock-resolution", "attempt_timeout",
                 "(" + lint_format(*in.attempt_timeout) + ") is shorter than the clock's resolution (" +
                     lint_format(tick) + "): a late answer is seen only to the tick");
    }

    // A note, not a warning: the operation may bound itself (a socket or transfer timeout),
    // which lint cannot see.
    if (in.max_time.is_infinite() && in.max_attempts >= 1 && in.deadline > Duration::zero())
        report.notes.push_back(
            {"time-unbounded", in.attempt_timeout ? "deadline" : "attempt_timeout",
             in.attempt_timeout
                 ? "the worst-case time of an operation is beyond Duration::max() (redress::envelope(...).max_time "
                   "is infinite): lower the deadline"
                 : "is not set: an attempt may run for ever, so nothing bounds how long an operation takes "
                   "(redress::envelope(...).max_time is infinite); with an attempt_timeout the worst case is at most "
                   "the deadline plus one attempt_timeout"});

    if (in.deadline >= std::chrono::hours(1))
        report.notes.push_back(
            {"deadline-long", "deadline",
             "is " + lint_format(in.deadline) +
                 ": one operation may keep its caller retrying that long; for work that can wait, defer the retry "
                 "with a sleep handler (StopReason::Scheduled) and run it again later"});
    return report;
}

template <class>
void lint_breaker(const CircuitBreakerOptions& o, LintReport& report) {
    // Count mode opens on a number of failures per window whatever the traffic: for a busy
    // service a handful per window is noise, not an outage.
    constexpr long long busy_calls_per_second = 10000;
    const int threshold = o.failure_threshold.value_or(0);
    if (threshold > 0 && threshold <= 10 && o.window >= std::chrono::seconds(10)) {
        const long long seconds = std::chrono::duration_cast<std::chrono::seconds>(o.window).count();
        report.notes.push_back(
            {"breaker-count-threshold", "failure_threshold",
             "count mode opens the breaker on " + std::to_string(threshold) + " failures in " +
                 lint_format(o.window) + " whatever the traffic: at 10000 calls/s that is 1 failure in " +
                 std::to_string(busy_calls_per_second * seconds / threshold) +
                 " calls; for a busy service leave the mode unset (failure ratio) or set failure_ratio"});
    }
    const bool ratio_mode = !o.failure_threshold && !o.consecutive_failures;
    const CircuitBreakerOptions defaults{};
    if (!ratio_mode && o.minimum_throughput != defaults.minimum_throughput) {
        report.warnings.push_back({"breaker-unused-minimum-throughput", "minimum_throughput",
                                   "minimum_throughput applies to ratio mode only; this breaker counts " +
                                       std::string(o.failure_threshold ? "failures in the window (failure_threshold)"
                                                                       : "failures in a row (consecutive_failures)")});
    }
    // A ratio over a handful of calls is noise: at a minimum of 5, 3 failures of 5 calls open a
    // breaker at ratio 0.5, which a healthy service at a 10 % error rate reaches by chance.
    constexpr int small_throughput = 20;
    if (ratio_mode && o.minimum_throughput < small_throughput) {
        report.notes.push_back({"breaker-small-minimum-throughput", "minimum_throughput",
                                "a failure ratio over fewer than " + std::to_string(small_throughput) +
                                    " calls is noise (minimum_throughput = " + std::to_string(o.minimum_throughput) +
                                    "): a few unlucky calls open the breaker"});
    }
    if (!o.recovery_backoff && o.max_recovery_timeout != defaults.max_recovery_timeout) {
        report.warnings.push_back({"breaker-unused-max-recovery-timeout", "max_recovery_timeout",
                                   "max_recovery_timeout caps recovery_backoff, which is not set: the breaker "
                                   "always waits recovery_timeout"});
    }
}

}  // namespace detail

template <class>
LintReport lint(const RetryConfig& config) {
    return detail::lint_settings(detail::LintInput{
        .has_default_strategy = static_cast<bool>(config.strategy),
        .strategies = &config.strategies,
        .deadline = config.deadline,
        .attempt_timeout = config.attempt_timeout,
        .max_attempts = config.max_attempts,
        .max_unknown_attempts = config.max_unknown_attempts,
        .per_class_max_attempts = &config.per_class_max_attempts,
        .budget = &config.budget,
        .max_time = envelope(config).max_time,
    });
}

template <class>
LintReport lint(const CircuitBreaker& breaker) {
    LintReport report;
    detail::lint_breaker(breaker.options(), report);
    return report;
}


}  // namespace redress
