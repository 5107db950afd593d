// redress::retry: the decorator, for synchronous and coroutine callables.
#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <redress/decorator.hpp>
#include <redress/redress.hpp>
#include <redress/testing.hpp>

#include "recorder.hpp"

using namespace std::chrono_literals;
using redress::testing::AdvancingSleeper;
using redress::testing::ManualClock;

namespace {

struct ConnectionReset : std::runtime_error {
    ConnectionReset() : std::runtime_error("connection reset") {}
};

int failures_left = 0;
int free_calls = 0;

int add(int a, int b) {
    ++free_calls;
    if (failures_left-- > 0) throw ConnectionReset();
    return a + b;
}

struct Client {
    int fails = 0;
    int calls = 0;
    std::string fetch(const std::string& key) {
        ++calls;
        if (fails-- > 0) throw redress::ServerError("503");
        return "value of " + key;
    }
    int size() const { return 3; }
};

template <class S = redress::testing::InstantRetries>
auto virtual_retry(ManualClock clock, redress_test::Recorder& events, S strategy = {}) {
    return redress::Retry<redress::DefaultClassifier, S>{
        .strategy = strategy,
        .max_attempts = 3,
        .sleeper = AdvancingSleeper(clock),
        .clock = clock,
        .on_metric = events.hook(),
    };
}

}  // namespace

TEST_CASE("retry() wraps a free function with the same parameters and retries it") {
    ManualClock clock;
    redress_test::Recorder events;
    failures_left = 2;
    free_calls = 0;
    auto safe_add = redress::retry(add, virtual_retry(clock, events), "add");
    CHECK(safe_add(2, 3) == 5);
    CHECK(free_calls == 3);
    CHECK(events.operations() == std::vector<std::string>{"add", "add", "add"});
    CHECK(safe_add.operation() == "add");
}

TEST_CASE("retry() wraps a member function, the object is the first argument") {
    ManualClock clock;
    redress_test::Recorder events;
    Client client{.fails = 1};
    auto fetch = redress::retry(&Client::fetch, virtual_retry(clock, events));
    CHECK(fetch(client, std::string("k")) == "value of k");
    CHECK(client.calls == 2);
    CHECK(events.lines() == std::vector<std::string>{"retry#1 class=SERVER_ERROR", "success#2"});

    auto size = redress::retry(&Client::size, virtual_retry(clock, events));
    const Client& cref = client;
    CHECK(size(cref) == 3);
    CHECK(size(&client) == 3);
}

TEST_CASE("retry() passes the same arguments to every attempt, never moved-from ones") {
    ManualClock clock;
    redress_test::Recorder events;
    std::vector<std::string> seen;
    auto f = redress::retry(
        [&seen](std::string s) {
            seen.push_back(s);
            if (seen.size() < 3) throw ConnectionReset();
            return s.size();
        },
        virtual_retry(clock, events));
    CHECK(f(std::string("abc")) == 3U);
    CHECK(seen == std::vector<std::string>{"abc", "abc", "abc"});
}

namespace {
/// Counts the copies made of it and whether it was moved from.
struct Payload {
    static inline int copies = 0;
    std::string text;
    bool moved_from = false;
    explicit Payload(std::string t) : text(std::move(t)) {}
    Payload(const Payload& other) : text(other.text), moved_from(other.moved_from) { ++copies; }
    Payload(Payload&& other) noexcept : text(std::move(other.text)), moved_from(other.moved_from) {
        other.moved_from = true;
    }
    Payload& operator=(const Payload&) = delete;
    Payload& operator=(Payload&&) = delete;
    ~Payload() = default;
};
}  // namespace

TEST_CASE("retry() wraps a function taking T&&: each attempt moves from its own fresh copy") {
    ManualClock clock;
    redress_test::Recorder events;
    std::vector<std::string> seen;
    auto consume = [&seen](Payload&& p) {
        const Payload mine = std::move(p);  // takes the argument, as a T&& parameter may
        seen.push_back(mine.moved_from ? "<moved-from>" : mine.text);
        if (seen.size() < 3) throw ConnectionReset();
        return mine.text.size();
    };
    auto f = redress::retry(consume, virtual_retry(clock, events));

    Payload::copies = 0;
    Payload original("abc");
    CHECK(f(std::move(original)) == 3U);
    CHECK(seen == std::vector<std::string>{"abc", "abc", "abc"});
    CHECK(Payload::copies == 3);  // one per attempt
    CHECK_FALSE(original.moved_from);
    CHECK(original.text == "abc");

    seen.clear();
    auto out = f.execute(Payload("xy"));
    CHECK(out.ok);
    CHECK(out.value == 2U);
    CHECK(seen == std::vector<std::string>{"xy", "xy", "xy"});

    // As with a direct call, an lvalue does not bind to T&&.
    STATIC_REQUIRE_FALSE(std::is_invocable_v<decltype(f), Payload&>);
    STATIC_REQUIRE(std::is_invocable_v<decltype(f), Payload>);
}

TEST_CASE("retry() passes lvalue arguments as the caller's objects and copies nothing it need not") {
    ManualClock clock;
    redress_test::Recorder events;
    auto append = [](std::vector<int>& out, const Payload& p, std::string&& tag) {
        out.push_back(static_cast<int>(p.text.size() + tag.size()));
        if (out.size() < 2) throw ConnectionReset();
        return out.size();
    };
    auto f = redress::retry(append, virtual_retry(clock, events));
    std::vector<int> out;
    Payload::copies = 0;
    const Payload p("abcd");
    CHECK(f(out, p, std::string("xy")) == 2U);
    CHECK(out == std::vector<int>{6, 6});  // the same vector on both attempts
    CHECK(Payload::copies == 0);           // a const& parameter binds to the caller's object

    // A move-only argument taken by reference is not copied either.
    auto read = redress::retry([](const std::unique_ptr<int>& q) { return *q; }, virtual_retry(clock, events));
    CHECK(read(std::make_unique<int>(5)) == 5);
}

TEST_CASE("retry() with no options uses default_classifier and decorrelated_jitter up to 5s") {
    int calls = 0;
    auto f = redress::retry([&calls] {
        ++calls;
        throw redress::PermanentError("bad request");
    });
    using P = std::decay_t<decltype(f.policy())>;
    STATIC_REQUIRE(std::is_same_v<P::retry_type, redress::Retry<redress::DefaultClassifier, redress::DecorrelatedJitter>>);
    CHECK(f.policy().retry().strategy.options().max == 5s);
    CHECK(f.policy().retry().max_attempts == 6);
    auto out = f.execute();
    CHECK_FALSE(out.ok);
    CHECK(out.stop_reason == redress::StopReason::NonRetryableClass);
    CHECK(calls == 1);
    CHECK(f.operation().empty());
}

TEST_CASE("retry() injects the default strategy into a Retry without one, but not next to per-class strategies") {
    auto f = redress::retry([] { return 1; }, redress::Retry{.max_attempts = 2});
    REQUIRE(static_cast<bool>(f.policy().retry().strategy));
    CHECK(f() == 1);

    auto g = redress::retry([] { return 1; },
                            redress::Retry{.strategies = {{redress::ErrorClass::RateLimit, redress::constant(1ms)}}});
    CHECK_FALSE(static_cast<bool>(g.policy().retry().strategy));
    auto out = g.execute();
    CHECK(out.ok);
}

TEST_CASE("retry() validates the Retry it is given") {
    CHECK_THROWS_AS(redress::retry([] { return 1; }, redress::Retry{.strategy = redress::constant(1ms), .max_attempts = 0}),
                    std::invalid_argument);
}

TEST_CASE("retry() uses a given policy, by copy or shared with std::ref, and CallOptions for every call") {
    ManualClock clock;
    redress_test::Recorder policy_events;
    redress_test::Recorder call_events;
    redress::Policy policy{virtual_retry(clock, policy_events)};
    int calls = 0;
    auto flaky = [&calls] {
        if (++calls % 2 == 1) throw ConnectionReset();
        return calls;
    };
    auto shared = redress::retry(flaky, std::ref(policy), redress::CallOptions{.operation = "flaky", .on_metric = call_events.hook()});
    CHECK(&shared.policy() == &policy);
    CHECK(shared() == 2);
    CHECK(policy_events.lines().empty());
    CHECK(call_events.operations() == std::vector<std::string>{"flaky", "flaky"});

    auto copied = redress::retry(flaky, policy, std::string("named"));
    CHECK(&copied.policy() != &policy);
    CHECK(copied() == 4);
    CHECK(policy_events.operations() == std::vector<std::string>{"named", "named"});
}

TEST_CASE("retry() wrappers are copyable and keep their operation name") {
    redress_test::Recorder events;
    ManualClock clock;
    auto f = redress::retry([] { return 7; }, virtual_retry(clock, events), std::string("seven"));
    auto g = f;
    auto h = std::move(f);
    CHECK(g() == 7);
    CHECK(h() == 7);
    CHECK(events.operations() == std::vector<std::string>{"seven", "seven"});
}

TEST_CASE("retry() throws what call() throws, execute() reports it") {
    ManualClock clock;
    redress_test::Recorder events;
    failures_left = 100;
    free_calls = 0;
    auto safe_add = redress::retry(add, virtual_retry(clock, events));
    CHECK_THROWS_AS(safe_add(1, 1), std::runtime_error);
    CHECK(free_calls == 3);
    auto out = safe_add.execute(1, 1);
    CHECK(out.attempts == 3);
    CHECK(out.stop_reason == redress::StopReason::MaxAttemptsGlobal);
}

namespace {
struct FakeAwaitable {
    bool await_ready() const noexcept { return true; }
    void await_suspend(auto) const noexcept {}
    int await_resume() const noexcept { return 1; }
};
}  // namespace

TEST_CASE("callables that return awaitables go through the coroutine path") {
    auto f = redress::retry([] { return FakeAwaitable{}; });
    STATIC_REQUIRE(std::is_same_v<decltype(f()), redress::Task<int>>);
    CHECK(redress::sync_wait(f()) == 1);
    STATIC_REQUIRE(std::is_same_v<decltype(redress::retry([] { return 1; })()), int>);
}

namespace {
int coro_calls = 0;
redress::Task<int> flaky_double(int x) {
    if (coro_calls++ < 2) throw redress::ServerError("503");
    co_return 2 * x;
}

struct Inventory {
    int fetches = 0;
    redress::Task<int> stock(int sku) {
        if (++fetches == 1) throw redress::ServerError("503");
        co_return sku + 100;
    }
};
}  // namespace

TEST_CASE("redress::retry wraps a coroutine function: retried, same parameters, awaitable result") {
    coro_calls = 0;
    auto wrapped = redress::retry(flaky_double, redress::Retry{.strategy = redress::testing::instant_retries},
                                  redress::CallOptions{.sleeper = [](redress::Duration) {}});
    CHECK(redress::sync_wait(wrapped(21)) == 42);
    CHECK(coro_calls == 3);
    coro_calls = 0;
    auto out = redress::sync_wait(wrapped.execute(5));
    CHECK(out.ok);
    CHECK(out.value == 10);
    CHECK(out.attempts == 3);
}

TEST_CASE("redress::retry wraps a member coroutine function, the object is held by reference") {
    Inventory inventory;
    auto stock = redress::retry(&Inventory::stock, redress::Retry{.strategy = redress::testing::instant_retries},
                                redress::CallOptions{.sleeper = [](redress::Duration) {}});
    CHECK(redress::sync_wait(stock(inventory, 7)) == 107);
    CHECK(inventory.fetches == 2);
}
