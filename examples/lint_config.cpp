// redress::lint: check a configuration for mistakes, in a test or at start-up.
#include <redress/lint.hpp>
#include <redress/redress.hpp>

#include <cstdio>

using namespace std::chrono_literals;
using redress::ErrorClass;

int main() {
    // snippet-begin: pitfalls-1
    redress::Retry retry{
        .strategy = redress::exponential({.base = 1s}),  // sleeps 1 s, 2 s, 4 s...
        .deadline = 5s,
        .attempt_timeout = 10s,  // longer than the deadline: a timed-out attempt is never retried
        .max_attempts = 6,       // the sleeps before attempt 4 add up to 7 s: the deadline stops first
        .per_class_max_attempts = {{ErrorClass::RateLimit, 8}},  // 8 > max_attempts: never triggers
    };
    // snippet-end: pitfalls-1

    // snippet-begin: usage-patterns-42
    const redress::LintReport report = redress::lint(retry);
    // snippet-end: usage-patterns-42
    std::printf("%s", report.to_string().c_str());

    // In a unit test: CHECK(redress::lint(policy).clean());
    const bool as_expected = report.ok() && !report.clean() && report.has("attempt-timeout-ge-deadline") &&
                             report.has("max-attempts-beyond-deadline") && report.has("per-class-limit-unreachable") &&
                             report.warnings.size() == 3;

    // A policy is checked with its breaker. Count mode, 5 failures in 60 s: a note, since
    // whether that is too sensitive depends on the traffic.
    redress::Policy policy{redress::Retry{.strategy = redress::decorrelated_jitter({.max = 5s})},
                           redress::CircuitBreaker{{.failure_threshold = 5}}};
    const redress::LintReport with_breaker = redress::lint(policy);
    std::printf("%s", with_breaker.to_string().c_str());

    redress::RetryConfig missing_strategy{.max_attempts = 0};
    const auto errors = redress::lint(missing_strategy);
    std::printf("%s", errors.to_string().c_str());
    return as_expected && with_breaker.clean() && with_breaker.has("breaker-count-threshold") &&
                   errors.has("no-strategy") && errors.has("max-attempts")
               ? 0
               : 1;
}
