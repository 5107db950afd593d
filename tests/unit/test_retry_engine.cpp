// The attempt loop (docs/contract.md) through the synchronous driver, in virtual time.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include <redress/redress.hpp>
#include <redress/testing.hpp>

#include "recorder.hpp"

using namespace std::chrono_literals;
using redress::ErrorClass;
using redress::StopReason;
using redress::testing::DeterministicStrategy;
using redress::testing::ManualClock;
using redress_test::Recorder;
using redress_test::RecordingSleeper;
using Lines = std::vector<std::string>;

namespace {

struct Transient : std::runtime_error {
    Transient() : std::runtime_error("connection reset") {}
};

using redress_test::MessageClassifier;

/// Fails with the scripted classes in order, then returns `value`.
struct Script {
    std::vector<ErrorClass> failures;
    ManualClock clock{};
    redress::Duration attempt_cost{};
    std::shared_ptr<int> calls = std::make_shared<int>(0);
    int operator()() const {
        const auto i = static_cast<std::size_t>((*calls)++);
        clock.advance(attempt_cost);
        if (i < failures.size()) throw std::runtime_error(std::string(redress::to_string(failures[i])));
        return 7;
    }
};

struct Fixture {
    ManualClock clock;
    RecordingSleeper sleeper{clock};
    Recorder events;

    template <class S = DeterministicStrategy>
    auto retry(S strategy = DeterministicStrategy{100ms}) {
        return redress::Retry<MessageClassifier, S>{.strategy = std::move(strategy), .clock = clock};
    }
    redress::CallOptions options() {
        return {.operation = "op", .on_metric = events.hook(), .sleeper = sleeper};
    }
    Script script(std::vector<ErrorClass> failures, redress::Duration cost = {}) {
        return Script{std::move(failures), clock, cost};
    }
};

}  // namespace

TEST_CASE("retries transient failures with the strategy's sleeps, then succeeds") {
    Fixture f;
    auto r = f.retry(DeterministicStrategy{100ms, 200ms});
    redress::Policy policy{r};
    auto out = policy.execute(f.script({ErrorClass::Transient, ErrorClass::Transient}), f.options());
    CHECK(out.ok);
    CHECK(out.value == 7);
    CHECK(out.attempts == 3);
    CHECK_FALSE(out.stop_reason);
    CHECK(out.elapsed == 300ms);
    CHECK(f.events.lines() == Lines{"retry#1 sleep=100ms class=TRANSIENT", "retry#2 sleep=200ms class=TRANSIENT",
                                    "success#3"});
    CHECK(*f.sleeper.sleeps == std::vector<long long>{100, 200});
    for (const auto& op : f.events.operations()) CHECK(op == "op");
}

TEST_CASE("stop reason MaxAttemptsGlobal: the final attempt emits no retry, sleeps not, spends no budget") {
    Fixture f;
    redress::Budget budget{10, 60s};
    auto r = f.retry();
    r.max_attempts = 3;
    r.budget = budget;
    redress::Policy policy{r};
    auto out = policy.execute(f.script({ErrorClass::Transient, ErrorClass::Transient, ErrorClass::Transient}), f.options());
    CHECK_FALSE(out.ok);
    CHECK(out.stop_reason == StopReason::MaxAttemptsGlobal);
    CHECK(out.attempts == 3);
    CHECK(out.last_class == ErrorClass::Transient);
    CHECK(out.cause == redress::FailureCause::Exception);
    CHECK(f.events.lines() == Lines{"retry#1 sleep=100ms class=TRANSIENT", "retry#2 sleep=100ms class=TRANSIENT",
                                    "max_attempts_exceeded#3 class=TRANSIENT stop=MAX_ATTEMPTS_GLOBAL"});
    CHECK(f.sleeper.sleeps->size() == 2);      // no sleep after the last attempt
    CHECK(budget.remaining() == 8);            // two retries, not three
}

TEST_CASE("stop reason MaxAttemptsPerClass: the class count reaching its limit stops (2 allows one retry)") {
    Fixture f;
    auto r = f.retry();
    r.per_class_max_attempts = {{ErrorClass::RateLimit, 2}};
    redress::Policy policy{r};
    auto out = policy.execute(f.script({ErrorClass::RateLimit, ErrorClass::Transient, ErrorClass::RateLimit}), f.options());
    CHECK(out.stop_reason == StopReason::MaxAttemptsPerClass);
    CHECK(out.attempts == 3);
    CHECK(f.events.lines() == Lines{"retry#1 sleep=100ms class=RATE_LIMIT", "retry#2 sleep=100ms class=TRANSIENT",
                                    "max_attempts_exceeded#3 class=RATE_LIMIT stop=MAX_ATTEMPTS_PER_CLASS"});
}

TEST_CASE("per-class limits 0 and 1 both mean no retry for that class") {
    for (int limit : {0, 1}) {
        Fixture f;
        auto r = f.retry();
        r.per_class_max_attempts = {{ErrorClass::ServerError, limit}};
        redress::Policy policy{r};
        auto out = policy.execute(f.script({ErrorClass::ServerError}), f.options());
        CHECK(out.stop_reason == StopReason::MaxAttemptsPerClass);
        CHECK(out.attempts == 1);
        CHECK(f.events.lines() == Lines{"max_attempts_exceeded#1 class=SERVER_ERROR stop=MAX_ATTEMPTS_PER_CLASS"});
    }
}

TEST_CASE("stop reason DeadlineExceeded: elapsed past the deadline after a failure, and after a sleep") {
    SECTION("checked after the failure (rule 5)") {
        Fixture f;
        auto r = f.retry(DeterministicStrategy{100ms});
        r.deadline = 1s;
        redress::Policy policy{r};
        // Each attempt costs 600 ms: the second failure ends at 1300 ms > 1 s.
        auto out = policy.execute(f.script({ErrorClass::Transient, ErrorClass::Transient}, 600ms), f.options());
        CHECK(out.stop_reason == StopReason::DeadlineExceeded);
        CHECK(out.attempts == 2);
        CHECK(f.events.lines() == Lines{"retry#1 sleep=100ms class=TRANSIENT",
                                        "deadline_exceeded#2 class=TRANSIENT stop=DEADLINE_EXCEEDED"});
    }
    SECTION("a sleep is capped at the remaining time, then the deadline stops (rule 9 and 13)") {
        Fixture f;
        auto r = f.retry(DeterministicStrategy{5s});
        r.deadline = 1s;
        redress::Policy policy{r};
        auto out = policy.execute(f.script({ErrorClass::Transient, ErrorClass::Transient}, 250ms), f.options());
        // attempt 1 ends at 250 ms; sleep capped to 750 ms; at 1000 ms elapsed == deadline: not past.
        // attempt 2 ends at 1250 ms: past the deadline.
        CHECK(*f.sleeper.sleeps == std::vector<long long>{750});
        CHECK(out.stop_reason == StopReason::DeadlineExceeded);
        CHECK(f.events.lines() == Lines{"retry#1 sleep=750ms class=TRANSIENT",
                                        "deadline_exceeded#2 class=TRANSIENT stop=DEADLINE_EXCEEDED"});
    }
    SECTION("a sleeper that oversleeps the deadline stops after the wait (rule 13)") {
        Fixture f;
        auto r = f.retry(DeterministicStrategy{500ms});
        r.deadline = 1s;
        redress::Policy policy{r};
        auto opts = f.options();
        opts.sleeper = [clock = f.clock](redress::Duration) { clock.advance(2s); };
        auto out = policy.execute(f.script({ErrorClass::Transient}), opts);
        CHECK(out.stop_reason == StopReason::DeadlineExceeded);
        CHECK(out.attempts == 1);
        CHECK(f.events.lines() == Lines{"retry#1 sleep=500ms class=TRANSIENT",
                                        "deadline_exceeded#1 class=TRANSIENT stop=DEADLINE_EXCEEDED"});
    }
    SECTION("no time left at exactly the deadline (rule 8)") {
        Fixture f;
        auto r = f.retry();
        r.deadline = 1s;
        redress::Policy policy{r};
        auto out = policy.execute(f.script({ErrorClass::Transient}, 1s), f.options());
        CHECK(out.stop_reason == StopReason::DeadlineExceeded);
        CHECK(f.sleeper.sleeps->empty());
        CHECK(f.events.lines() == Lines{"deadline_exceeded#1 class=TRANSIENT stop=DEADLINE_EXCEEDED"});
    }
}

TEST_CASE("stop reason MaxUnknownAttempts: with the default 2, the third unknown failure stops") {
    Fixture f;
    redress::Policy policy{f.retry()};
    auto out = policy.execute(f.script({ErrorClass::Unknown, ErrorClass::Transient, ErrorClass::Unknown, ErrorClass::Unknown}),
                              f.options());
    CHECK(out.stop_reason == StopReason::MaxUnknownAttempts);
    CHECK(out.attempts == 4);
    CHECK(f.events.lines() == Lines{"retry#1 sleep=100ms class=UNKNOWN", "retry#2 sleep=100ms class=TRANSIENT",
                                    "retry#3 sleep=100ms class=UNKNOWN",
                                    "max_unknown_attempts_exceeded#4 class=UNKNOWN stop=MAX_UNKNOWN_ATTEMPTS"});
}

TEST_CASE("max_unknown_attempts none is unbounded, 0 stops the first unknown failure") {
    Fixture f;
    auto r = f.retry();
    r.max_unknown_attempts = std::nullopt;
    r.max_attempts = 5;
    redress::Policy unbounded{r};
    auto out = unbounded.execute(f.script(std::vector<ErrorClass>(5, ErrorClass::Unknown)), f.options());
    CHECK(out.stop_reason == StopReason::MaxAttemptsGlobal);
    CHECK(out.attempts == 5);

    r.max_unknown_attempts = 0;
    redress::Policy none{r};
    auto out0 = none.execute(f.script({ErrorClass::Unknown}));
    CHECK(out0.stop_reason == StopReason::MaxUnknownAttempts);
    CHECK(out0.attempts == 1);
}

TEST_CASE("stop reason NonRetryableClass for Permanent, Auth and Permission") {
    for (auto klass : {ErrorClass::Permanent, ErrorClass::Auth, ErrorClass::Permission}) {
        Fixture f;
        redress::Policy policy{f.retry()};
        auto out = policy.execute(f.script({klass}), f.options());
        CHECK(out.stop_reason == StopReason::NonRetryableClass);
        CHECK(out.attempts == 1);
        CHECK(f.events.lines() ==
              Lines{"permanent_fail#1 class=" + std::string(redress::to_string(klass)) + " stop=NON_RETRYABLE_CLASS"});
    }
}

TEST_CASE("stop reason NoStrategy when neither a class strategy nor a default applies") {
    Fixture f;
    redress::Retry<MessageClassifier> r{.strategies = {{ErrorClass::RateLimit, DeterministicStrategy{1s}}}, .clock = f.clock};
    redress::Policy policy{r};
    auto out = policy.execute(f.script({ErrorClass::RateLimit, ErrorClass::Transient}), f.options());
    CHECK(out.stop_reason == StopReason::NoStrategy);
    CHECK(out.attempts == 2);
    CHECK(f.events.lines() == Lines{"retry#1 sleep=1000ms class=RATE_LIMIT",
                                    "no_strategy_configured#2 class=TRANSIENT stop=NO_STRATEGY"});
}

TEST_CASE("per-class strategies win over the default strategy") {
    Fixture f;
    auto r = f.retry(DeterministicStrategy{100ms});
    r.strategies = {{ErrorClass::RateLimit, DeterministicStrategy{3s}}};
    redress::Policy policy{r};
    auto out = policy.execute(f.script({ErrorClass::RateLimit, ErrorClass::Transient}), f.options());
    CHECK(out.ok);
    CHECK(*f.sleeper.sleeps == std::vector<long long>{3000, 100});
}

TEST_CASE("stop reason BudgetExhausted when the shared budget refuses a retry") {
    Fixture f;
    redress::Budget budget{redress::BudgetOptions{.max_retries = 1, .window = 60s, .clock = f.clock}};
    auto r = f.retry();
    r.budget = budget;
    redress::Policy policy{r};
    auto out = policy.execute(f.script({ErrorClass::Transient, ErrorClass::Transient}), f.options());
    CHECK(out.stop_reason == StopReason::BudgetExhausted);
    CHECK(out.attempts == 2);
    CHECK(f.events.lines() == Lines{"retry#1 sleep=100ms class=TRANSIENT",
                                    "budget_exhausted#2 class=TRANSIENT stop=BUDGET_EXHAUSTED"});
}

TEST_CASE("stop reason Scheduled: a sleep handler defers, the outcome carries next_sleep") {
    Fixture f;
    redress::Policy policy{f.retry(DeterministicStrategy{1500ms})};
    auto opts = f.options();
    std::vector<int> seen_attempts;
    opts.sleep = [&](const redress::BackoffContext& ctx, redress::Duration d) {
        seen_attempts.push_back(ctx.attempt);
        CHECK(d == 1500ms);
        return redress::SleepDecision::Defer;
    };
    auto out = policy.execute(f.script({ErrorClass::Transient}), opts);
    CHECK(out.stop_reason == StopReason::Scheduled);
    CHECK(out.next_sleep == redress::Duration(1500ms));
    CHECK(out.attempts == 1);
    CHECK(seen_attempts == std::vector<int>{1});
    CHECK(f.sleeper.sleeps->empty());
    CHECK(f.events.lines() == Lines{"retry#1 sleep=1500ms class=TRANSIENT",
                                    "scheduled#1 sleep=1500ms class=TRANSIENT stop=SCHEDULED"});
}

TEST_CASE("stop reason Aborted from each abort point") {
    SECTION("abort_if before the first attempt: nothing runs, attempt 0") {
        Fixture f;
        redress::Policy policy{f.retry()};
        auto opts = f.options();
        opts.abort_if = [] { return true; };
        auto s = f.script({});
        auto out = policy.execute(s, opts);
        CHECK(out.stop_reason == StopReason::Aborted);
        CHECK(out.attempts == 0);
        CHECK(*s.calls == 0);
        CHECK(f.events.lines() == Lines{"aborted#0 stop=ABORTED"});
    }
    SECTION("abort after a failure is classified first (Divergence): the outcome reports this failure") {
        Fixture f;
        redress::Policy policy{f.retry()};
        auto opts = f.options();
        auto s = f.script({ErrorClass::Transient, ErrorClass::ServerError});
        opts.abort_if = [&] { return *s.calls == 2; };
        auto out = policy.execute(s, opts);
        CHECK(out.stop_reason == StopReason::Aborted);
        CHECK(out.attempts == 2);
        CHECK(out.last_class == ErrorClass::ServerError);
        CHECK(f.events.lines() == Lines{"retry#1 sleep=100ms class=TRANSIENT", "aborted#2 stop=ABORTED"});
    }
    SECTION("a sleep handler answering Abort") {
        Fixture f;
        redress::Policy policy{f.retry()};
        auto opts = f.options();
        opts.sleep = [](const redress::BackoffContext&, redress::Duration) { return redress::SleepDecision::Abort; };
        auto out = policy.execute(f.script({ErrorClass::Transient}), opts);
        CHECK(out.stop_reason == StopReason::Aborted);
        CHECK(f.events.lines() == Lines{"retry#1 sleep=100ms class=TRANSIENT", "aborted#1 stop=ABORTED"});
    }
    SECTION("a stop token requested during the sleep stops before the next attempt") {
        Fixture f;
        std::stop_source source;
        redress::Policy policy{f.retry()};
        auto opts = f.options();
        opts.stop_token = source.get_token();
        opts.sleeper = [&](redress::Duration) { source.request_stop(); };
        auto s = f.script({ErrorClass::Transient});
        auto out = policy.execute(s, opts);
        CHECK(out.stop_reason == StopReason::Aborted);
        CHECK(out.attempts == 1);
        CHECK(*s.calls == 1);
        CHECK(f.events.lines() == Lines{"retry#1 sleep=100ms class=TRANSIENT", "aborted#1 stop=ABORTED"});
    }
    SECTION("the callable throwing AbortRetryError is never classified nor retried") {
        Fixture f;
        redress::Policy policy{f.retry()};
        int calls = 0;
        auto out = policy.execute(
            [&]() -> int {
                ++calls;
                throw redress::AbortRetryError();
            },
            f.options());
        CHECK(out.stop_reason == StopReason::Aborted);
        CHECK(calls == 1);
        CHECK(f.events.lines() == Lines{"aborted#1 stop=ABORTED"});
    }
}

TEST_CASE("rule order: the per-class cap is checked before the non-retryable class") {
    Fixture f;
    auto r = f.retry();
    r.per_class_max_attempts = {{ErrorClass::Permanent, 1}};
    redress::Policy policy{r};
    auto out = policy.execute(f.script({ErrorClass::Permanent}), f.options());
    CHECK(out.stop_reason == StopReason::MaxAttemptsPerClass);
}

TEST_CASE("rule order: the unknown cap is checked before the deadline") {
    Fixture f;
    auto r = f.retry();
    r.deadline = 1s;
    r.max_unknown_attempts = 0;
    redress::Policy policy{r};
    auto out = policy.execute(f.script({ErrorClass::Unknown}, 5s), f.options());
    CHECK(out.stop_reason == StopReason::MaxUnknownAttempts);
}

TEST_CASE("rule order: a missing strategy is reported even on the last attempt") {
    Fixture f;
    redress::Retry<MessageClassifier> r{.strategies = {{ErrorClass::RateLimit, DeterministicStrategy{1s}}},
                                        .max_attempts = 1,
                                        .clock = f.clock};
    redress::Policy policy{r};
    auto out = policy.execute(f.script({ErrorClass::Transient}), f.options());
    CHECK(out.stop_reason == StopReason::NoStrategy);
}

TEST_CASE("rule order: the last attempt stops as MaxAttemptsGlobal even with an exhausted budget") {
    Fixture f;
    redress::Budget budget{0, 60s};
    auto r = f.retry();
    r.max_attempts = 1;
    r.budget = budget;
    redress::Policy policy{r};
    auto out = policy.execute(f.script({ErrorClass::Transient}), f.options());
    CHECK(out.stop_reason == StopReason::MaxAttemptsGlobal);
}

TEST_CASE("the strategy sees attempt, class, previous sleep and remaining time") {
    Fixture f;
    DeterministicStrategy strategy{100ms, 300ms};
    auto r = f.retry(strategy);
    r.deadline = 10s;
    redress::Policy policy{r};
    auto out = policy.execute(f.script({ErrorClass::Transient, ErrorClass::ServerError}, 1s), f.options());
    REQUIRE(out.ok);
    auto seen = strategy.contexts();
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].attempt == 1);
    CHECK(seen[0].klass() == ErrorClass::Transient);
    CHECK_FALSE(seen[0].prev_sleep);
    CHECK(seen[0].remaining == redress::Duration(9s));
    CHECK(seen[1].attempt == 2);
    CHECK(seen[1].klass() == ErrorClass::ServerError);
    CHECK(seen[1].prev_sleep == redress::Duration(100ms));
    CHECK(seen[1].remaining == redress::Duration(10s - 2100ms));
}

TEST_CASE("negative and non-finite strategy sleeps become zero, long ones are capped at the remaining time") {
    Fixture f;
    auto negative = [](const redress::BackoffContext&) { return -5s; };
    redress::Policy p1{redress::Retry<MessageClassifier, decltype(negative)>{.strategy = negative, .clock = f.clock}};
    (void)p1.execute(f.script({ErrorClass::Transient}), f.options());
    auto infinite = [](const redress::BackoffContext&) {
        return std::chrono::duration<double>(std::numeric_limits<double>::infinity());
    };
    redress::Policy p2{redress::Retry<MessageClassifier, decltype(infinite)>{.strategy = infinite, .deadline = 2s, .clock = f.clock}};
    (void)p2.execute(f.script({ErrorClass::Transient}), f.options());
    auto huge = [](const redress::BackoffContext&) { return std::chrono::hours(1000); };
    redress::Policy p3{redress::Retry<MessageClassifier, decltype(huge)>{.strategy = huge, .deadline = 2s, .clock = f.clock}};
    (void)p3.execute(f.script({ErrorClass::Transient}), f.options());
    CHECK(*f.sleeper.sleeps == std::vector<long long>{0, 0, 2000});
}

TEST_CASE("on_attempt_start and on_attempt_end bracket every started attempt with its decision") {
    Fixture f;
    redress::Policy policy{f.retry()};
    std::vector<std::string> log;
    auto opts = f.options();
    opts.on_attempt_start = [&](const redress::AttemptContext& c) { log.push_back("start " + std::to_string(c.attempt)); };
    opts.on_attempt_end = [&](const redress::AttemptContext& c) {
        std::string s = "end " + std::to_string(c.attempt) + " " + std::string(redress::to_string(*c.decision));
        if (c.classification) s += " " + std::string(redress::to_string(c.classification->klass));
        if (c.sleep) s += " " + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(*c.sleep).count());
        log.push_back(s);
    };
    (void)policy.execute(f.script({ErrorClass::Transient}), opts);
    (void)policy.execute(f.script({ErrorClass::Permanent}), opts);
    CHECK(log == Lines{"start 1", "end 1 retry TRANSIENT 100", "start 2", "end 2 success", "start 1",
                       "end 1 raise PERMANENT"});
}

TEST_CASE("result_classifier turns returned values into failures with cause Result") {
    Fixture f;
    auto rc = [](const int& v) -> std::optional<ErrorClass> {
        if (v < 0) return ErrorClass::ServerError;
        return std::nullopt;
    };
    redress::Retry<MessageClassifier, DeterministicStrategy, decltype(rc)> r{
        .result_classifier = rc, .strategy = DeterministicStrategy{100ms}, .max_attempts = 2, .clock = f.clock};
    redress::Policy policy{r};
    int n = 0;
    auto out = policy.execute([&] { return n++ == 0 ? -1 : 5; }, f.options());
    CHECK(out.ok);
    CHECK(out.value == 5);

    auto bad = policy.execute([] { return -3; }, f.options());
    CHECK_FALSE(bad.ok);
    CHECK(bad.cause == redress::FailureCause::Result);
    CHECK(bad.last_result == -3);
    CHECK_FALSE(bad.last_exception);
    CHECK(bad.stop_reason == StopReason::MaxAttemptsGlobal);
}

TEST_CASE("call() rethrows the original exception type") {
    Fixture f;
    redress::Policy policy{f.retry()};
    struct Custom : std::runtime_error {
        Custom() : std::runtime_error("PERMANENT") {}
        int payload = 42;
    };
    try {
        policy.call([]() -> int { throw Custom(); }, f.options());
        FAIL("no exception");
    } catch (const Custom& e) {
        CHECK(e.payload == 42);
    }
}

TEST_CASE("call() throws RetryExhaustedError for result failures and for Scheduled, with its fields") {
    Fixture f;
    auto rc = [](const int&) -> std::optional<redress::Classification> {
        return redress::Classification{ErrorClass::RateLimit, 2s};
    };
    redress::Retry<MessageClassifier, DeterministicStrategy, decltype(rc)> r{
        .result_classifier = rc, .strategy = DeterministicStrategy{100ms}, .max_attempts = 2, .clock = f.clock};
    redress::Policy policy{r};
    try {
        (void)policy.call([] { return 99; }, f.options());
        FAIL("no exception");
    } catch (const redress::RetryExhaustedError& e) {
        CHECK(e.stop_reason() == StopReason::MaxAttemptsGlobal);
        CHECK(e.attempts() == 2);
        CHECK(e.last_class() == ErrorClass::RateLimit);
        REQUIRE(e.last_result<int>() != nullptr);
        CHECK(*e.last_result<int>() == 99);
        CHECK(e.last_result<long>() == nullptr);  // typed: another type reads nothing
        CHECK(e.has_last_result());
    }

    redress::Policy plain{f.retry(DeterministicStrategy{700ms})};
    auto opts = f.options();
    opts.sleep = [](const redress::BackoffContext&, redress::Duration) { return redress::SleepDecision::Defer; };
    try {
        (void)plain.call(f.script({ErrorClass::Transient}), opts);
        FAIL("no exception");
    } catch (const redress::RetryExhaustedError& e) {
        CHECK(e.stop_reason() == StopReason::Scheduled);
        CHECK(e.next_sleep() == redress::Duration(700ms));
        CHECK(e.attempts() == 1);
    }
}

TEST_CASE("call() throws AbortRetryError on abort") {
    Fixture f;
    redress::Policy policy{f.retry()};
    auto opts = f.options();
    opts.abort_if = [] { return true; };
    CHECK_THROWS_AS(policy.call(f.script({}), opts), redress::AbortRetryError);
}

TEST_CASE("hooks that throw change neither the outcome nor the events that follow") {
    auto run = [](bool throwing) {
        Fixture f;
        redress::Policy policy{f.retry()};
        auto opts = f.options();
        auto record = f.events.hook();
        opts.on_metric = [=](const redress::Event& e) {
            record(e);
            if (throwing) throw std::runtime_error("metric hook broke");
        };
        opts.on_log = [=](const redress::Event&) {
            if (throwing) throw 42;
        };
        opts.on_attempt_start = [=](const redress::AttemptContext&) {
            if (throwing) throw std::logic_error("start");
        };
        opts.on_attempt_end = [=](const redress::AttemptContext&) {
            if (throwing) throw std::logic_error("end");
        };
        opts.before_sleep = [=](const redress::BackoffContext&, redress::Duration) {
            if (throwing) throw std::logic_error("before_sleep");
        };
        auto out = policy.execute(f.script({ErrorClass::Transient, ErrorClass::Unknown}), opts);
        return std::make_tuple(out.ok, out.attempts, out.value, f.events.lines(), *f.sleeper.sleeps);
    };
    CHECK(run(true) == run(false));
    CHECK(std::get<3>(run(true)).size() == 3);
}

TEST_CASE("policy-level hooks apply, and a call's hook wins over the policy's") {
    Fixture f;
    Recorder policy_events;
    auto r = f.retry();
    r.on_metric = policy_events.hook();
    r.sleeper = f.sleeper;
    redress::Policy policy{r};
    (void)policy.execute(f.script({ErrorClass::Transient}));
    CHECK(policy_events.lines() == Lines{"retry#1 sleep=100ms class=TRANSIENT", "success#2"});
    (void)policy.execute(f.script({}), f.options());
    CHECK(policy_events.lines().size() == 2);
    CHECK(f.events.lines() == Lines{"success#1"});
}

TEST_CASE("error_type carries the demangled dynamic type of the exception") {
    Fixture f;
    redress::Policy policy{f.retry()};
    (void)policy.execute([]() -> int { throw Transient(); }, f.options());
    auto types = f.events.error_types();
    REQUIRE_FALSE(types.empty());
    CHECK(types.front().find("Transient") != std::string::npos);
}

TEST_CASE("capture_timeline records every event with elapsed time, a caller's timeline is reused") {
    Fixture f;
    redress::Policy policy{f.retry()};
    auto opts = f.options();
    opts.capture_timeline = true;
    auto out = policy.execute(f.script({ErrorClass::Transient}, 50ms), opts);
    REQUIRE(out.timeline);
    REQUIRE(out.timeline->events.size() == 2);
    CHECK(out.timeline->events[0].event == redress::EventName::Retry);
    CHECK(out.timeline->events[0].elapsed == 50ms);
    CHECK(out.timeline->events[1].event == redress::EventName::Success);
    CHECK(out.timeline->events[1].elapsed == 200ms);

    auto mine = std::make_shared<redress::RetryTimeline>();
    opts.capture_timeline = mine;
    (void)policy.execute(f.script({}), opts);
    (void)policy.execute(f.script({}), opts);
    CHECK(mine->events.size() == 2);

    auto none = policy.execute(f.script({}), f.options());
    CHECK_FALSE(none.timeline);
}

TEST_CASE("void operations: Outcome<void> and call() returning void") {
    Fixture f;
    redress::Policy policy{f.retry()};
    int n = 0;
    auto out = policy.execute([&] {
        if (n++ == 0) throw std::runtime_error("TRANSIENT");
    }, f.options());
    CHECK(out.ok);
    CHECK(out.attempts == 2);
    policy.call([] {}, f.options());
}

TEST_CASE("an operation may take the attempt's stop token") {
    Fixture f;
    redress::Policy policy{f.retry()};
    std::stop_source source;
    bool possible = false;
    auto opts = f.options();
    opts.stop_token = source.get_token();
    policy.call([&](std::stop_token t) { possible = t.stop_possible(); }, opts);
    CHECK(possible);
}

TEST_CASE("context() binds the operation and hooks for several calls, with arguments") {
    Fixture f;
    redress::Policy policy{f.retry()};
    std::string name = "batch";
    auto run = policy.context({.operation = name, .on_metric = f.events.hook(), .sleeper = f.sleeper});
    name = "changed";  // the context owns its copy
    auto add = [](int a, int b) { return a + b; };
    CHECK(run(add, 2, 3) == 5);
    CHECK(run(f.script({ErrorClass::Transient})) == 7);
    for (const auto& op : f.events.operations()) CHECK(op == "batch");
    CHECK(f.events.lines().size() == 3);
}

TEST_CASE("RetryPolicy::from_config builds the same policy from shared settings") {
    Fixture f;
    redress::RetryConfig cfg{.strategy = DeterministicStrategy{100ms},
                             .max_attempts = 2,
                             .per_class_max_attempts = {{ErrorClass::RateLimit, 1}}};
    auto policy = redress::RetryPolicy<>::from_config(cfg, MessageClassifier{});
    auto out = policy.execute(f.script({ErrorClass::Transient, ErrorClass::Transient}), f.options());
    CHECK(out.stop_reason == StopReason::MaxAttemptsGlobal);
    CHECK(out.attempts == 2);
    auto limited = policy.execute(f.script({ErrorClass::RateLimit}), f.options());
    CHECK(limited.stop_reason == StopReason::MaxAttemptsPerClass);
}

TEST_CASE("testing::no_retries runs each operation once") {
    auto policy = redress::testing::no_retries();
    int calls = 0;
    auto out = policy.execute([&]() -> int {
        ++calls;
        throw redress::ServerError("503");
    });
    CHECK(calls == 1);
    CHECK(out.stop_reason == StopReason::MaxAttemptsGlobal);
    CHECK(out.last_class == ErrorClass::ServerError);
}

TEST_CASE("the retry event carries the classification's retry_after and the failure's tags") {
    Fixture f;
    auto classifier = [](const std::exception_ptr&) {
        return redress::Classification{ErrorClass::RateLimit, std::chrono::seconds(2)};
    };
    redress::Policy policy{redress::Retry<decltype(classifier), DeterministicStrategy>{
        .classifier = classifier, .strategy = DeterministicStrategy{100ms}, .clock = f.clock}};
    (void)policy.execute(f.script({ErrorClass::RateLimit}), f.options());
    const auto events = f.events.events();
    REQUIRE(events.size() == 2);
    CHECK(events[0].name == redress::EventName::Retry);
    CHECK(events[0].retry_after == redress::Duration(2s));
    CHECK(events[0].cause == redress::FailureCause::Exception);
    CHECK(events[0].error_class == ErrorClass::RateLimit);
    CHECK_FALSE(events[1].retry_after);  // only `retry` carries it
}

TEST_CASE("rule 4.11: an abort requested while the retry event is delivered stops before the sleep") {
    Fixture f;
    redress::Policy policy{f.retry()};
    bool stop = false;
    auto opts = f.options();
    auto record = f.events.hook();
    opts.on_metric = [&](const redress::Event& e) {
        record(e);
        if (e.name == redress::EventName::Retry) stop = true;
    };
    opts.abort_if = [&] { return stop; };
    auto s = f.script({ErrorClass::Transient});
    auto out = policy.execute(s, opts);
    CHECK(out.stop_reason == StopReason::Aborted);
    CHECK(*s.calls == 1);
    CHECK(f.sleeper.sleeps->empty());
    CHECK(f.events.lines() == Lines{"retry#1 sleep=100ms class=TRANSIENT", "aborted#1 stop=ABORTED"});
}
