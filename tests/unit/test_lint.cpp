// redress::lint: errors for what a policy refuses, warnings for options that cannot act.
#include <catch2/catch.hpp>

#include <random>
#include <stdexcept>
#include <string>
#include <vector>

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
    // Only the note that the defaults set no attempt_timeout, so nothing bounds the time.
    REQUIRE(report.notes.size() == 1);
    CHECK(report.notes[0].code == "time-unbounded");
    auto timed = base();
    timed.attempt_timeout = 5s;
    CHECK(redress::lint(timed).to_string().empty());
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

    redress::Policy breaker_only{redress::CircuitBreaker{{.failure_threshold = 5}}};
    CHECK(redress::lint(breaker_only).clean());
    CHECK(redress::lint(breaker_only).has("breaker-count-threshold"));  // a note: clean() allows it
    redress::Policy both{base(), redress::CircuitBreaker{{.failure_threshold = 5}}};
    CHECK(redress::lint(both).clean());
    CHECK(redress::lint(both).has("breaker-count-threshold"));
}

namespace {

/// Runs `retry` (attempts cost no time, every attempt fails) in virtual time and counts the
/// attempts that start before the deadline.
template <class S>
int attempts_before_deadline(S strategy, redress::Duration deadline, int max_attempts) {
    redress::testing::ManualClock clock;
    redress::Policy policy{redress::Retry<redress::DefaultClassifier, S>{
        .strategy = strategy,
        .deadline = deadline,
        .max_attempts = max_attempts,
        .sleeper = redress::testing::AdvancingSleeper(clock),
        .clock = clock,
    }};
    std::vector<redress::Duration> starts;
    const auto origin = clock.now();
    (void)policy.execute([&]() -> int {
        starts.push_back(clock.now() - origin);
        throw redress::ServerError("503");  // retried, with no cap of its own
    });
    int before = 0;
    for (auto t : starts) before += t < deadline ? 1 : 0;
    return before;
}

template <class S>
redress::Retry<redress::DefaultClassifier, S> with(S strategy, redress::Duration deadline, int max_attempts = 6) {
    return {.strategy = strategy, .deadline = deadline, .max_attempts = max_attempts};
}

}  // namespace

TEST_CASE("lint warns when the shortest first backoff is not shorter than the deadline, for every built-in strategy") {
    CHECK(redress::lint(with(redress::constant(10s), 2s)).has("backoff-ge-deadline"));
    CHECK(redress::lint(with(redress::constant(2s), 2s)).has("backoff-ge-deadline"));
    CHECK_FALSE(redress::lint(with(redress::constant(1999ms), 2s)).has("backoff-ge-deadline"));
    CHECK(redress::lint(with(redress::decorrelated_jitter({.base = 2s}), 2s)).has("backoff-ge-deadline"));
    CHECK_FALSE(redress::lint(with(redress::decorrelated_jitter({.base = 1s}), 2s)).has("backoff-ge-deadline"));
    CHECK(redress::lint(with(redress::exponential({.base = 3s}), 2s)).has("backoff-ge-deadline"));
    CHECK(redress::lint(with(redress::linear({.base = 3s}), 2s)).has("backoff-ge-deadline"));
    // equal_jitter's first retry draws from [base, 2 base], token_backoff's from [0.75 base, 1.5 base].
    CHECK(redress::lint(with(redress::equal_jitter({.base = 2s}), 2s)).has("backoff-ge-deadline"));
    CHECK_FALSE(redress::lint(with(redress::equal_jitter({.base = 1999ms}), 2s)).has("backoff-ge-deadline"));
    CHECK(redress::lint(with(redress::token_backoff({.base = 2667ms}), 2s)).has("backoff-ge-deadline"));
    CHECK_FALSE(redress::lint(with(redress::token_backoff({.base = 2666ms}), 2s)).has("backoff-ge-deadline"));
    CHECK_FALSE(redress::lint(with(redress::full_jitter({.base = 10s, .max = 60s}), 2s)).has("backoff-ge-deadline"));
    // Failures without a server hint use the fallback.
    CHECK(redress::lint(with(redress::retry_after_or(redress::constant(10s)), 2s)).has("backoff-ge-deadline"));
    // Per-class strategies do not hide the default one's mistake.
    auto r = with(redress::constant(10s), 2s);
    r.strategies = {{ErrorClass::RateLimit, redress::constant(1ms)}};
    CHECK(redress::lint(r).has("backoff-ge-deadline"));
    // No retry, nothing to cut.
    CHECK_FALSE(redress::lint(with(redress::constant(10s), 2s, 1)).has("backoff-ge-deadline"));

    auto report = redress::lint(with(redress::constant(10s), 2s));
    REQUIRE(report.warnings.size() == 1);  // not also reported as max-attempts-beyond-deadline
    CHECK(report.warnings[0].option == "strategy");
    CHECK(report.warnings[0].message.find("(10 s)") != std::string::npos);
    CHECK(report.warnings[0].message.find("(2 s)") != std::string::npos);
    // What the engine does: the first sleep is cut to the time left, no attempt starts after
    // the deadline.
    CHECK(attempts_before_deadline(redress::constant(10s), 2s, 6) == 1);
}

TEST_CASE("lint warns when the deadline stops an operation before max_attempts, and says how many attempts fit") {
    // exponential 1 s, 2 s, 4 s, 8 s: before attempt 5 the sleeps add up to 15 s >= 10 s.
    auto report = redress::lint(with(redress::exponential({.base = 1s}), 10s));
    REQUIRE(report.has("max-attempts-beyond-deadline"));
    CHECK(report.warnings.size() == 1);
    CHECK(report.warnings[0].option == "max_attempts");
    CHECK(report.warnings[0].message.find("at most 4 attempts") != std::string::npos);
    CHECK(report.warnings[0].message.find("add up to 15 s") != std::string::npos);
    CHECK(attempts_before_deadline(redress::exponential({.base = 1s}), 10s, 6) == 4);

    CHECK_FALSE(redress::lint(with(redress::exponential({.base = 1s}), 10s, 4)).has("max-attempts-beyond-deadline"));
    // 1 + 2 + 4 + 8 + 16 = 31 s before attempt 6.
    CHECK(redress::lint(with(redress::exponential({.base = 1s}), 31s)).has("max-attempts-beyond-deadline"));
    CHECK_FALSE(redress::lint(with(redress::exponential({.base = 1s}), 32s)).has("max-attempts-beyond-deadline"));
    // Large max_attempts are summed without a loop per attempt, to the same answer.
    auto many = redress::lint(with(redress::constant(1ms), 10s, 5'000'000));
    REQUIRE(many.has("max-attempts-beyond-deadline"));
    CHECK(many.warnings[0].message.find("at most 10000 attempts") != std::string::npos);
    CHECK_FALSE(redress::lint(with(redress::full_jitter(), 10s, 5'000'000)).has("max-attempts-beyond-deadline"));
    // Per-class strategies may sleep less: nothing to conclude.
    auto r = with(redress::exponential({.base = 1s}), 10s);
    r.strategies = {{ErrorClass::RateLimit, redress::constant(1ms)}};
    CHECK_FALSE(redress::lint(r).has("max-attempts-beyond-deadline"));
}

TEST_CASE("lint's count of attempts that fit in the deadline agrees with the engine, over random configurations") {
    std::mt19937 rng(20240614);
    auto pick = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    const double multipliers[] = {1.0, 2.0, 3.0};
    for (int i = 0; i < 300; ++i) {
        const redress::Duration deadline = std::chrono::milliseconds(pick(1, 30'000));
        const int max_attempts = pick(1, 40);
        const redress::Duration base = std::chrono::milliseconds(pick(0, 3'000));
        const redress::Duration max = base + std::chrono::milliseconds(pick(0, 20'000));
        const redress::Duration step = std::chrono::milliseconds(pick(0, 2'000));
        const double multiplier = multipliers[pick(0, 2)];
        INFO("deadline " << deadline.count() << " max_attempts " << max_attempts << " base " << base.count() << " max "
                         << max.count() << " step " << step.count() << " multiplier " << multiplier);
        // Deterministic strategies: the bound is exact.
        auto exact = [&](auto strategy) {
            const auto plan = redress::detail::sleep_plan(strategy, max_attempts, deadline);
            REQUIRE(plan.known);
            CHECK(attempts_before_deadline(strategy, deadline, max_attempts) == plan.attempts_started);
            const bool warned = redress::lint(with(strategy, deadline, max_attempts)).has("max-attempts-beyond-deadline") ||
                                redress::lint(with(strategy, deadline, max_attempts)).has("backoff-ge-deadline");
            CHECK(warned == (plan.attempts_started < max_attempts));
        };
        exact(redress::constant(base));
        exact(redress::exponential({.base = base, .max = max, .multiplier = multiplier}));
        exact(redress::linear({.base = base, .step = step, .max = max}));
        // Jittered strategies: an upper bound.
        auto bound = [&](auto strategy) {
            const auto plan = redress::detail::sleep_plan(strategy, max_attempts, deadline);
            REQUIRE(plan.known);
            CHECK(attempts_before_deadline(strategy, deadline, max_attempts) <= plan.attempts_started);
        };
        bound(redress::decorrelated_jitter({.base = base, .max = max}));
        bound(redress::equal_jitter({.base = base, .max = max}));
        bound(redress::token_backoff({.base = base, .max = max}));
        bound(redress::full_jitter({.base = base, .max = max}));
    }
}

TEST_CASE("lint warns when the budget's window is shorter than the shortest backoff") {
    auto r = with(redress::constant(1s), 60s);
    r.budget = redress::Budget{10, 100ms};
    auto report = redress::lint(r);
    REQUIRE(report.has("budget-window-lt-backoff"));
    CHECK(report.warnings.size() == 1);
    CHECK(report.warnings[0].option == "budget");
    r.budget = redress::Budget{10, 1s};
    CHECK_FALSE(redress::lint(r).has("budget-window-lt-backoff"));
    r.budget = redress::Budget{10, 100ms};
    r.strategies = {{ErrorClass::RateLimit, redress::constant(1ms)}};  // may sleep less
    CHECK_FALSE(redress::lint(r).has("budget-window-lt-backoff"));
}

TEST_CASE("lint notes a count-mode breaker that a busy service opens at a tiny failure rate") {
    auto report = redress::lint(redress::CircuitBreaker{{.failure_threshold = 5}});  // 5 failures in 60 s
    CHECK(report.clean());
    REQUIRE(report.notes.size() == 1);
    CHECK(report.notes[0].code == "breaker-count-threshold");
    CHECK(report.notes[0].option == "failure_threshold");
    CHECK(report.notes[0].message.find("1 failure in 120000 calls") != std::string::npos);
    CHECK(report.to_string().rfind("note breaker-count-threshold (failure_threshold): ", 0) == 0);

    CHECK(redress::lint(redress::CircuitBreaker{{.failure_threshold = 10, .window = 10s}}).has("breaker-count-threshold"));
    CHECK_FALSE(redress::lint(redress::CircuitBreaker{{.failure_threshold = 11}}).has("breaker-count-threshold"));
    CHECK_FALSE(redress::lint(redress::CircuitBreaker{{.failure_threshold = 5, .window = 9s}}).has("breaker-count-threshold"));
    CHECK_FALSE(redress::lint(redress::CircuitBreaker{{.failure_ratio = 0.5}}).has("breaker-count-threshold"));
    CHECK_FALSE(redress::lint(redress::CircuitBreaker{{.consecutive_failures = 5}}).has("breaker-count-threshold"));
}

TEST_CASE("lint finds nothing to say about the default breaker (ratio mode, minimum throughput 100)") {
    const auto report = redress::lint(redress::CircuitBreaker{});
    CHECK(report.errors.empty());
    CHECK(report.warnings.empty());
    CHECK(report.notes.empty());
}

TEST_CASE("lint warns about breaker options the chosen mode never reads, and notes a ratio over a few calls") {
    auto report = redress::lint(redress::CircuitBreaker{{.failure_threshold = 50, .minimum_throughput = 20}});
    REQUIRE(report.warnings.size() == 1);
    CHECK(report.warnings[0].code == "breaker-unused-minimum-throughput");
    CHECK(report.warnings[0].option == "minimum_throughput");
    CHECK(redress::lint(redress::CircuitBreaker{{.consecutive_failures = 5, .minimum_throughput = 20}})
              .has("breaker-unused-minimum-throughput"));
    CHECK_FALSE(redress::lint(redress::CircuitBreaker{{.minimum_throughput = 20}}).has("breaker-unused-minimum-throughput"));

    report = redress::lint(redress::CircuitBreaker{{.max_recovery_timeout = 1h}});
    REQUIRE(report.warnings.size() == 1);
    CHECK(report.warnings[0].code == "breaker-unused-max-recovery-timeout");
    CHECK(redress::lint(redress::CircuitBreaker{{.recovery_backoff = redress::exponential({.base = 60s, .max = 1h}),
                                                 .max_recovery_timeout = 1h}})
              .clean());

    report = redress::lint(redress::CircuitBreaker{{.minimum_throughput = 19}});
    CHECK(report.clean());
    REQUIRE(report.notes.size() == 1);
    CHECK(report.notes[0].code == "breaker-small-minimum-throughput");
    CHECK_FALSE(redress::lint(redress::CircuitBreaker{{.minimum_throughput = 20}}).has("breaker-small-minimum-throughput"));
}

TEST_CASE("lint notes a deadline of an hour or more") {
    CHECK(redress::lint(with(redress::constant(1ms), 1h)).has("deadline-long"));
    CHECK(redress::lint(with(redress::constant(1ms), 1h)).clean());
    CHECK_FALSE(redress::lint(with(redress::constant(1ms), 59min)).has("deadline-long"));
}

TEST_CASE("lint draws no conclusion from sleeps it cannot know") {
    // A custom strategy, a type-erased one (RetryConfig), adaptive: the backoff rules stay quiet.
    auto custom = [](const redress::BackoffContext&) { return redress::Duration(10s); };
    CHECK(redress::lint(with(custom, 2s)).clean());
    redress::RetryConfig cfg{.strategy = redress::constant(10s), .deadline = 2s};
    CHECK(redress::lint(cfg).clean());
    CHECK(redress::lint(with(redress::adaptive(redress::constant(10s)), 2s)).clean());
}

TEST_CASE("lint warns when a deadline or attempt timeout is below the coarse clock's resolution") {
    const auto tick = redress::CoarseClock::resolution();
    if (tick <= 1ns) SUCCEED("this platform has no coarse clock: CoarseClock reads steady_clock");
    auto coarse = [](redress::Duration deadline, std::optional<redress::Duration> timeout) {
        return redress::Retry<redress::DefaultClassifier, redress::Constant>{.strategy = redress::constant(0ms),
                                                                              .deadline = deadline,
                                                                              .attempt_timeout = timeout,
                                                                              .clock = redress::CoarseClock{}};
    };
    if (tick > 1ns) {
        CHECK(redress::lint(coarse(tick / 2, std::nullopt)).has("deadline-below-clock-resolution"));
        CHECK(redress::lint(coarse(10s, tick / 2)).has("attempt-timeout-below-clock-resolution"));
        CHECK_FALSE(redress::lint(coarse(10s, tick)).has("attempt-timeout-below-clock-resolution"));
        CHECK_FALSE(redress::lint(coarse(tick, std::nullopt)).has("deadline-below-clock-resolution"));
    }
    // The steady clock's resolution is the nanosecond: never reported.
    auto steady = coarse(1ms, 1us);
    steady.clock = redress::AnyClock{};
    CHECK_FALSE(redress::lint(steady).has("deadline-below-clock-resolution"));
    CHECK_FALSE(redress::lint(steady).has("attempt-timeout-below-clock-resolution"));
}
