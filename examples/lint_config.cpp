// redress::lint: check a configuration for mistakes, in a test or at start-up.
#include <redress/lint.hpp>
#include <redress/redress.hpp>

#include <cstdio>

using namespace std::chrono_literals;
using redress::ErrorClass;

int main() {
    redress::Retry retry{
        .strategy = redress::decorrelated_jitter({.max = 5s}),
        .deadline = 2s,
        .attempt_timeout = 5s,  // longer than the deadline: a timed-out attempt is never retried
        .max_attempts = 3,
        .per_class_max_attempts = {{ErrorClass::RateLimit, 5}},  // 5 > max_attempts: never triggers
    };

    const redress::LintReport report = redress::lint(retry);
    std::printf("%s", report.to_string().c_str());

    // In a unit test: CHECK(redress::lint(policy).clean());
    const bool as_expected = report.ok() && !report.clean() && report.has("attempt-timeout-ge-deadline") &&
                             report.has("per-class-limit-unreachable") && report.warnings.size() == 2;

    redress::RetryConfig missing_strategy{.max_attempts = 0};
    const auto errors = redress::lint(missing_strategy);
    std::printf("%s", errors.to_string().c_str());
    return as_expected && errors.has("no-strategy") && errors.has("max-attempts") ? 0 : 1;
}
