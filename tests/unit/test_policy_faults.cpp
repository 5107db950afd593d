// Faulty user code and extreme values never break a policy: a classifier answering outside
// the eight classes, a classifier / result classifier / strategy that throws, a coroutine
// destroyed while it holds the breaker's probe, move-only results, huge durations. Each on
// the sync and the coroutine path.
#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <redress/redress.hpp>
#include <redress/testing.hpp>

using namespace std::chrono_literals;
using redress::ErrorClass;
using redress::StopReason;
using redress::Task;
using redress::testing::DeterministicStrategy;
using redress::testing::ManualClock;

namespace {

enum class Path { Sync, Coroutine };
const char* name(Path p) { return p == Path::Sync ? "sync" : "coroutine"; }

/// Runs `op` (returning `T`) through `execute()` or, as a `Task`, `async_execute()`.
template <class PolicyT, class Op>
auto execute_on(Path path, const PolicyT& policy, Op op, redress::CallOptions options, const ManualClock& clock) {
    using T = decltype(op());
    if (path == Path::Sync) {
        if (!options.sleeper) options.sleeper = redress::testing::AdvancingSleeper(clock);
        return policy.execute(op, options);
    }
    redress::testing::VirtualScheduler loop{clock};
    auto coro = [op]() -> Task<T> { co_return op(); };
    redress::AsyncSleepHooks<Task> async;
    if (!options.sleeper) async.sleeper = loop.sleeper();
    return loop.run(policy.async_execute(coro, options, async));
}

/// Answers a value outside the eight classes.
struct OutOfRangeClassifier {
    int value;
    ErrorClass operator()(const std::exception_ptr&) const { return static_cast<ErrorClass>(value); }
};

struct ThrowingClassifier {
    ErrorClass operator()(const std::exception_ptr&) const { throw std::logic_error("classifier bug"); }
};

struct ThrowingStrategy {
    redress::Duration operator()(const redress::BackoffContext&) const { throw std::logic_error("strategy bug"); }
};

int always_fails() { throw std::runtime_error("down"); }

}  // namespace

TEST_CASE("a classifier answer outside the eight classes is treated as Unknown, on every path") {
    for (Path path : {Path::Sync, Path::Coroutine}) {
        for (int bad : {8, 9, 31, 64, 1000, -1}) {
            INFO(name(path) << " class value " << bad);
            ManualClock clock;
            std::vector<std::optional<ErrorClass>> seen;
            redress::CircuitBreaker breaker{{.failure_threshold = 2, .trip_on = {ErrorClass::Unknown}, .clock = clock}};
            redress::Policy policy{
                redress::Retry<OutOfRangeClassifier, DeterministicStrategy>{
                    .classifier = {bad},
                    .strategy = DeterministicStrategy{10ms},
                    .per_class_max_attempts = {{ErrorClass::Transient, 1}},
                    .clock = clock},
                breaker};
            redress::CallOptions o;
            o.on_metric = [&](const redress::Event& e) { seen.push_back(e.error_class); };
            const auto out = execute_on(path, policy, always_fails, o, clock);
            CHECK(out.stop_reason == StopReason::MaxUnknownAttempts);  // the third Unknown failure
            CHECK(out.attempts == 3);
            CHECK(out.last_class == ErrorClass::Unknown);
            for (const auto& k : seen) CHECK(k == ErrorClass::Unknown);
            // The breaker counted it as Unknown too (a trip class here): one more opens it.
            (void)execute_on(path, policy, always_fails, o, clock);
            CHECK(breaker.state() == redress::CircuitState::Open);
        }
    }
}

TEST_CASE("a classifier that throws propagates from call() and execute(), ending the attempt with Raise") {
    for (Path path : {Path::Sync, Path::Coroutine}) {
        INFO(name(path));
        ManualClock clock;
        redress::Budget budget{redress::BudgetOptions{.max_retries = 5, .window = 60s, .clock = clock}};
        redress::Policy policy{redress::Retry<ThrowingClassifier, DeterministicStrategy>{
            .strategy = DeterministicStrategy{10ms}, .budget = budget, .clock = clock}};
        std::vector<std::string> ends;
        redress::CallOptions o;
        o.on_attempt_end = [&](const redress::AttemptContext& c) {
            ends.push_back(std::to_string(c.attempt) + " " + std::string(redress::to_string(*c.decision)));
        };
        CHECK_THROWS_WITH(execute_on(path, policy, always_fails, o, clock), "classifier bug");
        CHECK(ends == std::vector<std::string>{"1 raise"});
        CHECK(budget.remaining() == 5);
        if (path == Path::Sync) CHECK_THROWS_WITH(policy.call(always_fails, o), "classifier bug");
        if (path == Path::Sync) CHECK_THROWS_WITH(policy.call(always_fails), "classifier bug");  // the quiet path
    }
}

TEST_CASE("a result classifier that throws propagates, ending the attempt with Raise") {
    auto rc = [](const int&) -> std::optional<ErrorClass> { throw std::logic_error("result classifier bug"); };
    for (Path path : {Path::Sync, Path::Coroutine}) {
        INFO(name(path));
        ManualClock clock;
        redress::Policy policy{redress::Retry<redress::DefaultClassifier, DeterministicStrategy, decltype(rc)>{
            .result_classifier = rc, .strategy = DeterministicStrategy{10ms}, .clock = clock}};
        int ends = 0;
        redress::CallOptions o;
        o.on_attempt_end = [&](const redress::AttemptContext& c) {
            ++ends;
            CHECK(c.decision == redress::AttemptDecision::Raise);
        };
        CHECK_THROWS_WITH(execute_on(path, policy, [] { return 1; }, o, clock), "result classifier bug");
        CHECK(ends == 1);
    }
}

TEST_CASE("a strategy that throws propagates and spends no budget token") {
    for (Path path : {Path::Sync, Path::Coroutine}) {
        INFO(name(path));
        ManualClock clock;
        redress::Budget budget{redress::BudgetOptions{.max_retries = 5, .window = 60s, .clock = clock}};
        redress::Policy policy{redress::Retry<redress::DefaultClassifier, ThrowingStrategy>{
            .budget = budget, .clock = clock}};
        int ends = 0;
        redress::CallOptions o;
        o.on_attempt_end = [&](const redress::AttemptContext&) { ++ends; };
        auto transient = []() -> int { throw redress::ServerError("503"); };
        CHECK_THROWS_WITH(execute_on(path, policy, transient, o, clock), "strategy bug");
        CHECK(ends == 1);
        CHECK(budget.remaining() == 5);
    }
}

TEST_CASE("the probe slot is freed when the policy's own code throws during the probe") {
    for (Path path : {Path::Sync, Path::Coroutine}) {
        INFO(name(path));
        ManualClock clock;
        redress::CircuitBreaker breaker{{.failure_threshold = 1, .recovery_timeout = 1s, .clock = clock}};
        redress::Policy opener{redress::Retry<redress::DefaultClassifier, DeterministicStrategy>{
                                   .strategy = DeterministicStrategy{10ms}, .max_attempts = 1, .clock = clock},
                               breaker};
        (void)execute_on(path, opener, []() -> int { throw redress::ServerError("503"); }, {}, clock);
        REQUIRE(breaker.state() == redress::CircuitState::Open);
        clock.advance(1s);
        redress::Policy broken{redress::Retry<ThrowingClassifier, DeterministicStrategy>{
                                   .strategy = DeterministicStrategy{10ms}, .clock = clock},
                               breaker};
        CHECK_THROWS(execute_on(path, broken, always_fails, {}, clock));  // held the probe
        // The slot is free: the next call is the probe, and its success closes the breaker.
        const auto out = execute_on(path, opener, [] { return 1; }, {}, clock);
        CHECK(out.ok);
        CHECK(breaker.state() == redress::CircuitState::Closed);
    }
}

TEST_CASE("destroying a suspended coroutine that holds the half-open probe frees the probe") {
    ManualClock clock;
    redress::CircuitBreaker breaker{{.failure_threshold = 1, .recovery_timeout = 1s, .clock = clock}};
    redress::Policy policy{redress::Retry<redress::DefaultClassifier, DeterministicStrategy>{
                               .strategy = DeterministicStrategy{10ms}, .max_attempts = 3, .clock = clock},
                           breaker};
    (void)policy.execute([]() -> int { throw redress::ServerError("503"); });
    REQUIRE(breaker.state() == redress::CircuitState::Open);
    clock.advance(1s);
    {
        redress::testing::VirtualScheduler loop{clock};
        auto failing = []() -> Task<int> {
            throw redress::ServerError("503");
            co_return 0;
        };
        auto task = policy.async_execute(failing, {}, {.sleeper = loop.sleeper()});
        task.handle().resume();  // runs attempt 1 (the probe), then suspends in its backoff
        REQUIRE_FALSE(task.done());
        CHECK(breaker.state() == redress::CircuitState::HalfOpen);
        CHECK_FALSE(breaker.allow().allowed);  // the probe is taken
    }  // the task is destroyed while suspended (the scheduler's timer is dropped with it)
    const auto next = breaker.allow();
    CHECK(next.allowed);
    CHECK(next.probe);
    (void)breaker.record_success(next);
    CHECK(breaker.state() == redress::CircuitState::Closed);
}

TEST_CASE("move-only results work in call, execute, async_call and with a result classifier") {
    ManualClock clock;
    using Ptr = std::unique_ptr<int>;
    auto rc = [](const Ptr& p) -> std::optional<ErrorClass> {
        if (!p) return ErrorClass::ServerError;
        return std::nullopt;
    };
    redress::Policy judged{redress::Retry<redress::DefaultClassifier, DeterministicStrategy, decltype(rc)>{
        .result_classifier = rc, .strategy = DeterministicStrategy{10ms}, .max_attempts = 2, .clock = clock}};
    redress::Policy plain{redress::Retry<redress::DefaultClassifier, DeterministicStrategy>{
        .strategy = DeterministicStrategy{10ms}, .clock = clock}};
    const redress::CallOptions o{.sleeper = redress::testing::AdvancingSleeper(clock)};

    CHECK(*plain.call([] { return std::make_unique<int>(4); }) == 4);
    CHECK(*judged.call([] { return std::make_unique<int>(5); }, o) == 5);
    auto out = judged.execute([] { return Ptr{}; }, o);
    CHECK(out.stop_reason == StopReason::MaxAttemptsGlobal);
    CHECK(out.last_result.has_value());
    try {
        (void)judged.call([] { return Ptr{}; }, o);
        FAIL("no exception");
    } catch (const redress::RetryExhaustedError& e) {
        REQUIRE(e.last_result<Ptr>() != nullptr);
        CHECK(*e.last_result<Ptr>() == nullptr);
    }

    redress::testing::VirtualScheduler loop{clock};
    auto coro = []() -> Task<Ptr> { co_return std::make_unique<int>(6); };
    CHECK(*loop.run(plain.async_call(coro)) == 6);
    CHECK(*loop.run(judged.async_call(coro, {}, {.sleeper = loop.sleeper()})) == 6);
    auto empty = []() -> Task<Ptr> { co_return nullptr; };
    CHECK_THROWS_AS(loop.run(judged.async_call(empty, {}, {.sleeper = loop.sleeper()})), redress::RetryExhaustedError);
}

TEST_CASE("extreme deadlines and strategy answers saturate instead of overflowing") {
    for (Path path : {Path::Sync, Path::Coroutine}) {
        INFO(name(path));
        ManualClock clock;
        std::vector<redress::Duration> sleeps;
        struct Huge {
            std::chrono::hours operator()(const redress::BackoffContext&) const { return std::chrono::hours::max(); }
        };
        redress::Policy policy{redress::Retry<redress::DefaultClassifier, Huge>{
            .deadline = 10s, .max_attempts = 2, .clock = clock}};
        redress::CallOptions o;
        o.sleeper = [&](redress::Duration d) {
            sleeps.push_back(d);
            clock.advance(d);
        };
        auto transient = []() -> int { throw redress::ServerError("503"); };
        const auto out = execute_on(path, policy, transient, o, clock);
        REQUIRE(sleeps.size() == 1);
        CHECK(sleeps[0] == 10s);  // clamped to the time left, not overflowed to 0
        CHECK(out.stop_reason == StopReason::MaxAttemptsGlobal);  // attempt 2 ran at exactly the deadline
        CHECK(out.attempts == 2);

        redress::Policy unbounded{redress::Retry<redress::DefaultClassifier, redress::Constant>{
            .strategy = redress::constant(redress::Duration::max()),
            .deadline = redress::Duration::max(),
            .max_attempts = 2,
            .clock = clock}};
        sleeps.clear();
        const auto out2 = execute_on(path, unbounded, transient, o, clock);
        REQUIRE(sleeps.size() == 1);
        CHECK(sleeps[0] > std::chrono::hours(24 * 365 * 200));
        CHECK(out2.attempts <= 2);
    }
}
