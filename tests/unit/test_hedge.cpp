// Hedging on the coroutine path, in virtual time: when a hedge is sent, who wins, how the
// losers are cancelled, what suppresses a hedge, and the exact events of each case; then the
// same for sync calls whose attempts run on an executor.
#include <catch2/catch.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <redress/redress.hpp>
#include <redress/testing.hpp>

#include "invalid_option.hpp"
#include "recorder.hpp"

using namespace std::chrono_literals;
using redress::Duration;
using redress::Task;
using redress::testing::ManualClock;
using redress::testing::VirtualScheduler;
using Lines = std::vector<std::string>;

using redress_test::AttemptLog;

namespace {

/// What one attempt does: answer after `latency` with its number ("ok") or throw a class.
struct Step {
    Duration latency;
    std::string result = "ok";
};

/// A scripted service: attempt n follows steps[n-1]; it waits on a stoppable virtual sleep,
/// so a cancelled attempt wakes at once and records that it saw the stop.
struct Service {
    VirtualScheduler& loop;
    std::vector<Step> steps;
    int calls = 0;
    std::vector<int> saw_stop{};

    static Task<int> attempt(Service* s, int n, std::stop_token token) {
        const Step step = s->steps.at(static_cast<std::size_t>(n - 1));
        co_await s->loop.sleep(step.latency, token);
        if (token.stop_requested()) {
            s->saw_stop.push_back(n);
            throw std::runtime_error("TRANSIENT");
        }
        if (step.result != "ok") throw std::runtime_error(step.result);
        co_return n;
    }
    auto operation() {
        return [this](std::stop_token token) { return attempt(this, ++calls, std::move(token)); };
    }
};

auto retry_on(ManualClock clock, int max_attempts = 4) {
    return redress::Retry{.classifier = redress_test::MessageClassifier{},
                          .strategy = redress::constant(10ms),
                          .max_attempts = max_attempts,
                          .clock = clock};
}

/// Runs one hedged operation and returns its outcome; events and attempt hooks are recorded.
template <class PolicyT>
redress::Outcome<int> run(const PolicyT& policy, VirtualScheduler& loop, Service& service,
                          redress_test::Recorder& events, AttemptLog& attempts) {
    redress::CallOptions options{.on_metric = events.hook()};
    attempts.wire(options);
    return loop.run(policy.async_execute(service.operation(), options, {.sleeper = loop.sleeper()}));
}

}  // namespace

TEST_CASE("a slow first attempt gets a hedge at the delay, the hedge's answer wins and the first is cancelled") {
    ManualClock clock;
    VirtualScheduler loop{clock};
    redress::Policy policy{retry_on(clock), redress::Hedge{.delay = 50ms}};
    Service service{loop, {{200ms}, {30ms}}};
    redress_test::Recorder events;
    AttemptLog attempts;

    const auto out = run(policy, loop, service, events, attempts);

    CHECK(out.ok);
    CHECK(out.value == 2);
    CHECK(out.attempts == 2);
    CHECK(out.winner == 2);
    CHECK(out.in_flight == 2);
    CHECK(out.elapsed == 80ms);
    CHECK(events.lines() == Lines{"hedge_sent#2 sleep=50ms trigger=fixed in_flight=2", "success#2 in_flight=2"});
    CHECK(attempts.lines == Lines{"start#1", "start#2", "end#2 success", "end#1 cancelled"});
    CHECK(service.saw_stop == std::vector<int>{1});
    CHECK(loop.pending_timers() == 0);
}

TEST_CASE("a fast first attempt sends no hedge, and the hedge timer firing later changes nothing") {
    ManualClock clock;
    VirtualScheduler loop{clock};
    redress::Policy policy{retry_on(clock), redress::Hedge{.delay = 50ms}};
    Service service{loop, {{10ms}}};
    redress_test::Recorder events;
    AttemptLog attempts;
    const redress::TimePoint start = clock.now();

    const auto out = run(policy, loop, service, events, attempts);

    CHECK(out.ok);
    CHECK(out.value == 1);
    CHECK(out.attempts == 1);
    CHECK(out.winner == 1);
    CHECK(out.in_flight == 1);
    CHECK(out.elapsed == 10ms);
    CHECK(service.calls == 1);
    CHECK(events.lines() == Lines{"success#1 in_flight=1"});
    CHECK(attempts.lines == Lines{"start#1", "end#1 success"});
    CHECK(clock.now() - start == 50ms);  // the disarmed timer ran out, harmlessly
}

TEST_CASE("the percentile trigger uses the fixed delay until min_samples, then follows the latencies as they shift") {
    ManualClock clock;
    VirtualScheduler loop{clock};
    redress::Policy policy{retry_on(clock), redress::Hedge{.delay = 100ms, .percentile = 0.9, .min_delay = 5ms,
                                                           .min_samples = 5}};
    redress_test::Recorder events;
    AttemptLog attempts;
    const auto serve = [&](std::vector<Step> steps) {
        Service service{loop, std::move(steps)};
        return run(policy, loop, service, events, attempts);
    };

    // Before min_samples: the fixed delay.
    CHECK(policy.hedge_delay().trigger == redress::HedgeTrigger::Fixed);
    CHECK(serve({{150ms}, {20ms}}).winner == 2);  // hedged at 100ms; the winner took 20ms
    for (int i = 0; i < 4; ++i) CHECK(serve({{20ms}}).ok);
    CHECK(events.lines().front() == "hedge_sent#2 sleep=100ms trigger=fixed in_flight=2");

    // Five latencies of 20ms: the p90 is 20ms.
    CHECK(policy.hedge_delay().delay == 20ms);
    CHECK(policy.hedge_delay().trigger == redress::HedgeTrigger::Percentile);
    const auto before = static_cast<std::ptrdiff_t>(events.lines().size());
    CHECK(serve({{60ms}, {10ms}}).winner == 2);
    const Lines all = events.lines();
    CHECK(Lines(all.begin() + before, all.end()) == Lines{"hedge_sent#2 sleep=20ms trigger=percentile in_flight=2", "success#2 in_flight=2"});

    // The service slows down: the delay follows.
    for (int i = 0; i < 60; ++i) CHECK(serve({{40ms}, {40ms}}).ok);
    CHECK(policy.hedge_delay().delay == 40ms);

    // ...and speeds up, but never below min_delay.
    for (int i = 0; i < 128; ++i) CHECK(serve({{1ms}}).ok);
    CHECK(policy.hedge_delay().delay == 5ms);
}

TEST_CASE("the percentile is the nearest-rank latency std::nth_element selects, for every rank of random rings") {
    redress::detail::Xoshiro256 random{42};
    for (int trial = 0; trial < 300; ++trial) {
        redress::detail::LatencyRing ring;
        const auto recorded = 1 + static_cast<std::size_t>(random() % 300);  // past 128, the ring wraps
        const auto spread = 1 + static_cast<Duration::rep>(random() % (trial % 3 == 0 ? 4 : 1000000));  // duplicates
        std::vector<Duration::rep> kept;
        for (std::size_t i = 0; i < recorded; ++i) {
            const auto latency = static_cast<Duration::rep>(random() % static_cast<std::uint64_t>(spread));
            ring.record(Duration(latency));
            if (i < redress::detail::LatencyRing::capacity) kept.push_back(latency);
            else kept[i % redress::detail::LatencyRing::capacity] = latency;
        }
        for (double p = 0.01; p < 1.0; p += 0.07) {
            auto expected = kept;
            auto rank = static_cast<std::size_t>(p * static_cast<double>(expected.size()));
            if (rank >= expected.size()) rank = expected.size() - 1;
            std::nth_element(expected.begin(), expected.begin() + static_cast<std::ptrdiff_t>(rank), expected.end());
            INFO("trial " << trial << ", " << recorded << " recorded, p = " << p);
            CHECK(ring.percentile(p, 1) == Duration(expected[rank]));
        }
    }
}

TEST_CASE("hedges never make the attempts exceed max_attempts") {
    ManualClock clock;
    VirtualScheduler loop{clock};
    redress::Policy policy{retry_on(clock, 2), redress::Hedge{.delay = 50ms, .max_hedges = 3}};
    Service service{loop, {{300ms}, {300ms}, {300ms}}};
    redress_test::Recorder events;
    AttemptLog attempts;

    const auto out = run(policy, loop, service, events, attempts);

    CHECK(out.ok);
    CHECK(out.attempts == 2);
    CHECK(service.calls == 2);
    CHECK(events.lines() == Lines{"hedge_sent#2 sleep=50ms trigger=fixed in_flight=2", "success#1 in_flight=2"});
    CHECK(attempts.lines == Lines{"start#1", "start#2", "end#1 success", "end#2 cancelled"});
    CHECK(service.saw_stop == std::vector<int>{2});
}

TEST_CASE("max_hedges hedges run side by side, each sent a delay after the previous one") {
    ManualClock clock;
    VirtualScheduler loop{clock};
    redress::Policy policy{retry_on(clock, 6), redress::Hedge{.delay = 50ms, .max_hedges = 2}};
    Service service{loop, {{500ms}, {500ms}, {500ms}}};
    redress_test::Recorder events;
    AttemptLog attempts;

    const auto out = run(policy, loop, service, events, attempts);

    CHECK(out.value == 1);
    CHECK(out.elapsed == 500ms);
    CHECK(events.lines() == Lines{"hedge_sent#2 sleep=50ms trigger=fixed in_flight=2",
                                  "hedge_sent#3 sleep=50ms trigger=fixed in_flight=3", "success#1 in_flight=3"});
    CHECK(attempts.lines ==
          Lines{"start#1", "start#2", "start#3", "end#1 success", "end#2 cancelled", "end#3 cancelled"});
    CHECK(service.saw_stop == std::vector<int>{2, 3});
}

TEST_CASE("a hedge the budget refuses is a hedge_skipped event, not an error: the hedge's own budget or the retry's") {
    ManualClock clock;
    VirtualScheduler loop{clock};
    const redress::Budget empty{0, 60s};
    auto retry = retry_on(clock);
    SECTION("the hedge's own budget") {}
    SECTION("Retry::budget when the hedge has none") { retry.budget = empty; }
    const bool own = !retry.budget;
    redress::Policy policy{retry, redress::Hedge{.delay = 50ms, .budget = own ? std::optional(empty) : std::nullopt}};
    Service service{loop, {{200ms}}};
    redress_test::Recorder events;
    AttemptLog attempts;

    const auto out = run(policy, loop, service, events, attempts);

    CHECK(out.value == 1);
    CHECK(service.calls == 1);
    CHECK(events.lines() == Lines{"hedge_skipped#2", "success#1 in_flight=1"});
    CHECK(attempts.lines == Lines{"start#1", "end#1 success"});
}

TEST_CASE("a hedge whose budget backend does not answer says so before it is sent (fail-open) or skipped "
          "(fail-closed)") {
    struct Unanswering final : redress::BudgetBackend {
        redress::BudgetVerdict verdict;
        explicit Unanswering(redress::BudgetVerdict v) : verdict(v) {}
        redress::BudgetVerdict consume(int) override { return verdict; }
        [[nodiscard]] int remaining() const override { return 0; }
    };
    ManualClock clock;
    VirtualScheduler loop{clock};
    const bool open = GENERATE(true, false);
    const redress::Budget budget(std::make_shared<Unanswering>(open ? redress::BudgetVerdict::AdmittedUnavailable
                                                                    : redress::BudgetVerdict::RefusedUnavailable));
    redress::Policy policy{retry_on(clock), redress::Hedge{.delay = 50ms, .budget = budget}};
    Service service{loop, {{200ms}, {10ms}}};
    redress_test::Recorder events;
    AttemptLog attempts;

    const auto out = run(policy, loop, service, events, attempts);

    if (open) {
        CHECK(out.winner == 2);
        CHECK(events.lines() == Lines{"budget_backend_unavailable#2", "hedge_sent#2 sleep=50ms trigger=fixed in_flight=2",
                                      "success#2 in_flight=2"});
    } else {
        CHECK(out.winner == 1);
        CHECK(service.calls == 1);
        CHECK(events.lines() == Lines{"budget_backend_unavailable#2", "hedge_skipped#2", "success#1 in_flight=1"});
    }
}

TEST_CASE("each hedge spends one unit of the budget") {
    ManualClock clock;
    VirtualScheduler loop{clock};
    const redress::Budget one{1, 60s};
    redress::Policy policy{retry_on(clock), redress::Hedge{.delay = 50ms, .budget = one}};
    redress_test::Recorder events;
    AttemptLog attempts;
    Service first{loop, {{200ms}, {10ms}}};
    CHECK(run(policy, loop, first, events, attempts).winner == 2);
    Service second{loop, {{200ms}, {10ms}}};
    CHECK(run(policy, loop, second, events, attempts).winner == 1);
    CHECK(events.lines() == Lines{"hedge_sent#2 sleep=50ms trigger=fixed in_flight=2", "success#2 in_flight=2",
                                  "hedge_skipped#2", "success#1 in_flight=1"});
}

TEST_CASE("no hedge is sent while the breaker is half-open or open") {
    ManualClock clock;
    VirtualScheduler loop{clock};
    redress::testing::FakeCircuitBreaker breaker;
    redress::Policy policy{retry_on(clock), breaker, redress::Hedge{.delay = 50ms}};
    redress_test::Recorder events;
    AttemptLog attempts;

    SECTION("this operation is the half-open probe") {
        breaker.script({redress::testing::BreakerDecision::Probe});
        Service service{loop, {{200ms}}};
        CHECK(run(policy, loop, service, events, attempts).value == 1);
        CHECK(service.calls == 1);
        CHECK(events.lines() == Lines{"circuit_half_open#0 state=half_open", "hedge_skipped#2 state=half_open",
                                      "success#1 in_flight=1", "circuit_closed#0 state=closed"});
    }
    SECTION("the breaker opened while the first attempt ran") {
        Service service{loop, {{200ms}}};
        loop.spawn([](VirtualScheduler& l, redress::testing::FakeCircuitBreaker b) -> Task<void> {
            co_await l.sleep(20ms);
            b.set_state(redress::CircuitState::Open);
        }(loop, breaker));
        CHECK(run(policy, loop, service, events, attempts).value == 1);
        CHECK(service.calls == 1);
        CHECK(events.lines() == Lines{"hedge_skipped#2 state=open", "success#1 in_flight=1"});
    }
}

TEST_CASE("a non-retryable failure of a hedge ends the operation when non_retryable_ends, else the others go on") {
    ManualClock clock;
    VirtualScheduler loop{clock};
    redress_test::Recorder events;
    AttemptLog attempts;
    Service service{loop, {{200ms}, {10ms, "PERMANENT"}}};

    SECTION("non_retryable_ends (the default)") {
        redress::Policy policy{retry_on(clock), redress::Hedge{.delay = 50ms}};
        const auto out = run(policy, loop, service, events, attempts);
        CHECK_FALSE(out.ok);
        CHECK(out.stop_reason == redress::StopReason::NonRetryableClass);
        CHECK(out.last_class == redress::ErrorClass::Permanent);
        CHECK(out.elapsed == 60ms);
        CHECK(events.lines() == Lines{"hedge_sent#2 sleep=50ms trigger=fixed in_flight=2",
                                      "permanent_fail#2 class=PERMANENT stop=NON_RETRYABLE_CLASS"});
        CHECK(attempts.lines == Lines{"start#1", "start#2", "end#2 raise", "end#1 cancelled"});
        CHECK(service.saw_stop == std::vector<int>{1});
    }
    SECTION("non_retryable_ends = false") {
        redress::Policy policy{retry_on(clock), redress::Hedge{.delay = 50ms, .non_retryable_ends = false}};
        const auto out = run(policy, loop, service, events, attempts);
        CHECK(out.value == 1);
        CHECK(out.winner == 1);
        CHECK(out.in_flight == 1);
        CHECK(events.lines() == Lines{"hedge_sent#2 sleep=50ms trigger=fixed in_flight=2", "success#1 in_flight=1"});
        CHECK(attempts.lines == Lines{"start#1", "start#2", "end#2 retry", "end#1 success"});
        CHECK(service.saw_stop.empty());
    }
}

TEST_CASE("a failure while a hedge is in flight waits, and when the last in flight fails the retry path applies") {
    ManualClock clock;
    VirtualScheduler loop{clock};
    redress::Policy policy{retry_on(clock), redress::Hedge{.delay = 50ms}};
    Service service{loop, {{100ms, "TRANSIENT"}, {70ms, "TRANSIENT"}, {5ms}}};
    redress_test::Recorder events;
    AttemptLog attempts;

    const auto out = run(policy, loop, service, events, attempts);

    CHECK(out.value == 3);
    CHECK(out.attempts == 3);
    CHECK(out.elapsed == 135ms);  // 120ms (the hedge's failure) + 10ms sleep + 5ms
    CHECK(events.lines() == Lines{"hedge_sent#2 sleep=50ms trigger=fixed in_flight=2",
                                  "retry#2 sleep=10ms class=TRANSIENT", "success#3 in_flight=1"});
    CHECK(attempts.lines == Lines{"start#1", "start#2", "end#1 retry", "end#2 retry", "start#3", "end#3 success"});
}

TEST_CASE("an operation taking its Attempt sees its own number on every hedged attempt") {
    ManualClock clock;
    VirtualScheduler loop{clock};
    redress::Policy policy{retry_on(clock), redress::Hedge{.delay = 50ms}};
    std::vector<int> seen;
    auto op = [&](const redress::Attempt& a) -> Task<int> {
        return [](VirtualScheduler& l, const redress::Attempt& attempt, std::vector<int>& out) -> Task<int> {
            co_await l.sleep(attempt.number == 1 ? 200ms : 10ms, attempt.stop_token);
            out.push_back(attempt.number);  // read after the other attempt started
            co_return attempt.number;
        }(loop, a, seen);
    };
    const auto out = loop.run(policy.async_execute(op, {}, {.sleeper = loop.sleeper()}));
    CHECK(out.value == 2);
    CHECK(seen == std::vector<int>{2, 1});
}

TEST_CASE("a caller's stop request reaches every attempt in flight and aborts the operation") {
    ManualClock clock;
    VirtualScheduler loop{clock};
    redress::Policy policy{retry_on(clock), redress::Hedge{.delay = 50ms}};
    Service service{loop, {{200ms}, {200ms}}};
    std::stop_source caller;
    loop.spawn([](VirtualScheduler& l, std::stop_source s) -> Task<void> {
        co_await l.sleep(80ms);
        s.request_stop();
    }(loop, caller));
    const auto out = loop.run(
        policy.async_execute(service.operation(), {.stop_token = caller.get_token()}, {.sleeper = loop.sleeper()}));
    CHECK(out.stop_reason == redress::StopReason::Aborted);
    CHECK(out.elapsed == 80ms);
    std::sort(service.saw_stop.begin(), service.saw_stop.end());
    CHECK(service.saw_stop == std::vector<int>{1, 2});
}

TEST_CASE("Hedge options are validated at construction, naming the option") {
    using P = redress::Policy<redress::Retry<redress::DefaultClassifier, redress::Constant>, redress::NoBreaker,
                              redress::Hedge>;
    const auto text = [](redress::Hedge h) {
        try {
            P p{redress::Retry{.strategy = redress::constant(1ms)}, std::move(h)};
        } catch (const redress::InvalidOption& e) {
            return std::string(e.component()) + "::" + std::string(e.option());
        }
        return std::string();
    };
    CHECK(text({}) == "Hedge::delay");
    CHECK(text({.delay = 1ms, .percentile = 1.0}) == "Hedge::percentile");
    CHECK(text({.delay = 1ms, .percentile = 0.0}) == "Hedge::percentile");
    CHECK(text({.delay = 1ms, .min_delay = -1ms}) == "Hedge::min_delay");
    CHECK(text({.delay = 1ms, .min_samples = 0}) == "Hedge::min_samples");
    CHECK(text({.delay = 1ms, .min_samples = 129}) == "Hedge::min_samples");
    CHECK(text({.delay = 1ms, .max_hedges = 0}) == "Hedge::max_hedges");
    CHECK(text({.delay = 1ms, .max_hedges = 4}) == "Hedge::max_hedges");
    CHECK(text({.delay = 1ms, .percentile = 0.99, .max_hedges = 3}).empty());
}

TEST_CASE("a hedged call without an async sleeper is an invalid option naming the sleeper") {
    ManualClock clock;
    redress::Policy policy{retry_on(clock), redress::Hedge{.delay = 50ms}};
    auto op = []() -> Task<int> { co_return 1; };
    CHECK_THROWS_AS(redress::sync_wait(policy.async_call(op)), redress::InvalidOption);
}

// ---- sync calls on an executor ----------------------------------------------------------
// The call waits on a caller thread while the test runs the tasks it queues on a
// ManualExecutor by hand: the attempts, and the hedge timers (the policy's sleeper advances
// the manual clock), in the order of virtual time.

namespace {

/// What attempt n of a sync operation does when the test runs it: answer at `at` after the
/// operation's start (virtual time), or, with `until_stopped`, wait until asked to stop.
struct SyncStep {
    Duration at{};
    std::string result = "ok";
    bool until_stopped = false;
};
const SyncStep loser{.until_stopped = true};

/// A scripted sync service; an attempt that finds its stop token requested records it and throws.
struct SyncService {
    ManualClock clock;
    std::vector<SyncStep> steps;
    redress::TimePoint t0 = clock.now();
    std::vector<int> saw_stop{};  // written on the test's thread only (the executor's tasks run there)

    int attempt(const redress::Attempt& a) {
        const SyncStep step = steps.at(static_cast<std::size_t>(a.number - 1));
        if (step.until_stopped) {
            std::mutex mutex;
            std::condition_variable_any never;
            std::unique_lock lock(mutex);
            never.wait_for(lock, a.stop_token, 10s, [] { return false; });  // real time: a broken test ends
        }
        if (a.stop_token.stop_requested()) {
            saw_stop.push_back(a.number);
            throw std::runtime_error("TRANSIENT");
        }
        clock.advance_to(t0 + step.at);
        if (step.result != "ok") throw std::runtime_error(step.result);
        return a.number;
    }
};

/// The outcome in one line: "ok value=2 attempts=2 winner=2 in_flight=2 elapsed=80ms".
std::string summary(const redress::Outcome<int>& out) {
    std::string s = out.ok ? "ok value=" + std::to_string(*out.value) : "failed";
    s += " attempts=" + std::to_string(out.attempts) + " winner=" + std::to_string(out.winner) +
         " in_flight=" + std::to_string(out.in_flight);
    return s + " elapsed=" + std::to_string(out.elapsed / 1ms) + "ms";
}

/// Runs a task the call queued once it has queued `queued` (the call reacts on its own thread).
void run_task(redress::testing::ManualExecutor& executor, std::size_t queued, std::size_t index) {
    if (!executor.wait_for(queued)) FAIL("the call did not queue " << queued << " tasks");
    executor.run(index);
}

auto sync_retry_on(ManualClock clock, int max_attempts = 4) {
    auto retry = retry_on(clock, max_attempts);
    retry.sleeper = redress::testing::AdvancingSleeper(clock);  // hedge timers and retry sleeps
    return retry;
}

/// Runs one hedged sync operation on a caller thread while `script` runs the executor's tasks.
template <class PolicyT, class Script>
redress::Outcome<int> run_sync(const PolicyT& policy, SyncService& service, redress::testing::ManualExecutor& executor,
                               redress_test::Recorder& events, AttemptLog& attempts, Script script,
                               std::stop_token stop = {}) {
    redress::CallOptions options{.on_metric = events.hook(), .stop_token = std::move(stop)};
    attempts.wire(options);
    redress::Outcome<int> out;
    std::thread caller([&] {
        out = policy.execute([&service](const redress::Attempt& a) { return service.attempt(a); }, options,
                             redress::hedge_on(executor));
    });
    script();
    caller.join();
    return out;
}

}  // namespace

TEST_CASE("sync: a slow first attempt gets a hedge at the delay, the hedge wins and the first is cancelled") {
    ManualClock clock;
    redress::Policy policy{sync_retry_on(clock), redress::Hedge{.delay = 50ms}};
    SyncService service{clock, {loser, {80ms}}};
    redress::testing::ManualExecutor executor;
    redress_test::Recorder events;
    AttemptLog attempts;

    const auto out = run_sync(policy, service, executor, events, attempts, [&] {
        run_task(executor, 2, 1);  // [attempt 1, timer]: the timer runs out at 50ms
        run_task(executor, 2, 1);  // [attempt 1, attempt 2]: the hedge answers at 80ms
        run_task(executor, 1, 0);  // attempt 1 finds its stop requested
    });

    CHECK(summary(out) == "ok value=2 attempts=2 winner=2 in_flight=2 elapsed=80ms");
    CHECK(events.lines() == Lines{"hedge_sent#2 sleep=50ms trigger=fixed in_flight=2", "success#2 in_flight=2"});
    CHECK(attempts.lines == Lines{"start#1", "start#2", "end#2 success", "end#1 cancelled"});
    CHECK(service.saw_stop == std::vector<int>{1});
    CHECK(executor.pending() == 0);
}

TEST_CASE("sync: a fast first attempt sends no hedge, and its timer running out later changes nothing") {
    ManualClock clock;
    redress::Policy policy{sync_retry_on(clock), redress::Hedge{.delay = 50ms}};
    SyncService service{clock, {{10ms}}};
    redress::testing::ManualExecutor executor;
    redress_test::Recorder events;
    AttemptLog attempts;

    const auto out = run_sync(policy, service, executor, events, attempts, [&] { run_task(executor, 2, 0); });
    CHECK(executor.pending() == 1);
    executor.run();  // the timer, after the call

    CHECK(summary(out) == "ok value=1 attempts=1 winner=1 in_flight=1 elapsed=10ms");
    CHECK(events.lines() == Lines{"success#1 in_flight=1"});
    CHECK(attempts.lines == Lines{"start#1", "end#1 success"});
    CHECK(executor.pending() == 0);
}

TEST_CASE("sync: hedges never make the attempts exceed max_attempts") {
    ManualClock clock;
    redress::Policy policy{sync_retry_on(clock, 2), redress::Hedge{.delay = 50ms, .max_hedges = 3}};
    SyncService service{clock, {{300ms}, loser}};
    redress::testing::ManualExecutor executor;
    redress_test::Recorder events;
    AttemptLog attempts;

    const auto out = run_sync(policy, service, executor, events, attempts, [&] {
        run_task(executor, 2, 1);  // the timer: attempt 2, and no timer for a third
        run_task(executor, 2, 0);  // attempt 1 answers at 300ms
        run_task(executor, 1, 0);  // attempt 2 is stopped
    });

    CHECK(summary(out) == "ok value=1 attempts=2 winner=1 in_flight=2 elapsed=300ms");
    CHECK(events.lines() == Lines{"hedge_sent#2 sleep=50ms trigger=fixed in_flight=2", "success#1 in_flight=2"});
    CHECK(attempts.lines == Lines{"start#1", "start#2", "end#1 success", "end#2 cancelled"});
    CHECK(service.saw_stop == std::vector<int>{2});
    CHECK(executor.pending() == 0);
}

TEST_CASE("sync: up to max_hedges hedges, each a delay after the previous, all losers stopped") {
    ManualClock clock;
    redress::Policy policy{sync_retry_on(clock), redress::Hedge{.delay = 50ms, .max_hedges = 2}};
    SyncService service{clock, {{500ms}, loser, loser}};
    redress::testing::ManualExecutor executor;
    redress_test::Recorder events;
    AttemptLog attempts;

    const auto out = run_sync(policy, service, executor, events, attempts, [&] {
        run_task(executor, 2, 1);  // timer at 50ms: [attempt 1, attempt 2, timer]
        run_task(executor, 3, 2);  // timer at 100ms: [attempt 1, attempt 2, attempt 3]
        run_task(executor, 3, 0);  // attempt 1 answers at 500ms
        run_task(executor, 2, 0);
        run_task(executor, 1, 0);
    });

    CHECK(summary(out) == "ok value=1 attempts=3 winner=1 in_flight=3 elapsed=500ms");
    CHECK(events.lines() == Lines{"hedge_sent#2 sleep=50ms trigger=fixed in_flight=2",
                                  "hedge_sent#3 sleep=50ms trigger=fixed in_flight=3", "success#1 in_flight=3"});
    CHECK(attempts.lines ==
          Lines{"start#1", "start#2", "start#3", "end#1 success", "end#2 cancelled", "end#3 cancelled"});
    CHECK(service.saw_stop == std::vector<int>{2, 3});
}

TEST_CASE("sync: a hedge the budget refuses is a hedge_skipped event: the hedge's own budget or the retry's") {
    ManualClock clock;
    const redress::Budget empty{0, 60s};
    auto retry = sync_retry_on(clock);
    SECTION("the hedge's own budget") {}
    SECTION("Retry::budget when the hedge has none") { retry.budget = empty; }
    const bool own = !retry.budget;
    redress::Policy policy{retry, redress::Hedge{.delay = 50ms, .budget = own ? std::optional(empty) : std::nullopt}};
    SyncService service{clock, {{200ms}}};
    redress::testing::ManualExecutor executor;
    redress_test::Recorder events;
    AttemptLog attempts;

    const auto out = run_sync(policy, service, executor, events, attempts, [&] {
        run_task(executor, 2, 1);  // the timer: reported before attempt 1's answer, which comes after
        run_task(executor, 1, 0);
    });

    CHECK(summary(out) == "ok value=1 attempts=1 winner=1 in_flight=1 elapsed=200ms");
    CHECK(events.lines() == Lines{"hedge_skipped#2", "success#1 in_flight=1"});
    CHECK(attempts.lines == Lines{"start#1", "end#1 success"});
    CHECK(executor.pending() == 0);
}

TEST_CASE("sync: no hedge is sent while the breaker is half-open or open") {
    ManualClock clock;
    redress::testing::FakeCircuitBreaker breaker;
    redress::Policy policy{sync_retry_on(clock), breaker, redress::Hedge{.delay = 50ms}};
    SyncService service{clock, {{200ms}}};
    redress::testing::ManualExecutor executor;
    redress_test::Recorder events;
    AttemptLog attempts;

    SECTION("this operation is the half-open probe") {
        breaker.script({redress::testing::BreakerDecision::Probe});
        const auto out = run_sync(policy, service, executor, events, attempts, [&] {
            run_task(executor, 2, 1);
            run_task(executor, 1, 0);
        });
        CHECK(out.value == 1);
        CHECK(events.lines() == Lines{"circuit_half_open#0 state=half_open", "hedge_skipped#2 state=half_open",
                                      "success#1 in_flight=1", "circuit_closed#0 state=closed"});
    }
    SECTION("the breaker opened while the first attempt ran") {
        const auto out = run_sync(policy, service, executor, events, attempts, [&] {
            if (!executor.wait_for(2)) FAIL("the call did not start");
            breaker.set_state(redress::CircuitState::Open);
            run_task(executor, 2, 1);
            run_task(executor, 1, 0);
        });
        CHECK(out.value == 1);
        CHECK(events.lines() == Lines{"hedge_skipped#2 state=open", "success#1 in_flight=1"});
    }
    CHECK(attempts.lines == Lines{"start#1", "end#1 success"});
}

TEST_CASE("sync: a non-retryable failure of a hedge ends the operation and stops the others") {
    ManualClock clock;
    redress::Policy policy{sync_retry_on(clock), redress::Hedge{.delay = 50ms}};
    SyncService service{clock, {loser, {60ms, "PERMANENT"}}};
    redress::testing::ManualExecutor executor;
    redress_test::Recorder events;
    AttemptLog attempts;

    const auto out = run_sync(policy, service, executor, events, attempts, [&] {
        run_task(executor, 2, 1);
        run_task(executor, 2, 1);  // the hedge fails, permanently
        run_task(executor, 1, 0);
    });

    CHECK(summary(out) == "failed attempts=2 winner=0 in_flight=0 elapsed=60ms");
    CHECK(out.stop_reason == redress::StopReason::NonRetryableClass);
    CHECK(events.lines() == Lines{"hedge_sent#2 sleep=50ms trigger=fixed in_flight=2",
                                  "permanent_fail#2 class=PERMANENT stop=NON_RETRYABLE_CLASS"});
    CHECK(attempts.lines == Lines{"start#1", "start#2", "end#2 raise", "end#1 cancelled"});
    CHECK(service.saw_stop == std::vector<int>{1});
}

TEST_CASE("sync: a failure while a hedge is in flight waits, and when the last fails the retry sleeps on the caller") {
    ManualClock clock;
    redress::Policy policy{sync_retry_on(clock), redress::Hedge{.delay = 50ms}};
    SyncService service{clock, {{100ms, "TRANSIENT"}, {120ms, "TRANSIENT"}, {135ms}}};
    redress::testing::ManualExecutor executor;
    redress_test::Recorder events;
    AttemptLog attempts;

    const auto out = run_sync(policy, service, executor, events, attempts, [&] {
        run_task(executor, 2, 1);  // the timer: the hedge
        run_task(executor, 2, 0);  // attempt 1 fails at 100ms: wait for the hedge
        run_task(executor, 1, 0);  // the hedge fails at 120ms: sleep 10ms, then a new round
        run_task(executor, 2, 0);  // [attempt 3, its timer]: attempt 3 answers at 135ms
    });
    executor.run();  // round 2's timer, after the call

    CHECK(summary(out) == "ok value=3 attempts=3 winner=3 in_flight=1 elapsed=135ms");
    CHECK(events.lines() == Lines{"hedge_sent#2 sleep=50ms trigger=fixed in_flight=2",
                                  "retry#2 sleep=10ms class=TRANSIENT", "success#3 in_flight=1"});
    CHECK(attempts.lines == Lines{"start#1", "start#2", "end#1 retry", "end#2 retry", "start#3", "end#3 success"});
}

TEST_CASE("sync: a caller's stop request reaches every attempt in flight and aborts the operation") {
    ManualClock clock;
    redress::Policy policy{sync_retry_on(clock), redress::Hedge{.delay = 50ms}};
    SyncService service{clock, {loser, loser}};
    redress::testing::ManualExecutor executor;
    redress_test::Recorder events;
    AttemptLog attempts;
    std::stop_source caller;

    const auto out = run_sync(
        policy, service, executor, events, attempts,
        [&] {
            run_task(executor, 2, 1);
            if (!executor.wait_for(2)) FAIL("no hedge");
            caller.request_stop();
            executor.run(0);
            run_task(executor, 1, 0);
        },
        caller.get_token());

    CHECK(out.stop_reason == redress::StopReason::Aborted);
    CHECK(service.saw_stop == std::vector<int>{1, 2});
    CHECK(attempts.lines == Lines{"start#1", "start#2", "end#1 aborted", "end#2 cancelled"});
}

TEST_CASE("sync: call() returns the winner's value, and a task the executor refuses is a failed attempt") {
    ManualClock clock;
    redress::Policy policy{sync_retry_on(clock, 2), redress::Hedge{.delay = 50ms}};
    int refused = 0;
    const auto refusing = [&](std::function<void()>) {
        ++refused;
        throw std::runtime_error("PERMANENT");
    };
    const auto op = [](const redress::Attempt& a) { return a.number; };
    CHECK_THROWS_WITH(policy.call(op, redress::hedge_on(refusing)), "PERMANENT");
    CHECK(refused == 2);  // attempt 1 and its timer

    const auto inline_executor = [](std::function<void()> task) { task(); };
    CHECK(policy.call(op, {.operation = "inline"}, redress::hedge_on(inline_executor)) == 1);
    CHECK(policy.execute(op, redress::hedge_on(inline_executor)).winner == 1);
}
