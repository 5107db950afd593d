// The coroutine driver against the sync driver: the same scenarios give identical event
// sequences and outcomes, in virtual time.
#include <catch2/catch.hpp>

#include <functional>
#include <stop_token>
#include <stdexcept>
#include <string>
#include <vector>

#include <redress/redress.hpp>
#include <redress/testing.hpp>

#include "recorder.hpp"

using namespace std::chrono_literals;
using redress::ErrorClass;
using redress::StopReason;
using redress::Task;
using redress::testing::DeterministicStrategy;
using redress::testing::ManualClock;
using Lines = std::vector<std::string>;

namespace {

using redress_test::MessageClassifier;

// A type-erased default strategy, so a scenario can remove it (NoStrategy).
using RetryT = redress::Retry<MessageClassifier, redress::AnyStrategy>;

/// One scenario: a failure script (classes, each attempt costing `cost` of virtual time), a
/// way to adjust the Retry and the call options.
struct Scenario {
    std::string name;
    std::vector<ErrorClass> failures;
    redress::Duration cost{};
    int abort_at = -1;  ///< the call (0-based) that throws AbortRetryError
    std::function<void(RetryT&, ManualClock&)> configure = [](RetryT&, ManualClock&) {};
    std::function<void(redress::CallOptions&, const std::shared_ptr<int>& calls)> options =
        [](redress::CallOptions&, const std::shared_ptr<int>&) {};
};

struct Observed {
    bool ok;
    std::optional<int> value;
    int attempts;
    std::optional<StopReason> stop_reason;
    std::optional<ErrorClass> last_class;
    std::optional<redress::FailureCause> cause;
    redress::Duration elapsed;
    std::optional<redress::Duration> next_sleep;
    Lines events;
    Lines attempt_hooks;
    int calls;
    bool operator==(const Observed&) const = default;
};

enum class Mode { Sync, AsyncSyncSleeper, AsyncVirtualScheduler };

Observed run(const Scenario& s, Mode mode) {
    ManualClock clock;
    redress_test::Recorder events;
    Lines attempt_hooks;
    RetryT retry{.strategy = DeterministicStrategy{100ms, 250ms}, .clock = clock};
    if (s.configure) s.configure(retry, clock);
    redress::Policy policy{retry};
    auto calls = std::make_shared<int>(0);
    redress::CallOptions options{.operation = "parity", .on_metric = events.hook()};
    options.on_attempt_end = [&](const redress::AttemptContext& c) {
        attempt_hooks.push_back(std::to_string(c.attempt) + " " + std::string(redress::to_string(*c.decision)));
    };
    if (s.options) s.options(options, calls);
    const auto failures = s.failures;
    const auto cost = s.cost;
    const auto abort_at = s.abort_at;
    auto attempt_sync = [=]() -> int {
        const auto i = static_cast<std::size_t>((*calls)++);
        clock.advance(cost);
        if (static_cast<int>(i) == abort_at) throw redress::AbortRetryError();
        if (i < failures.size()) throw std::runtime_error(std::string(redress::to_string(failures[i])));
        return 7;
    };

    redress::Outcome<int> out;
    if (mode == Mode::Sync) {
        if (!options.sleeper) options.sleeper = redress::testing::AdvancingSleeper(clock);
        out = policy.execute(attempt_sync, options);
    } else {
        auto attempt_async = [=]() -> Task<int> { co_return attempt_sync(); };
        redress::testing::VirtualScheduler loop{clock};
        if (mode == Mode::AsyncSyncSleeper) {
            if (!options.sleeper) options.sleeper = redress::testing::AdvancingSleeper(clock);
            out = redress::sync_wait(policy.async_execute(attempt_async, options));
        } else {
            redress::AsyncSleepHooks<Task> async;
            if (!options.sleeper) async.sleeper = loop.sleeper();
            out = loop.run(policy.async_execute(attempt_async, options, async));
        }
    }
    return Observed{out.ok,         out.value,          out.attempts,    out.stop_reason, out.last_class,
                    out.cause,      out.elapsed,        out.next_sleep,  events.lines(),  attempt_hooks,
                    *calls};
}

std::vector<Scenario> scenarios() {
    return {
        {"success after two transient failures", {ErrorClass::Transient, ErrorClass::ServerError}, 10ms},
        {"MaxAttemptsGlobal", std::vector<ErrorClass>(6, ErrorClass::Transient), 10ms},
        {"MaxAttemptsPerClass",
         {ErrorClass::RateLimit, ErrorClass::RateLimit},
         {},
         -1,
         [](RetryT& r, ManualClock&) { r.per_class_max_attempts = {{ErrorClass::RateLimit, 2}}; }},
        {"DeadlineExceeded",
         {ErrorClass::Transient, ErrorClass::Transient, ErrorClass::Transient},
         400ms,
         -1,
         [](RetryT& r, ManualClock&) { r.deadline = 1s; }},
        {"MaxUnknownAttempts", {ErrorClass::Unknown, ErrorClass::Unknown, ErrorClass::Unknown}},
        {"NonRetryableClass", {ErrorClass::Transient, ErrorClass::Auth}},
        {"NoStrategy",
         {ErrorClass::Transient},
         {},
         -1,
         [](RetryT& r, ManualClock&) {
             r.strategy = redress::AnyStrategy{};
             r.strategies = {{ErrorClass::RateLimit, DeterministicStrategy{1s}}};
             r.max_attempts = 3;
         }},
        {"BudgetExhausted",
         {ErrorClass::Transient, ErrorClass::Transient},
         {},
         -1,
         [](RetryT& r, ManualClock& c) {
             r.budget = redress::Budget{redress::BudgetOptions{.max_retries = 1, .window = 60s, .clock = c}};
         }},
        {"Scheduled",
         {ErrorClass::Transient},
         {},
         -1,
         {},
         [](redress::CallOptions& o, const std::shared_ptr<int>&) {
             o.sleep = [](const redress::BackoffContext&, redress::Duration) { return redress::SleepDecision::Defer; };
         }},
        {"Aborted by abort_if after the first failure",
         {ErrorClass::Transient, ErrorClass::Transient},
         {},
         -1,
         {},
         [](redress::CallOptions& o, const std::shared_ptr<int>& calls) { o.abort_if = [calls] { return *calls >= 1; }; }},
        {"Aborted by the callable", {ErrorClass::Transient}, {}, 1},
        {"Scheduled by a sleep handler that throws: aborted",
         {ErrorClass::Transient},
         {},
         -1,
         {},
         [](redress::CallOptions& o, const std::shared_ptr<int>&) {
             o.sleep = [](const redress::BackoffContext&, redress::Duration) -> redress::SleepDecision {
                 throw std::runtime_error("handler broke");
             };
         }},
    };
}

}  // namespace

TEST_CASE("parity: the coroutine driver gives the sync driver's events and outcomes") {
    for (const auto& s : scenarios()) {
        INFO("scenario: " << s.name);
        const auto sync = run(s, Mode::Sync);
        CHECK(run(s, Mode::AsyncSyncSleeper) == sync);
        CHECK(run(s, Mode::AsyncVirtualScheduler) == sync);
        CHECK_FALSE(sync.events.empty());
    }
}

TEST_CASE("parity: the scenarios reach the stop reasons they are named for") {
    std::vector<std::optional<StopReason>> reached;
    for (const auto& s : scenarios()) reached.push_back(run(s, Mode::AsyncVirtualScheduler).stop_reason);
    CHECK(reached[1] == StopReason::MaxAttemptsGlobal);
    CHECK(reached[2] == StopReason::MaxAttemptsPerClass);
    CHECK(reached[3] == StopReason::DeadlineExceeded);
    CHECK(reached[4] == StopReason::MaxUnknownAttempts);
    CHECK(reached[5] == StopReason::NonRetryableClass);
    CHECK(reached[6] == StopReason::NoStrategy);
    CHECK(reached[7] == StopReason::BudgetExhausted);
    CHECK(reached[8] == StopReason::Scheduled);
    CHECK(reached[9] == StopReason::Aborted);
    CHECK(reached[10] == StopReason::Aborted);
    CHECK(reached[11] == StopReason::Aborted);
}

TEST_CASE("parity: result classifiers judge coroutine results as they judge sync ones") {
    auto rc = [](const int& v) -> std::optional<ErrorClass> {
        if (v < 0) return ErrorClass::ServerError;
        return std::nullopt;
    };
    ManualClock clock;
    redress::Policy policy{redress::Retry<MessageClassifier, DeterministicStrategy, decltype(rc)>{
        .result_classifier = rc, .strategy = DeterministicStrategy{10ms}, .max_attempts = 3, .clock = clock}};
    redress::testing::VirtualScheduler loop{clock};
    int n = 0;
    auto sync_out = policy.execute([&] { return n++ < 1 ? -1 : 4; }, {.sleeper = redress::testing::AdvancingSleeper(clock)});
    n = 0;
    auto coro = [&]() -> Task<int> { co_return n++ < 1 ? -1 : 4; };
    auto async_out = loop.run(policy.async_execute(coro, {}, {.sleeper = loop.sleeper()}));
    CHECK(sync_out.ok == async_out.ok);
    CHECK(sync_out.value == async_out.value);
    CHECK(sync_out.attempts == async_out.attempts);
    CHECK(async_out.attempts == 2);
    auto bad = loop.run(policy.async_execute([]() -> Task<int> { co_return -9; }, {}, {.sleeper = loop.sleeper()}));
    CHECK(bad.cause == redress::FailureCause::Result);
    CHECK(bad.last_result == -9);
    CHECK(bad.stop_reason == StopReason::MaxAttemptsGlobal);
}

TEST_CASE("async_call returns the value or throws as call() does") {
    ManualClock clock;
    redress::testing::VirtualScheduler loop{clock};
    redress::Policy policy{RetryT{.strategy = DeterministicStrategy{1s}, .max_attempts = 2, .clock = clock}};
    int n = 0;
    auto flaky = [&]() -> Task<int> {
        if (n++ == 0) throw std::runtime_error("TRANSIENT");
        co_return 11;
    };
    CHECK(loop.run(policy.async_call(flaky, {}, {.sleeper = loop.sleeper()})) == 11);
    auto permanent = []() -> Task<int> {
        throw std::invalid_argument("PERMANENT");
        co_return 0;
    };
    CHECK_THROWS_AS(loop.run(policy.async_call(permanent, {}, {.sleeper = loop.sleeper()})), std::invalid_argument);
    auto aborting = []() -> Task<void> {
        throw redress::AbortRetryError();
        co_return;
    };
    CHECK_THROWS_AS(loop.run(policy.async_call(aborting)), redress::AbortRetryError);
}

TEST_CASE("many coroutine operations back off concurrently in virtual time") {
    ManualClock clock;
    redress::testing::VirtualScheduler loop{clock};
    redress::Policy policy{RetryT{.strategy = DeterministicStrategy{50ms}, .clock = clock}};
    const auto t0 = clock.now();
    int done = 0;
    auto op = [&]() -> Task<void> {
        int attempt = 0;
        auto flaky = [&attempt]() -> Task<int> {
            if (attempt++ < 2) throw std::runtime_error("TRANSIENT");
            co_return 1;
        };
        auto out = co_await policy.async_execute(flaky, {}, {.sleeper = loop.sleeper()});
        if (out.ok && out.attempts == 3) ++done;
    };
    for (int i = 0; i < 100; ++i) loop.spawn(op());
    loop.run();
    CHECK(done == 100);
    CHECK(clock.now() - t0 == 100ms);  // two backoffs, overlapped, not 100 x 2
}

TEST_CASE("a coroutine policy with a breaker tells it one result per operation") {
    ManualClock clock;
    redress::testing::FakeCircuitBreaker fake;
    redress::Policy policy{RetryT{.strategy = DeterministicStrategy{10ms}, .max_attempts = 2, .clock = clock}, fake};
    redress::testing::VirtualScheduler loop{clock};
    auto failing = []() -> Task<int> {
        throw std::runtime_error("SERVER_ERROR");
        co_return 0;
    };
    auto out = loop.run(policy.async_execute(failing, {}, {.sleeper = loop.sleeper()}));
    CHECK(out.stop_reason == StopReason::MaxAttemptsGlobal);
    CHECK(fake.allow_calls() == 1);
    CHECK(fake.failures() == 1);
    fake.always(redress::testing::BreakerDecision::Reject);
    int runs = 0;
    auto counted = [&]() -> Task<int> {
        ++runs;
        co_return 1;
    };
    auto rejected = loop.run(policy.async_execute(counted));
    CHECK(rejected.stop_reason == StopReason::CircuitOpen);
    CHECK(runs == 0);
    CHECK_THROWS_AS(loop.run(policy.async_call(counted)), redress::CircuitOpenError);
}

TEST_CASE("a coroutine call that sets one option, whichever, runs with it, one that sets none runs on the policy's") {
    // The driver keeps a call that sets nothing out of its frame (a shared default instead of a
    // copy): each option set alone must still reach the call.
    struct Seen {
        std::string operation;
        std::vector<std::string> tags;  // "key=value": an event's tags are views, valid during the hook
        int call_hooks = 0;  // calls of the hook the option sets
        int policy_metrics = 0;
    };
    struct Case {
        const char* name;
        std::function<void(redress::CallOptions&, Seen&)> set;
        std::function<void(const redress::Outcome<int>&, const Seen&)> check;
    };
    const auto hooked = [](const redress::Outcome<int>&, const Seen& seen) { CHECK(seen.call_hooks > 0); };
    std::stop_source stopped;
    stopped.request_stop();
    const std::vector<Case> cases{
        {"none", [](redress::CallOptions&, Seen&) {},
         [](const redress::Outcome<int>& out, const Seen& seen) {
             CHECK(out.ok);
             CHECK(seen.operation.empty());
             CHECK(seen.tags == std::vector<std::string>{"policy=p"});
             CHECK(seen.policy_metrics == 3);  // retry, retry, success
             CHECK(out.timeline == nullptr);
         }},
        {"operation", [](redress::CallOptions& o, Seen&) { o.operation = "op"; },
         [](const redress::Outcome<int>&, const Seen& seen) { CHECK(seen.operation == "op"); }},
        {"tags", [](redress::CallOptions& o, Seen&) { o.tags = {{"call", "c"}}; },
         [](const redress::Outcome<int>&, const Seen& seen) {
             CHECK(seen.tags == std::vector<std::string>{"policy=p", "call=c"});
         }},
        {"on_metric", [](redress::CallOptions& o, Seen& seen) { o.on_metric = [&seen](const redress::Event&) { ++seen.call_hooks; }; },
         [](const redress::Outcome<int>&, const Seen& seen) {
             CHECK(seen.call_hooks == 3);
             CHECK(seen.policy_metrics == 0);  // the call's hook wins
         }},
        {"on_log", [](redress::CallOptions& o, Seen& seen) { o.on_log = [&seen](const redress::Event&) { ++seen.call_hooks; }; },
         hooked},
        {"on_attempt_start",
         [](redress::CallOptions& o, Seen& seen) { o.on_attempt_start = [&seen](const redress::AttemptContext&) { ++seen.call_hooks; }; },
         [](const redress::Outcome<int>&, const Seen& seen) { CHECK(seen.call_hooks == 3); }},
        {"on_attempt_end",
         [](redress::CallOptions& o, Seen& seen) { o.on_attempt_end = [&seen](const redress::AttemptContext&) { ++seen.call_hooks; }; },
         [](const redress::Outcome<int>&, const Seen& seen) { CHECK(seen.call_hooks == 3); }},
        {"abort_if", [](redress::CallOptions& o, Seen&) { o.abort_if = [] { return true; }; },
         [](const redress::Outcome<int>& out, const Seen&) { CHECK(out.stop_reason == StopReason::Aborted); }},
        {"stop_token", [&](redress::CallOptions& o, Seen&) { o.stop_token = stopped.get_token(); },
         [](const redress::Outcome<int>& out, const Seen&) { CHECK(out.stop_reason == StopReason::Aborted); }},
        {"sleep",
         [](redress::CallOptions& o, Seen&) {
             o.sleep = [](const redress::BackoffContext&, redress::Duration) { return redress::SleepDecision::Defer; };
         },
         [](const redress::Outcome<int>& out, const Seen&) { CHECK(out.stop_reason == StopReason::Scheduled); }},
        {"before_sleep",
         [](redress::CallOptions& o, Seen& seen) {
             o.before_sleep = [&seen](const redress::BackoffContext&, redress::Duration) { ++seen.call_hooks; };
         },
         [](const redress::Outcome<int>&, const Seen& seen) { CHECK(seen.call_hooks == 2); }},
        {"sleeper", [](redress::CallOptions& o, Seen& seen) { o.sleeper = [&seen](redress::Duration) { ++seen.call_hooks; }; },
         [](const redress::Outcome<int>&, const Seen& seen) { CHECK(seen.call_hooks == 2); }},
        {"capture_timeline", [](redress::CallOptions& o, Seen&) { o.capture_timeline = true; },
         [](const redress::Outcome<int>& out, const Seen&) { CHECK(out.timeline != nullptr); }},
    };
    for (const auto& c : cases) {
        INFO("option: " << c.name);
        Seen seen;
        redress::Policy policy{redress::Retry{.strategy = redress::testing::instant_retries,
                                              .sleeper = [](redress::Duration) {},
                                              .on_metric =
                                                  [&seen](const redress::Event& e) {
                                                      ++seen.policy_metrics;
                                                      seen.operation = e.operation;
                                                      seen.tags.clear();
                                                      for (const auto& t : e.tags)
                                                          seen.tags.push_back(std::string(t.key) + "=" + std::string(t.value));
                                                  },
                                              .tags = {{"policy", "p"}}}};
        redress::CallOptions options;
        c.set(options, seen);
        int calls = 0;
        auto flaky = [&calls]() -> Task<int> {
            if (calls++ < 2) throw redress::ServerError("503");
            co_return 7;
        };
        const auto out = redress::sync_wait(policy.async_execute(flaky, std::move(options)));
        c.check(out, seen);
    }
}
