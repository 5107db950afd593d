// RecordingPolicy and FakePolicy: test doubles for code that takes a policy.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include <redress/decorator.hpp>
#include <redress/macros.hpp>
#include <redress/redress.hpp>
#include <redress/testing.hpp>
#include <redress/testing/fake_policy.hpp>
#include <redress/testing/recording_policy.hpp>

#include "recorder.hpp"

using namespace std::chrono_literals;
using redress::ErrorClass;
using redress::EventName;
using redress::StopReason;
using redress::testing::FakePolicy;
using redress::testing::ManualClock;
using redress::testing::RecordingPolicy;

namespace {

struct ConnectionReset : std::runtime_error {
    ConnectionReset() : std::runtime_error("connection reset") {}
};

/// Code under test: takes its policy as a template parameter.
template <class P>
std::string load_profile(const P& policy, int& fetches) {
    try {
        return policy.call([&] {
            if (++fetches < 2) throw ConnectionReset();
            return std::string("profile");
        }, {.operation = "load_profile"});
    } catch (const redress::CircuitOpenError&) {
        return "cached profile";
    } catch (const std::exception&) {
        return "unavailable";
    }
}

auto virtual_policy(ManualClock clock) {
    return redress::Policy(redress::Retry{.strategy = redress::testing::instant_retries,
                                          .max_attempts = 3,
                                          .sleeper = redress::testing::AdvancingSleeper(clock),
                                          .clock = clock});
}

}  // namespace

TEST_CASE("RecordingPolicy runs calls under the real policy and records operation, outcome and events") {
    ManualClock clock;
    RecordingPolicy recording{virtual_policy(clock)};
    int fetches = 0;
    CHECK(load_profile(recording, fetches) == "profile");
    CHECK(fetches == 2);
    REQUIRE(recording.call_count() == 1);
    const auto call = recording.last_call();
    CHECK(call.operation == "load_profile");
    CHECK(call.ok);
    CHECK(call.attempts == 2);
    CHECK(call.event_names() == std::vector<EventName>{EventName::Retry, EventName::Success});
    CHECK(call.events[0].error_class == ErrorClass::Transient);
}

TEST_CASE("RecordingPolicy keeps the exceptions and outcomes of the wrapped policy") {
    ManualClock clock;
    RecordingPolicy recording{virtual_policy(clock)};
    CHECK_THROWS_AS(recording.call([]() -> int { throw redress::PermanentError("bad"); }), redress::PermanentError);
    auto out = recording.execute([]() -> int { throw ConnectionReset(); }, {.operation = "op"});
    CHECK_FALSE(out.ok);
    CHECK(out.attempts == 3);
    CHECK(out.timeline == nullptr);  // not asked for: not handed out
    const auto calls = recording.calls();
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].stop_reason == StopReason::NonRetryableClass);
    CHECK(calls[0].event_names() == std::vector<EventName>{EventName::PermanentFail});
    CHECK(calls[1].stop_reason == StopReason::MaxAttemptsGlobal);
    CHECK(recording.operations() == std::vector<std::string>{"", "op"});
    recording.clear();
    CHECK(recording.call_count() == 0);
    CHECK_THROWS_AS(recording.last_call(), std::out_of_range);
}

TEST_CASE("RecordingPolicy leaves the policy's and the call's hooks and timelines alone") {
    ManualClock clock;
    redress_test::Recorder policy_hook;
    redress::Policy policy{redress::Retry{.strategy = redress::testing::instant_retries,
                                          .sleeper = redress::testing::AdvancingSleeper(clock),
                                          .clock = clock,
                                          .on_metric = policy_hook.hook()}};
    RecordingPolicy recording{policy};
    auto mine = std::make_shared<redress::RetryTimeline>();
    mine->events.resize(1);  // a reused timeline with an earlier event
    int n = 0;
    auto out = recording.execute([&] { return ++n < 2 ? throw ConnectionReset() : n; }, {.capture_timeline = mine});
    CHECK(out.ok);
    CHECK(out.timeline == mine);
    CHECK(mine->events.size() == 3);
    CHECK(policy_hook.lines() == std::vector<std::string>{"retry#1 class=TRANSIENT", "success#2"});
    CHECK(recording.last_call().events.size() == 2);  // only this call's events
}

TEST_CASE("RecordingPolicy reports breaker rejections as CircuitOpenError with the state") {
    redress::testing::FakeCircuitBreaker breaker{redress::testing::BreakerDecision::Reject};
    ManualClock clock;
    RecordingPolicy recording{redress::Policy{redress::Retry{.strategy = redress::testing::instant_retries, .clock = clock}, breaker}};
    int fetches = 0;
    CHECK(load_profile(recording, fetches) == "cached profile");
    CHECK(fetches == 0);
    CHECK(recording.last_call().stop_reason == StopReason::CircuitOpen);
    CHECK(recording.last_call().event_names() == std::vector<EventName>{EventName::CircuitRejected});
}

TEST_CASE("RecordingPolicy works with context(), REDRESS_RETRY and redress::retry") {
    ManualClock clock;
    RecordingPolicy recording{virtual_policy(clock)};
    auto run = recording.context({.operation = "batch"});
    CHECK(run([](int a, int b) { return a + b; }, 1, 2) == 3);
    CHECK(run.execute([] { return 1; }).ok);
    CHECK(REDRESS_RETRY(recording, 40 + 2) == 42);
    auto twice = redress::retry([](int x) { return 2 * x; }, recording, "twice");
    CHECK(twice(4) == 8);
    CHECK(recording.operations() == std::vector<std::string>{"batch", "batch", "40 + 2", "twice"});
}

TEST_CASE("FakePolicy::always_succeed runs the function exactly once, even when it fails") {
    auto fake = FakePolicy::always_succeed();
    int fetches = 0;
    CHECK(load_profile(fake, fetches) == "unavailable");  // the first fetch fails; no retry
    CHECK(fetches == 1);
    CHECK(load_profile(fake, fetches) == "profile");
    CHECK(fake.calls() == 2);
    CHECK(fake.runs() == 2);
    CHECK(fake.operations() == std::vector<std::string>{"load_profile", "load_profile"});
    auto out = fake.execute([]() -> int { throw ConnectionReset(); });
    CHECK(out.attempts == 1);
    CHECK(out.last_class == ErrorClass::Transient);
    CHECK(out.stop_reason == StopReason::MaxAttemptsGlobal);
}

TEST_CASE("FakePolicy::fail_with reports the scripted failure without running the function") {
    auto fake = FakePolicy::fail_with(StopReason::MaxAttemptsGlobal, ErrorClass::ServerError);
    redress_test::Recorder events;
    int runs = 0;
    auto out = fake.execute([&] { return ++runs; }, {.operation = "op", .on_metric = events.hook()});
    CHECK(runs == 0);
    CHECK_FALSE(out.ok);
    CHECK(out.stop_reason == StopReason::MaxAttemptsGlobal);
    CHECK(out.last_class == ErrorClass::ServerError);
    CHECK(out.cause == redress::FailureCause::Exception);
    CHECK(events.lines() == std::vector<std::string>{"max_attempts_exceeded#1 class=SERVER_ERROR stop=MAX_ATTEMPTS_GLOBAL"});
    CHECK(events.error_types() == std::vector<std::string>{"redress::ServerError"});
    CHECK_THROWS_AS(fake.call([&] { return ++runs; }), redress::ServerError);
    CHECK(fake.runs() == 0);
}

TEST_CASE("FakePolicy throws what call() would for aborts, deferrals and rejections") {
    CHECK_THROWS_AS(FakePolicy::fail_with(StopReason::Aborted).call([] { return 1; }), redress::AbortRetryError);
    try {
        FakePolicy::fail_with({.stop_reason = StopReason::Scheduled, .klass = ErrorClass::RateLimit, .attempts = 2,
                               .next_sleep = 3s})
            .call([] { return 1; });
        FAIL("no exception");
    } catch (const redress::RetryExhaustedError& e) {
        CHECK(e.stop_reason() == StopReason::Scheduled);
        CHECK(e.attempts() == 2);
        CHECK(e.next_sleep() == 3s);
    }
    try {
        FakePolicy::reject().call([] { return 1; });
        FAIL("no exception");
    } catch (const redress::CircuitOpenError& e) {
        CHECK(e.state() == redress::CircuitState::Open);
    }
    auto custom = FakePolicy::fail_with({.error = std::make_exception_ptr(std::logic_error("mine"))});
    CHECK_THROWS_AS(custom.call([] {}), std::logic_error);
}

TEST_CASE("FakePolicy scripts steps in order and repeats the last one") {
    auto fake = FakePolicy::reject().then_fail_with(StopReason::DeadlineExceeded).then_succeed();
    int fetches = 0;
    CHECK(load_profile(fake, fetches) == "cached profile");
    CHECK(load_profile(fake, fetches) == "unavailable");
    CHECK(fake.execute([] { return 5; }).value == 5);
    CHECK(fake.execute([] { return 6; }).value == 6);
    CHECK(fake.calls() == 4);
    CHECK(fake.runs() == 2);
    auto copy = fake;  // a handle: shares the record
    (void)copy.execute([] {});
    CHECK(fake.calls() == 5);
}

TEST_CASE("FakePolicy context binds the operation") {
    FakePolicy fake;
    auto run = fake.context({.operation = "batch"});
    CHECK(run([](int x) { return x + 1; }, 1) == 2);
    run([] {});
    CHECK(fake.operations() == std::vector<std::string>{"batch", "batch"});
}
