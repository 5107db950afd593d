// The attempt's own view: an operation that takes `const redress::Attempt&` sees its number,
// the time left before the deadline, its own deadline, its stop token, the operation's name and
// an idempotency key that is the same on every attempt of one operation and differs between
// operations. Sync (the quiet path and the full driver), Task and FakePolicy; Asio is in
// tests/asio.
#include <catch2/catch.hpp>

#include <set>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <vector>

#include <redress/redress.hpp>
#include <redress/testing.hpp>

using namespace std::chrono_literals;
using redress::Attempt;
using redress::Task;
using redress::testing::ManualClock;

namespace {

/// What one attempt saw, copied out of the view.
struct Seen {
    int number;
    redress::Duration time_left;
    std::optional<redress::TimePoint> deadline;
    bool stoppable;
    std::string operation;
    std::string key;
};

bool uuid_v4(const std::string& key) {
    if (key.size() != 36) return false;
    for (std::size_t i = 0; i < key.size(); ++i) {
        const char c = key[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return key[14] == '4' && std::string("89ab").find(key[19]) != std::string::npos;
}

/// A policy on a manual clock: 10 s deadline, constant 1 s backoff, sleeps advance the clock.
auto make_retry(ManualClock clock, std::optional<redress::Duration> attempt_timeout = std::nullopt) {
    return redress::Retry{.strategy = redress::constant(1s),
                          .deadline = 10s,
                          .attempt_timeout = attempt_timeout,
                          .max_attempts = 5,
                          .sleeper = redress::testing::AdvancingSleeper(clock),
                          .clock = clock};
}

/// Fails (ServerError) on the first `failures` attempts, each costing 250 ms of virtual time.
struct Recording {
    ManualClock clock;
    int failures;
    std::vector<Seen>* seen;
    int operator()(const Attempt& a) const {
        seen->push_back({a.number, a.time_left, a.deadline, a.stop_token.stop_possible(), std::string(a.operation),
                         std::string(a.idempotency_key)});
        clock.advance(250ms);
        if (static_cast<int>(seen->size()) <= failures) throw redress::ServerError("503");
        return static_cast<int>(seen->size());
    }
};

void check_three_attempts(const std::vector<Seen>& seen, redress::TimePoint origin, bool timed,
                          const std::string& operation) {
    REQUIRE(seen.size() == 3);
    for (std::size_t i = 0; i < seen.size(); ++i) {
        INFO("attempt " << i + 1);
        CHECK(seen[i].number == static_cast<int>(i) + 1);
        // Each attempt costs 250 ms and each retry sleeps 1 s: attempt n starts at (n-1) * 1.25 s.
        const auto started = std::chrono::duration_cast<redress::Duration>(1250ms) * static_cast<long>(i);
        CHECK(seen[i].time_left == 10s - started);
        if (timed) {
            REQUIRE(seen[i].deadline.has_value());
            CHECK(*seen[i].deadline == origin + started + 2s);
        } else {
            CHECK_FALSE(seen[i].deadline.has_value());
        }
        CHECK(seen[i].operation == operation);
        CHECK(uuid_v4(seen[i].key));
        CHECK(seen[i].key == seen[0].key);
    }
}

}  // namespace

TEST_CASE("Attempt: a sync call without options sees attempts 1..3, the time left and one key") {
    ManualClock clock;
    redress::Policy policy{make_retry(clock)};
    std::vector<Seen> seen;
    const auto origin = clock.now();
    CHECK(policy.call(Recording{clock, 2, &seen}) == 3);
    check_three_attempts(seen, origin, false, "");
}

TEST_CASE("Attempt: with attempt_timeout and options, each attempt has its own deadline and stop token") {
    ManualClock clock;
    redress::Policy policy{make_retry(clock, 2s)};
    std::vector<Seen> seen;
    const auto origin = clock.now();
    auto out = policy.execute(Recording{clock, 2, &seen}, {.operation = "charge"});
    CHECK(out.ok);
    check_three_attempts(seen, origin, true, "charge");
    for (const auto& s : seen) CHECK(s.stoppable);  // the attempt deadline's token
}

TEST_CASE("Attempt: the time left never goes below zero") {
    ManualClock clock;
    auto retry = make_retry(clock);
    retry.deadline = 1s;
    redress::Policy policy{retry};
    std::vector<redress::Duration> left;
    auto out = policy.execute([&](const Attempt& a) -> int {
        left.push_back(a.time_left);
        clock.advance(3s);  // past the deadline already
        throw redress::ServerError("503");
    });
    CHECK(out.stop_reason == redress::StopReason::DeadlineExceeded);
    REQUIRE(left.size() == 1);
    CHECK(left[0] == 1s);
}

TEST_CASE("Attempt: two operations get two keys, 10,000 operations get 10,000 distinct keys") {
    ManualClock clock;
    redress::Policy policy{make_retry(clock)};
    std::set<std::string> keys;
    for (int i = 0; i < 10'000; ++i)
        policy.call([&](const Attempt& a) { keys.emplace(a.idempotency_key); });
    CHECK(keys.size() == 10'000);
    for (const auto& k : keys) {
        if (!uuid_v4(k)) FAIL("not a UUID v4: " << k);
    }
}

TEST_CASE("Attempt: taken by value, through a context and a decorator-free breaker policy") {
    ManualClock clock;
    redress::Policy policy{make_retry(clock), redress::CircuitBreaker{{.failure_threshold = 5, .clock = clock}}};
    std::vector<int> numbers;
    auto run = policy.context({.operation = "ctx"});
    const std::string name = run([&](Attempt a) {
        numbers.push_back(a.number);
        if (a.number < 2) throw redress::ServerError("503");
        return std::string(a.operation);
    });
    CHECK(name == "ctx");
    CHECK(numbers == std::vector<int>{1, 2});
}

TEST_CASE("Attempt: a stop request reaches the view's token") {
    ManualClock clock;
    redress::Policy policy{make_retry(clock)};
    std::stop_source stop;
    bool saw_stop = false;
    auto out = policy.execute(
        [&](const Attempt& a) -> int {
            stop.request_stop();
            saw_stop = a.stop_token.stop_requested();
            throw redress::AbortRetryError();
        },
        {.stop_token = stop.get_token()});
    CHECK(saw_stop);
    CHECK(out.stop_reason == redress::StopReason::Aborted);
}

TEST_CASE("Attempt: a Task operation sees the same view on every attempt") {
    ManualClock clock;
    redress::Policy policy{make_retry(clock, 2s)};
    redress::testing::VirtualScheduler loop{clock};
    std::vector<Seen> seen;
    const auto origin = clock.now();
    auto op = [&seen, clock](const Attempt& a) -> Task<int> {
        // Read after a suspension point: the view must outlive the attempt's coroutine.
        co_await std::suspend_never{};
        co_return Recording{clock, 2, &seen}(a);
    };
    auto out = loop.run(policy.async_execute(op, {.operation = "task"}, {.sleeper = loop.sleeper()}));
    CHECK(out.ok);
    CHECK(out.value == 3);
    check_three_attempts(seen, origin, true, "task");
}

TEST_CASE("Attempt: FakePolicy runs an Attempt-taking operation as attempt 1 with a key") {
    redress::testing::FakePolicy fake;
    std::string key;
    int number = 0;
    fake.call([&](const Attempt& a) {
        key = std::string(a.idempotency_key);
        number = a.number;
    }, {.operation = "fake"});
    CHECK(number == 1);
    CHECK(uuid_v4(key));
}

// A generic callable keeps the stop-token form it had before Attempt existed.
static_assert(redress::detail::TakesStopToken<decltype([](auto) { return 1; })>);
static_assert(!redress::detail::TakesAttempt<decltype([](auto) { return 1; })>);
static_assert(redress::detail::TakesAttempt<decltype([](const Attempt&) { return 1; })>);
static_assert(redress::detail::TakesAttempt<decltype([](Attempt) { return 1; })>);
static_assert(!redress::detail::TakesAttempt<decltype([] { return 1; })>);
