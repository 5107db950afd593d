// REDRESS_RETRY, REDRESS_RETRY_WITH, REDRESS_EXECUTE (SPEC §11).
#include <catch2/catch.hpp>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <redress/macros.hpp>
#include <redress/redress.hpp>
#include <redress/testing.hpp>

#include "recorder.hpp"

using namespace std::chrono_literals;
using redress::testing::ManualClock;

namespace {

struct ConnectionReset : std::runtime_error {
    ConnectionReset() : std::runtime_error("connection reset") {}
};

auto instant_policy(ManualClock clock, redress_test::Recorder& events) {
    return redress::Policy(redress::Retry<redress::DefaultClassifier, redress::testing::InstantRetries>{
        .strategy = redress::testing::instant_retries,
        .max_attempts = 4,
        .sleeper = redress::testing::AdvancingSleeper(clock),
        .clock = clock,
        .on_metric = events.hook(),
    });
}

int flaky_counter(int& calls, int fail_first) {
    ++calls;
    if (calls <= fail_first) throw ConnectionReset();
    return calls * 10;
}

}  // namespace

TEST_CASE("REDRESS_RETRY re-evaluates the expression on every attempt and names the operation after its text") {
    ManualClock clock;
    redress_test::Recorder events;
    auto policy = instant_policy(clock, events);
    int calls = 0;
    const int v = REDRESS_RETRY(policy, flaky_counter(calls, 2));
    CHECK(v == 30);
    CHECK(calls == 3);
    const auto ops = events.operations();
    REQUIRE(ops.size() == 3);  // retry, retry, success
    for (const auto& op : ops) CHECK(op == "flaky_counter(calls, 2)");
}

TEST_CASE("REDRESS_RETRY works for void expressions") {
    ManualClock clock;
    redress_test::Recorder events;
    auto policy = instant_policy(clock, events);
    int calls = 0;
    static_assert(std::is_void_v<decltype(REDRESS_RETRY(policy, (void)flaky_counter(calls, 1)))>);
    REDRESS_RETRY(policy, (void)flaky_counter(calls, 1));
    CHECK(calls == 2);
    CHECK(events.lines() == std::vector<std::string>{"retry#1 class=TRANSIENT", "success#2"});
}

TEST_CASE("REDRESS_RETRY accepts expressions with commas and returns by value") {
    ManualClock clock;
    redress_test::Recorder events;
    auto policy = instant_policy(clock, events);
    std::map<int, std::string> table{{1, "one"}};
    std::string& ref = table[1];
    auto copy = REDRESS_RETRY(policy, std::map<int, std::string>{{2, "two"}, {3, "three"}}.size());
    CHECK(copy == 2U);
    auto s = REDRESS_RETRY(policy, ref);
    static_assert(std::is_same_v<decltype(s), std::string>);
    CHECK(s == "one");
}

TEST_CASE("REDRESS_RETRY throws what call() throws once the policy stops") {
    ManualClock clock;
    redress_test::Recorder events;
    auto policy = instant_policy(clock, events);
    int calls = 0;
    CHECK_THROWS_AS(REDRESS_RETRY(policy, flaky_counter(calls, 100)), std::runtime_error);
    CHECK(calls == 4);
}

TEST_CASE("REDRESS_RETRY_WITH uses the given options, and their operation wins over the text") {
    ManualClock clock;
    redress_test::Recorder events;
    redress_test::Recorder per_call;
    auto policy = instant_policy(clock, events);
    int calls = 0;
    redress::CallOptions opts{.on_metric = per_call.hook()};
    CHECK(REDRESS_RETRY_WITH(policy, opts, flaky_counter(calls, 1)) == 20);
    CHECK(events.lines().empty());  // the call's hook wins over the policy's
    CHECK(per_call.operations() == std::vector<std::string>{"flaky_counter(calls, 1)", "flaky_counter(calls, 1)"});

    redress_test::Recorder named;
    calls = 0;
    redress::CallOptions with_name{.operation = "load", .on_metric = named.hook()};
    CHECK(REDRESS_RETRY_WITH(policy, with_name, flaky_counter(calls, 0)) == 10);
    CHECK(named.operations() == std::vector<std::string>{"load"});
}

TEST_CASE("REDRESS_EXECUTE returns the outcome instead of throwing") {
    ManualClock clock;
    redress_test::Recorder events;
    auto policy = instant_policy(clock, events);
    int calls = 0;
    auto out = REDRESS_EXECUTE(policy, flaky_counter(calls, 100));
    CHECK_FALSE(out.ok);
    CHECK(out.attempts == 4);
    CHECK(out.stop_reason == redress::StopReason::MaxAttemptsGlobal);
    CHECK(events.operations().back() == "flaky_counter(calls, 100)");
}
