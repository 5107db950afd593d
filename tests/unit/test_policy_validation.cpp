// Construction-time validation of SPEC §3: every invalid option is rejected, naming it.
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

TEST_CASE("valid edge values are accepted") {
    CHECK_NOTHROW(redress::Policy{R{.max_attempts = 1}});
    CHECK_NOTHROW(redress::Policy{R{.deadline = 1ns}});
    CHECK_NOTHROW(redress::Policy{R{.max_unknown_attempts = 0}});
    CHECK_NOTHROW(redress::Policy{R{.max_unknown_attempts = std::nullopt}});
    CHECK_NOTHROW(redress::Policy{R{.per_class_max_attempts = {{ErrorClass::RateLimit, 0}}}});
    // Per-class strategies alone are enough.
    CHECK_NOTHROW(redress::Policy{redress::Retry{.strategies = {{ErrorClass::RateLimit, redress::testing::instant_retries}}}});
}

TEST_CASE("the SPEC §12 shape compiles as written") {
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
