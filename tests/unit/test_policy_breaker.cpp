// Policy<Retry, CircuitBreaker> and the breaker-only Policy: the composition rules of docs/contract.md ("Circuit breaker").
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include <redress/redress.hpp>
#include <redress/testing.hpp>

#include "recorder.hpp"

using namespace std::chrono_literals;
using redress::CircuitState;
using redress::ErrorClass;
using redress::StopReason;
using redress::testing::ManualClock;
using Lines = std::vector<std::string>;

namespace {
struct Fixture {
    ManualClock clock;
    redress_test::Recorder events;
    redress::CircuitBreaker breaker{{.failure_threshold = 3, .window = 60s, .recovery_timeout = 30s, .clock = clock}};
    redress::Policy<redress::Retry<redress::DefaultClassifier, redress::testing::InstantRetries>, redress::CircuitBreaker>
        policy{redress::Retry{.strategy = redress::testing::instant_retries,
                              .max_attempts = 2,
                              .sleeper = redress::testing::AdvancingSleeper(clock),
                              .clock = clock},
               breaker};
    redress::CallOptions options() { return {.operation = "downstream", .on_metric = events.hook()}; }
};

int failing_hard(int* calls) {
    ++*calls;
    throw redress::ServerError("503");
}
}  // namespace

TEST_CASE("through a Policy: failures open the breaker, calls then fail fast, one probe closes it") {
    Fixture f;
    int calls = 0;
    // Each operation retries once (2 attempts) and tells the breaker one failure.
    for (int i = 0; i < 3; ++i) {
        auto out = f.policy.execute([&] { return failing_hard(&calls); }, f.options());
        CHECK(out.stop_reason == StopReason::MaxAttemptsGlobal);
    }
    CHECK(calls == 6);
    CHECK(f.breaker.state() == CircuitState::Open);
    CHECK(f.events.lines().back() == "circuit_opened#0 class=SERVER_ERROR state=open");

    // Open: rejected without calling the function.
    auto rejected = f.policy.execute([&] { return failing_hard(&calls); }, f.options());
    CHECK(rejected.stop_reason == StopReason::CircuitOpen);
    CHECK(rejected.attempts == 0);
    CHECK(calls == 6);
    CHECK(f.events.lines().back() == "circuit_rejected#0 state=open");
    try {
        (void)f.policy.call([&] { return failing_hard(&calls); });
        FAIL("no exception");
    } catch (const redress::CircuitOpenError& e) {
        CHECK(e.state() == CircuitState::Open);
    }
    CHECK(calls == 6);

    // After the recovery timeout exactly one probe goes through and closes it.
    f.clock.advance(30s);
    int probes = 0;
    auto probe = f.policy.execute([&] { return ++probes; }, f.options());
    CHECK(probe.ok);
    CHECK(probes == 1);
    CHECK(f.breaker.state() == CircuitState::Closed);
    const auto lines = f.events.lines();
    CHECK(Lines(lines.end() - 3, lines.end()) == Lines{"circuit_half_open#0 state=half_open", "success#1",
                                                       "circuit_closed#0 state=closed"});
}

TEST_CASE("a rejection is not recorded as a failure") {
    Fixture f;
    int calls = 0;
    for (int i = 0; i < 3; ++i) (void)f.policy.execute([&] { return failing_hard(&calls); });
    REQUIRE(f.breaker.state() == CircuitState::Open);
    for (int i = 0; i < 10; ++i) (void)f.policy.execute([&] { return failing_hard(&calls); });
    f.clock.advance(30s);
    // The probe succeeds: had rejections counted, the window would still be over threshold.
    CHECK(f.policy.execute([] { return 1; }).ok);
    CHECK(f.breaker.state() == CircuitState::Closed);
    CHECK(f.policy.execute([] { return 2; }).ok);
}

TEST_CASE("an aborted operation is a cancel: the probe slot is freed") {
    Fixture f;
    int calls = 0;
    for (int i = 0; i < 3; ++i) (void)f.policy.execute([&] { return failing_hard(&calls); });
    f.clock.advance(30s);
    auto aborted = f.policy.execute([&] { return failing_hard(&calls); }, {.abort_if = [&] { return calls >= 7; }});
    CHECK(aborted.stop_reason == StopReason::Aborted);
    // Not reopened, not stuck: the next call becomes the probe.
    int probes = 0;
    CHECK(f.policy.execute([&] { return ++probes; }).ok);
    CHECK(probes == 1);
    CHECK(f.breaker.state() == CircuitState::Closed);
}

TEST_CASE("the breaker hears the operation's last class: non-trip_on failures do not open it") {
    Fixture f;
    for (int i = 0; i < 5; ++i) {
        auto out = f.policy.execute([]() -> int { throw redress::PermanentError("400"); });
        CHECK(out.stop_reason == StopReason::NonRetryableClass);
    }
    CHECK(f.breaker.state() == CircuitState::Closed);
}

TEST_CASE("one breaker shared by two policies opens for both") {
    Fixture f;
    redress::Policy other{redress::Retry{.strategy = redress::testing::instant_retries, .max_attempts = 1}, f.breaker};
    int calls = 0;
    for (int i = 0; i < 3; ++i) (void)other.execute([&] { return failing_hard(&calls); });
    CHECK(f.policy.execute([] { return 1; }).stop_reason == StopReason::CircuitOpen);
}

TEST_CASE("a breaker-only policy runs one attempt, classifies with default_classifier, has no stop reason") {
    ManualClock clock;
    redress_test::Recorder events;
    redress::CircuitBreaker breaker{{.failure_threshold = 2, .recovery_timeout = 10s, .clock = clock}};
    redress::Policy policy{breaker};
    int calls = 0;
    auto out = policy.execute([&] { return failing_hard(&calls); }, {.on_metric = events.hook()});
    CHECK_FALSE(out.ok);
    CHECK(out.attempts == 1);
    CHECK_FALSE(out.stop_reason);
    CHECK(out.last_class == ErrorClass::ServerError);
    CHECK(calls == 1);
    CHECK_THROWS_AS(policy.call([&] { return failing_hard(&calls); }, {.on_metric = events.hook()}), redress::ServerError);
    CHECK(breaker.state() == CircuitState::Open);
    CHECK(policy.execute([] { return 1; }, {.on_metric = events.hook()}).stop_reason == StopReason::CircuitOpen);
    auto aborted = policy.execute([] { return 1; }, {.on_metric = events.hook(), .abort_if = [] { return true; }});
    CHECK(events.lines() == Lines{"circuit_opened#0 class=SERVER_ERROR state=open", "circuit_rejected#0 state=open",
                                  "circuit_rejected#0 state=open"});
    clock.advance(10s);
    auto probe_aborted = policy.execute([] { return 1; }, {.on_metric = events.hook(), .abort_if = [] { return true; }});
    CHECK(probe_aborted.stop_reason == StopReason::Aborted);
    CHECK(probe_aborted.attempts == 0);
    CHECK(events.lines().back() == "aborted#0 stop=ABORTED");
    CHECK(policy.execute([] { return 3; }).value == 3);  // the freed slot admits the next probe
    CHECK(breaker.state() == CircuitState::Closed);
    (void)aborted;
}

TEST_CASE("FakeCircuitBreaker stands in for the real one inside a Policy") {
    redress::testing::FakeCircuitBreaker fake{redress::testing::BreakerDecision::Reject,
                                              redress::testing::BreakerDecision::Probe};
    redress::Policy policy{redress::Retry{.strategy = redress::testing::instant_retries}, fake};
    int calls = 0;
    CHECK(policy.execute([&] { return ++calls; }).stop_reason == StopReason::CircuitOpen);
    CHECK(calls == 0);
    CHECK(policy.execute([&] { return ++calls; }).ok);
    CHECK(fake.allow_calls() == 2);
    CHECK(fake.successes() == 1);
}
