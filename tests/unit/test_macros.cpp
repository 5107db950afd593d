// REDRESS_RETRY, REDRESS_RETRY_WITH, REDRESS_EXECUTE, and the operation names they give.
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

std::string http_get(const std::string& url) { return url; }

struct Client {
    std::string get(const std::string& url) const { return url; }
    template <class T>
    T parse(const std::string& text) const {
        return static_cast<T>(text.size());
    }
};

namespace api {
int fetch(int id) { return id; }
}  // namespace api

#define FETCH_VIA_MACRO(id) api::fetch(id)

}  // namespace

TEST_CASE("REDRESS_RETRY re-evaluates the expression on every attempt and names the operation after the called function") {
    ManualClock clock;
    redress_test::Recorder events;
    auto policy = instant_policy(clock, events);
    int calls = 0;
    const int v = REDRESS_RETRY(policy, flaky_counter(calls, 2));
    CHECK(v == 30);
    CHECK(calls == 3);
    const auto ops = events.operations();
    REQUIRE(ops.size() == 3);  // retry, retry, success
    for (const auto& op : ops) CHECK(op == "flaky_counter");
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
    CHECK(per_call.operations() == std::vector<std::string>{"flaky_counter", "flaky_counter"});

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
    CHECK(events.operations().back() == "flaky_counter");
}

TEST_CASE("REDRESS_RETRY names a call by its function, never by its arguments") {
    ManualClock clock;
    redress_test::Recorder events;
    auto policy = instant_policy(clock, events);
    const Client client;
    const Client* ptr = &client;
    const std::string url = "https://example.org/users?id=42";

    CHECK(REDRESS_RETRY(policy, http_get("https://example.org/")) == "https://example.org/");
    CHECK(REDRESS_RETRY(policy, client.get(url)) == url);
    CHECK(REDRESS_RETRY(policy, ptr->get(url)) == url);
    CHECK(REDRESS_RETRY(policy, api::fetch(7)) == 7);
    CHECK(REDRESS_RETRY(policy, ::api::fetch(7)) == 7);
    CHECK(REDRESS_RETRY(policy, client.parse<int>("abc")) == 3);
    CHECK(REDRESS_RETRY(policy, (http_get(url))) == url);
    CHECK(REDRESS_RETRY(policy, http_get(url).size()) == url.size());
    CHECK(REDRESS_RETRY(policy, FETCH_VIA_MACRO(9)) == 9);  // the text as written, not expanded
    CHECK(events.operations() == std::vector<std::string>{"http_get", "client.get", "ptr->get", "api::fetch",
                                                          "::api::fetch", "client.parse<int>", "http_get", "size",
                                                          "FETCH_VIA_MACRO"});
}

TEST_CASE("REDRESS_RETRY names an expression that calls no named function by its text") {
    ManualClock clock;
    redress_test::Recorder events;
    auto policy = instant_policy(clock, events);
    const std::vector<int> table{5, 6};
    const int value = 3;
    CHECK(REDRESS_RETRY(policy, 40 + 2) == 42);
    CHECK(REDRESS_RETRY(policy, table[1]) == 6);
    CHECK(REDRESS_RETRY(policy, value) == 3);
    CHECK(REDRESS_RETRY(policy, [] { return 1; }()) == 1);
    CHECK(events.operations() == std::vector<std::string>{"40 + 2", "table[1]", "value", "[] { return 1; }()"});
}

TEST_CASE("the operation name is read at compile time, and literals in arguments cannot confuse it") {
    using redress::detail::operation_name;
    using redress::detail::operation_name_after_options;
    // Each shape of callee.
    STATIC_REQUIRE(operation_name("http_get(\"https://example.org/\")") == "http_get");
    STATIC_REQUIRE(operation_name("client.get(url)") == "client.get");
    STATIC_REQUIRE(operation_name("ns::fetch(x)") == "ns::fetch");
    STATIC_REQUIRE(operation_name("a::b::c(x)") == "a::b::c");
    STATIC_REQUIRE(operation_name("ptr->load(k, 2)") == "ptr->load");
    STATIC_REQUIRE(operation_name("this->load(k)") == "this->load");
    STATIC_REQUIRE(operation_name("fetch<User>(id)") == "fetch<User>");
    STATIC_REQUIRE(operation_name("std::vector<int>::size(v)") == "std::vector<int>::size");
    STATIC_REQUIRE(operation_name("get_client(region).fetch(id)") == "fetch");
    STATIC_REQUIRE(operation_name("pool.get(shard(key))->query(sql)") == "query");
    STATIC_REQUIRE(operation_name("clients[i].get(url)") == "get");
    STATIC_REQUIRE(operation_name("(void)flaky_counter(calls, 1)") == "flaky_counter");
    STATIC_REQUIRE(operation_name("((client.get(url)))") == "client.get");
    STATIC_REQUIRE(operation_name("  spaced ( 1 )  ") == "spaced");
    // Brackets inside literals do not count.
    STATIC_REQUIRE(operation_name("http_get(\"a)b(\")") == "http_get");
    STATIC_REQUIRE(operation_name("http_get(\"say \\\"(\\\"\")") == "http_get");
    STATIC_REQUIRE(operation_name("f(')')") == "f");
    STATIC_REQUIRE(operation_name("f('\\'', ')')") == "f");
    STATIC_REQUIRE(operation_name("f(1'000'000)") == "f");
    STATIC_REQUIRE(operation_name("f(0x1'F, ')')") == "f");
    STATIC_REQUIRE(operation_name("f(R\"x(a)\")\"b)x\")") == "f");
    STATIC_REQUIRE(operation_name("f(u8')')") == "f");
    // No named callee: the text.
    STATIC_REQUIRE(operation_name("40 + 2") == "40 + 2");
    STATIC_REQUIRE(operation_name("fs[i](x)") == "fs[i](x)");
    STATIC_REQUIRE(operation_name("make()(x)") == "make()(x)");
    STATIC_REQUIRE(operation_name("") == "");
    // REDRESS_RETRY_WITH: the expression follows the last comma outside brackets.
    STATIC_REQUIRE(operation_name_after_options("{.operation = \"x\", .on_log = h}, fetch(id, 2)") == "fetch");
    STATIC_REQUIRE(operation_name_after_options("opts, client.get(url)") == "client.get");
    STATIC_REQUIRE(operation_name_after_options("make_options(a, b), f(\",\")") == "f");
    STATIC_REQUIRE(operation_name_after_options("opts, (std::pair<int, int>{1, 2}.first)") ==
                   "std::pair<int, int>{1, 2}.first");
}

TEST_CASE("REDRESS_RETRY_WITH takes a braced list of options with several fields") {
    ManualClock clock;
    redress_test::Recorder events;
    redress_test::Recorder per_call;
    auto policy = instant_policy(clock, events);
    int calls = 0;
    CHECK(REDRESS_RETRY_WITH(policy, {.operation = "load", .on_metric = per_call.hook()}, flaky_counter(calls, 1)) == 20);
    CHECK(per_call.operations() == std::vector<std::string>{"load", "load"});

    redress_test::Recorder unnamed;
    int polls = 0;
    calls = 0;
    CHECK(REDRESS_RETRY_WITH(policy, {.on_metric = unnamed.hook(), .abort_if = [&polls] { return ++polls > 100; }},
                             flaky_counter(calls, 2)) == 30);
    CHECK(unnamed.operations() == std::vector<std::string>{"flaky_counter", "flaky_counter", "flaky_counter"});
    CHECK(polls > 0);

    redress_test::Recorder typed;
    calls = 0;
    CHECK(REDRESS_RETRY_WITH(policy, redress::CallOptions{.operation = "typed", .on_metric = typed.hook()},
                             flaky_counter(calls, 0)) == 10);
    CHECK(typed.operations() == std::vector<std::string>{"typed"});
    CHECK(events.lines().empty());  // every call's hook won over the policy's
}

TEST_CASE("REDRESS_RETRY_WITH takes an expression with commas in parentheses") {
    ManualClock clock;
    redress_test::Recorder events;
    redress_test::Recorder per_call;
    auto policy = instant_policy(clock, events);
    const auto n = REDRESS_RETRY_WITH(policy, {.on_metric = per_call.hook()},
                                      (std::map<int, std::string>{{2, "two"}, {3, "three"}}.size()));
    CHECK(n == 2U);
    CHECK(per_call.operations() == std::vector<std::string>{"size"});
}
