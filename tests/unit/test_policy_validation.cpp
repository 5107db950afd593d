// Construction-time validation (docs/contract.md, "Configuration"): every invalid option is rejected, naming it.
#include <catch2/catch.hpp>

#include <functional>
#include <string>

#include <redress/redress.hpp>
#include <redress/testing.hpp>

using namespace std::chrono_literals;
using redress::ErrorClass;

namespace {
using R = redress::Retry<redress::DefaultClassifier, redress::testing::InstantRetries>;

std::string construction_error(const std::function<void()>& build) {
    try {
        build();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "<no exception>";
}
}  // namespace

TEST_CASE("every invalid Retry option is rejected at construction with a message naming it") {
    struct Row {
        const char* option;
        std::function<void()> build;
    };
    const std::vector<Row> rows = {
        {"strategy", [] { redress::Policy p{redress::Retry{}}; }},
        {"strategy", [] { redress::Policy p{redress::Retry<redress::DefaultClassifier, redress::AnyStrategy>{}}; }},
        {"max_attempts", [] { redress::Policy p{R{.max_attempts = 0}}; }},
        {"max_attempts", [] { redress::Policy p{R{.max_attempts = -3}}; }},
        {"deadline", [] { redress::Policy p{R{.deadline = 0s}}; }},
        {"deadline", [] { redress::Policy p{R{.deadline = -1s}}; }},
        {"attempt_timeout", [] { redress::Policy p{R{.attempt_timeout = 0ms}}; }},
        {"attempt_timeout", [] { redress::Policy p{R{.attempt_timeout = -5ms}}; }},
        {"max_unknown_attempts", [] { redress::Policy p{R{.max_unknown_attempts = -1}}; }},
        {"per_class_max_attempts", [] { redress::Policy p{R{.per_class_max_attempts = {{ErrorClass::RateLimit, -1}}}}; }},
        {"strategies", [] {
             redress::Policy p{redress::Retry{.strategies = {{ErrorClass::RateLimit, redress::AnyStrategy{}}}}};
         }},
        {"failure_threshold", [] { redress::CircuitBreaker b{{.failure_threshold = 0}}; }},
        {"max_retries", [] { redress::Budget b{-1, 60s}; }},
        {"window", [] { redress::Budget b{10, 0s}; }},
    };
    for (const auto& row : rows) {
        INFO("option " << row.option);
        const auto message = construction_error(row.build);
        CHECK(message.find(row.option) != std::string::npos);
    }
}

namespace {
/// The option and component an invalid construction names, read from `InvalidOption`.
struct Named {
    std::string component;
    std::string option;
    std::string what;
};
Named invalid_option_of(const std::function<void()>& build) {
    try {
        build();
    } catch (const redress::InvalidOption& e) {
        return {std::string(e.component()), std::string(e.option()), e.what()};
    } catch (const std::exception& e) {
        return {"<not InvalidOption>", "", e.what()};
    }
    return {"<no exception>", "", ""};
}
}  // namespace

TEST_CASE("every component reports an invalid option as InvalidOption, naming component and option in one format") {
    struct Row {
        const char* component;
        const char* option;
        std::function<void()> build;
    };
    const std::vector<Row> rows = {
        {"Retry", "strategy", [] { redress::Policy p{redress::Retry{}}; }},
        {"Retry", "max_attempts", [] { redress::Policy p{R{.max_attempts = 0}}; }},
        {"Retry", "deadline", [] { redress::Policy p{R{.deadline = 0s}}; }},
        {"Retry", "attempt_timeout", [] { redress::Policy p{R{.attempt_timeout = -5ms}}; }},
        {"Retry", "max_unknown_attempts", [] { redress::Policy p{R{.max_unknown_attempts = -1}}; }},
        {"Retry", "per_class_max_attempts",
         [] { redress::Policy p{R{.per_class_max_attempts = {{ErrorClass::RateLimit, -1}}}}; }},
        {"Retry", "strategies",
         [] { redress::Policy p{redress::Retry{.strategies = {{ErrorClass::RateLimit, redress::AnyStrategy{}}}}}; }},
        {"CircuitBreakerOptions", "failure_threshold", [] { redress::CircuitBreaker b{{.failure_threshold = 0}}; }},
        {"CircuitBreakerOptions", "window", [] { redress::CircuitBreaker b{{.window = 0s}}; }},
        {"CircuitBreakerOptions", "recovery_timeout", [] { redress::CircuitBreaker b{{.recovery_timeout = -1s}}; }},
        {"CircuitBreakerOptions", "failure_ratio", [] { redress::CircuitBreaker b{{.failure_ratio = 1.5}}; }},
        {"CircuitBreakerOptions", "minimum_throughput", [] { redress::CircuitBreaker b{{.minimum_throughput = 0}}; }},
        {"CircuitBreakerOptions", "class_thresholds",
         [] { redress::CircuitBreaker b{{.class_thresholds = {{ErrorClass::RateLimit, 0}}}}; }},
        {"BudgetOptions", "max_retries", [] { redress::Budget b{-1, 60s}; }},
        {"BudgetOptions", "window", [] { redress::Budget b{10, 0s}; }},
        {"decorrelated_jitter", "base", [] { (void)redress::decorrelated_jitter({.base = -1ms}); }},
        {"decorrelated_jitter", "max", [] { (void)redress::decorrelated_jitter({.base = 2s, .max = 1s}); }},
        {"equal_jitter", "base", [] { (void)redress::equal_jitter({.base = -1ms}); }},
        {"token_backoff", "max", [] { (void)redress::token_backoff({.base = 2s, .max = 1s}); }},
        {"full_jitter", "base", [] { (void)redress::full_jitter({.base = -1ms}); }},
        {"exponential", "multiplier", [] { (void)redress::exponential({.multiplier = 0.5}); }},
        {"constant", "sleep", [] { (void)redress::constant(-1ms); }},
        {"linear", "step", [] { (void)redress::linear({.step = -1ms}); }},
        {"retry_after_or", "jitter", [] { (void)redress::retry_after_or(redress::constant(1s), -1ms); }},
        {"adaptive", "window", [] { (void)redress::adaptive(redress::constant(1s), {.window = 0s}); }},
        {"adaptive", "target_success", [] { (void)redress::adaptive(redress::constant(1s), {.target_success = 0}); }},
    };
    for (const auto& row : rows) {
        const Named named = invalid_option_of(row.build);
        INFO(row.component << "::" << row.option << " -> " << named.component << "::" << named.option << " (" << named.what
                           << ")");
        CHECK(named.component == row.component);
        CHECK(named.option == row.option);
        // One format: "redress: <component>::<option> <rule>".
        const std::string prefix = std::string("redress: ") + row.component + "::" + row.option + " ";
        CHECK(named.what.rfind(prefix, 0) == 0);
    }
}

TEST_CASE("valid edge values are accepted") {
    CHECK_NOTHROW(redress::Policy{R{.max_attempts = 1}});
    CHECK_NOTHROW(redress::Policy{R{.deadline = 1ns}});
    CHECK_NOTHROW(redress::Policy{R{.max_unknown_attempts = 0}});
    CHECK_NOTHROW(redress::Policy{R{.max_unknown_attempts = std::nullopt}});
    CHECK_NOTHROW(redress::Policy{R{.per_class_max_attempts = {{ErrorClass::RateLimit, 0}}}});
    // Per-class strategies alone are enough.
    CHECK_NOTHROW(redress::Policy{redress::Retry{.strategies = {{ErrorClass::RateLimit, redress::testing::instant_retries}}}});
}

TEST_CASE("the README's policy shape, with a breaker, compiles as written") {
    redress::Policy policy{
        redress::Retry{
            .classifier = redress::default_classifier,
            .strategy = redress::decorrelated_jitter({.max = 5s}),
            .deadline = 30s,
            .max_attempts = 5,
        },
        redress::CircuitBreaker{{.failure_threshold = 5, .window = 60s, .recovery_timeout = 30s}},
    };
    int v = policy.call([] { return 41 + 1; }, {.operation = "fetch"});
    auto outcome = policy.execute([] { return 7; });
    CHECK(v == 42);
    CHECK(outcome.ok);
    CHECK(outcome.value == 7);
}
