// redress::lint: errors for what a policy refuses, warnings for options that cannot act.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

#include <redress/lint.hpp>
#include <redress/redress.hpp>
#include <redress/testing.hpp>

using namespace std::chrono_literals;
using redress::ErrorClass;

namespace {

auto base() { return redress::Retry{.strategy = redress::constant(10ms)}; }

/// Lint errors and construction must agree: an error exactly when the policy throws.
template <class R>
bool policy_refuses(const R& r) {
    try {
        redress::Policy p{r};
        (void)p;
        return false;
    } catch (const std::invalid_argument&) {
        return true;
    }
}

}  // namespace

TEST_CASE("lint of the documented defaults with a strategy is clean") {
    auto report = redress::lint(base());
    CHECK(report.clean());
    CHECK(report.ok());
    CHECK(report.to_string().empty());
}

TEST_CASE("lint reports as errors exactly what a policy refuses to build") {
    SECTION("no strategy at all") {
        redress::Retry<> r{};
        auto report = redress::lint(r);
        REQUIRE(report.errors.size() == 1);
        CHECK(report.errors[0].code == "no-strategy");
        CHECK(report.errors[0].option == "strategy");
        CHECK(policy_refuses(r));
    }
    SECTION("max_attempts below 1") {
        auto r = base();
        r.max_attempts = 0;
        CHECK(redress::lint(r).has("max-attempts"));
        CHECK_FALSE(redress::lint(r).ok());
        CHECK(policy_refuses(r));
    }
    SECTION("deadline not positive") {
        auto r = base();
        r.deadline = 0s;
        CHECK(redress::lint(r).has("deadline"));
        CHECK(policy_refuses(r));
    }
    SECTION("attempt_timeout not positive") {
        auto r = base();
        r.attempt_timeout = -1ms;
        CHECK(redress::lint(r).has("attempt-timeout"));
        CHECK(policy_refuses(r));
    }
    SECTION("negative caps") {
        auto r = base();
        r.max_unknown_attempts = -1;
        r.per_class_max_attempts = {{ErrorClass::RateLimit, -2}};
        auto report = redress::lint(r);
        CHECK(report.has("max-unknown-attempts"));
        CHECK(report.has("per-class-max-attempts"));
        CHECK(report.errors.size() == 2);
        CHECK(policy_refuses(r));
    }
}

TEST_CASE("lint warns when attempt_timeout is not shorter than the deadline") {
    auto r = base();
    r.deadline = 2s;
    r.attempt_timeout = 2s;
    CHECK(redress::lint(r).has("attempt-timeout-ge-deadline"));
    r.attempt_timeout = 1999ms;
    CHECK_FALSE(redress::lint(r).has("attempt-timeout-ge-deadline"));
}

TEST_CASE("lint warns when max_unknown_attempts can never trigger, and only then") {
    auto r = base();
    r.max_attempts = 3;
    r.max_unknown_attempts = 2;  // stops at unknown failure 3 == attempt 3: can trigger
    CHECK(redress::lint(r).clean());
    r.max_unknown_attempts = 3;  // would stop at failure 4, max_attempts stops at 3
    auto report = redress::lint(r);
    REQUIRE(report.warnings.size() == 1);
    CHECK(report.warnings[0].code == "max-unknown-attempts-unreachable");
    CHECK(report.warnings[0].option == "max_unknown_attempts");
    r.max_unknown_attempts.reset();  // unbounded: nothing to say
    CHECK(redress::lint(r).clean());
}

TEST_CASE("the unknown-cap boundary agrees with the engine") {
    // max_unknown_attempts + 1 == max_attempts: the cap is what stops the operation.
    redress::testing::ManualClock clock;
    redress::Policy policy{redress::Retry{.strategy = redress::testing::instant_retries,
                                          .max_attempts = 3,
                                          .max_unknown_attempts = 2,
                                          .sleeper = redress::testing::AdvancingSleeper(clock),
                                          .clock = clock}};
    auto out = policy.execute([]() -> int { throw 42; });
    CHECK(out.stop_reason == redress::StopReason::MaxUnknownAttempts);
    CHECK_FALSE(redress::lint(policy).has("max-unknown-attempts-unreachable"));
}

TEST_CASE("lint warns when a per-class UNKNOWN limit shadows max_unknown_attempts") {
    auto r = base();
    r.max_unknown_attempts = 3;
    r.per_class_max_attempts = {{ErrorClass::Unknown, 2}};
    CHECK(redress::lint(r).has("max-unknown-attempts-shadowed"));
    r.per_class_max_attempts = {{ErrorClass::Unknown, 5}};
    CHECK_FALSE(redress::lint(r).has("max-unknown-attempts-shadowed"));
}

TEST_CASE("lint warns about per-class limits that cannot limit anything") {
    auto r = base();
    r.max_attempts = 4;
    r.per_class_max_attempts = {{ErrorClass::RateLimit, 5}, {ErrorClass::ServerError, 4}, {ErrorClass::Transient, 3},
                                {ErrorClass::Auth, 2}};
    auto report = redress::lint(r);
    CHECK(report.has("per-class-limit-unreachable"));     // RATE_LIMIT 5 > 4
    CHECK(report.has("per-class-limit-no-effect"));       // SERVER_ERROR 4 == 4
    CHECK(report.has("per-class-limit-non-retryable"));   // AUTH
    CHECK(report.warnings.size() == 3);                   // TRANSIENT 3 is fine
    CHECK(report.ok());
}

TEST_CASE("lint warns about strategies for classes that are never retried, and classes left without one") {
    redress::Retry r{.strategies = {{ErrorClass::Permanent, redress::constant(1ms)},
                                    {ErrorClass::Transient, redress::constant(1ms)}}};
    auto report = redress::lint(r);
    CHECK(report.ok());
    CHECK(report.has("strategy-non-retryable"));
    REQUIRE(report.has("classes-without-strategy"));
    for (const auto& w : report.warnings)
        if (w.code == "classes-without-strategy") {
            CHECK(w.message.find("RATE_LIMIT") != std::string::npos);
            CHECK(w.message.find("TRANSIENT") == std::string::npos);
        }
}

TEST_CASE("lint warns about a budget of zero retries and about max_attempts 1") {
    auto r = base();
    r.budget = redress::Budget{0, 60s};
    CHECK(redress::lint(r).has("budget-zero"));
    CHECK(redress::lint(redress::testing::no_retries()).has("strategy-unused"));
}

TEST_CASE("lint reads RetryConfig and built policies alike") {
    redress::RetryConfig cfg{.deadline = 1s, .attempt_timeout = 5s};
    auto report = redress::lint(cfg);
    CHECK(report.has("no-strategy"));
    CHECK(report.has("attempt-timeout-ge-deadline"));
    cfg.strategy = redress::constant(1ms);
    CHECK(redress::lint(cfg).ok());

    redress::Policy breaker_only{redress::CircuitBreaker{}};
    CHECK(redress::lint(breaker_only).clean());
    redress::Policy both{base(), redress::CircuitBreaker{}};
    CHECK(redress::lint(both).clean());
}
