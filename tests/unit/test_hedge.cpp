// Hedging on the coroutine path, in virtual time: when a hedge is sent, who wins, how the
// losers are cancelled, what suppresses a hedge, and the exact events of each case.
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <string>
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

TEST_CASE("a failure while a hedge is in flight waits; when the last in flight fails the retry path applies") {
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
