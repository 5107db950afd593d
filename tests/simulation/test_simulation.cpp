// The storm simulator (include/redress/simulation/): the AWS backoff study reproduced, the
// metastable case, determinism, flat memory and option validation.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <redress/redress.hpp>
#include <redress/simulation/simulation.hpp>

namespace sim = redress::simulation;
using namespace std::chrono_literals;
using redress::testing::ManualClock;

namespace {

// ---- the AWS "Exponential Backoff and Jitter" study ------------------------------------------

struct Totals {
    double calls = 0;
    double completion_s = 0;
};

/// Each client retries its write until it succeeds: the study's clients never give up.
template <class Strategy>
Totals aws_occ(Strategy strategy, int runs) {
    Totals t;
    for (int seed = 1; seed <= runs; ++seed) {
        const auto r = sim::simulate(
            sim::scenario("aws-occ"),
            [&](const ManualClock& clock) {
                return redress::Policy{redress::Retry{
                    .strategy = strategy, .deadline = 1h, .max_attempts = 1'000'000, .clock = clock}};
            },
            {.seed = static_cast<std::uint64_t>(seed)});
        REQUIRE(r.successes == 100);
        t.calls += static_cast<double>(r.attempts) / runs;
        t.completion_s += std::chrono::duration<double>(r.completion).count() / runs;
    }
    return t;
}

// ---- the metastable case ----------------------------------------------------------------------

/// 200 requests/s against a capacity of 400/s, a 10 s slowdown from 10 s to 20 s, and a
/// queue long enough that a full one means every answer is late.
sim::Scenario metastable() {
    sim::Scenario s{};
    s.request_rate = 200;
    s.concurrency = 20;
    s.service_time = 50ms;
    s.queue_limit = 1'000;
    s.duration = 60s;
    s.fault = {.kind = sim::FaultKind::Overload, .start = 10s, .duration = 10s, .slowdown = 4.0};
    return s;
}

/// Immediate retries, three of them: what a naive client does.
redress::Retry<redress::DefaultClassifier, redress::Constant> immediate(const ManualClock& clock) {
    return {.strategy = redress::constant(0ms), .max_attempts = 4, .clock = clock};
}

sim::Result run_naive(const sim::Scenario& s, std::uint64_t seed = 1) {
    return sim::simulate(s, [](const ManualClock& clock) { return redress::Policy{immediate(clock)}; },
                         {.seed = seed, .name = "immediate x3"});
}

}  // namespace

TEST_CASE("the AWS backoff study is reproduced: no jitter does the most work and takes longest") {
    constexpr int runs = 10;
    const auto none = aws_occ(redress::exponential({.base = 10ms, .max = 2s}), runs);
    const auto full = aws_occ(redress::full_jitter({.base = 5ms, .max = 2s}), runs);
    const auto equal = aws_occ(redress::equal_jitter({.base = 5ms, .max = 2s}), runs);
    const auto decorrelated = aws_occ(redress::decorrelated_jitter({.base = 5ms, .max = 2s}), runs);
    INFO("calls / completion: none " << none.calls << " / " << none.completion_s << " s, equal " << equal.calls
                                     << " / " << equal.completion_s << " s, full " << full.calls << " / "
                                     << full.completion_s << " s, decorrelated " << decorrelated.calls << " / "
                                     << decorrelated.completion_s << " s");
    // Reference (the study's logic rerun at 100 clients): 1,858 / 63.9 s, equal 814 / 6.7 s,
    // full 796 / 4.9 s, decorrelated 1,003 / 4.5 s.
    for (const auto& jittered : {full, equal, decorrelated}) {
        CHECK(none.calls > 1.5 * jittered.calls);
        CHECK(none.completion_s > 4.0 * jittered.completion_s);
    }
    CHECK(equal.calls == Approx(full.calls).epsilon(0.15));  // about the same work
    CHECK(decorrelated.calls > 1.1 * full.calls);            // somewhat more
    CHECK(decorrelated.calls > 1.1 * equal.calls);
    CHECK(equal.completion_s > full.completion_s);  // equal jitter is the slowest jittered one
    CHECK(equal.completion_s > decorrelated.completion_s);
    WARN("AWS study, mean of " << runs << " runs, calls / completion: none " << none.calls << " / " << none.completion_s
                               << " s, equal " << equal.calls << " / " << equal.completion_s << " s, full "
                               << full.calls << " / " << full.completion_s << " s, decorrelated "
                               << decorrelated.calls << " / " << decorrelated.completion_s << " s");
}

TEST_CASE("immediate retries keep an overloaded downstream down while a budget or a breaker lets it recover") {
    const auto s = metastable();
    const auto naive = run_naive(s);
    const auto budget = sim::simulate(
        s,
        [](const ManualClock& clock) {
            auto retry = immediate(clock);
            retry.budget = redress::Budget{{.max_retries = 200, .window = 10s, .clock = clock}};
            return redress::Policy{retry};
        },
        {.name = "immediate x3 + budget"});
    const auto breaker = sim::simulate(
        s,
        [](const ManualClock& clock) {
            return redress::Policy{immediate(clock),
                                   redress::CircuitBreaker{{.window = 5s,
                                                            .recovery_timeout = 2s,
                                                            .failure_ratio = 0.5,
                                                            .minimum_throughput = 50,
                                                            .clock = clock}}};
        },
        {.name = "immediate x3 + breaker"});
    INFO(sim::format_table({naive, budget, breaker}));

    // Capacity headroom is 2x (400/s against 200/s): the naive clients amplify beyond it and
    // stay there for the 40 s after the fault ends.
    CHECK_FALSE(naive.recovered);
    CHECK(naive.amplification > 2.0);
    const auto& last = naive.series.at(55);
    CHECK(last.success_rate() < 0.5);
    CHECK(static_cast<double>(last.attempts) > 2.0 * 200);

    for (const auto* guarded : {&budget, &breaker}) {
        CHECK(guarded->recovered);
        REQUIRE(guarded->recovery.has_value());
        CHECK(*guarded->recovery <= 20s);  // the queue the fault left behind drains first
        CHECK(guarded->success_rate > naive.success_rate + 0.3);
    }
    CHECK(budget.refused_by_budget > 0);
    CHECK(breaker.refused_by_breaker > 0);
    WARN(sim::format_table({naive, budget, breaker}));
}

TEST_CASE("a 429's Retry-After reaches retry_after_or through the simulation's classifier") {
    sim::Scenario s = metastable();
    s.duration = 40s;
    s.fault = {.kind = sim::FaultKind::RateLimit, .start = 10s, .duration = 10s, .rate_limit = 100,
               .retry_after = 2s};
    const auto fast = redress::full_jitter({.base = 10ms, .max = 10s});
    const auto blind = sim::simulate(s, [&](const ManualClock& clock) {
        return redress::Policy{redress::Retry{.strategy = fast, .max_attempts = 4, .clock = clock}};
    });
    const auto honouring = sim::simulate(s, [&](const ManualClock& clock) {
        return redress::Policy{redress::Retry{.classifier = sim::retry_after_classifier,
                                              .strategy = redress::retry_after_or(fast, 100ms),
                                              .max_attempts = 4,
                                              .clock = clock}};
    });
    INFO(sim::format_table({blind, honouring}));
    // Waiting the 2 s the downstream asked for: fewer attempts, and rate-limited requests
    // take at least 2 s (the blind client's retries are over within ~150 ms).
    CHECK(honouring.attempts < blind.attempts);
    CHECK(honouring.p99 >= 2s);
    CHECK(blind.max < 1s);
    CHECK(honouring.success_rate > blind.success_rate);  // and more of them get through
}

TEST_CASE("the same seed gives the same table and CSV byte for byte and another seed differs") {
    auto s = metastable();
    s.duration = 30s;
    const auto a = run_naive(s, 7);
    const auto b = run_naive(s, 7);
    const auto c = run_naive(s, 8);
    CHECK(sim::format_table({a}) == sim::format_table({b}));
    CHECK(sim::format_csv({a}) == sim::format_csv({b}));
    CHECK(sim::format_csv({a}) != sim::format_csv({c}));
    CHECK(a.attempts != c.attempts);
}

TEST_CASE("live coroutines and timers stay bounded as simulated time doubles") {
    auto s = sim::scenario("steady");
    s.request_rate = 200;
    s.concurrency = 20;
    s.duration = 30s;
    const auto shorter = run_naive(s);
    s.duration = 60s;
    const auto longer = run_naive(s);
    CHECK(longer.requests > 2 * shorter.requests * 9 / 10);
    CHECK(longer.loop.resumptions > shorter.loop.resumptions * 3 / 2);
    // In flight at 200/s x ~55 ms: a few dozen, however long the run.
    CHECK(longer.loop.peak_live_tasks < 100);
    CHECK(longer.loop.peak_timers < 100);
    CHECK(longer.loop.peak_live_tasks <= shorter.loop.peak_live_tasks + 20);
    CHECK(longer.loop.live_tasks == 0);
}

TEST_CASE("a fault that starts after new requests stop counts as no fault, not as a failure to recover") {
    auto s = metastable();
    s.duration = 20s;
    s.fault.start = 30s;
    const auto r = run_naive(s);
    CHECK(r.recovered);
    CHECK_FALSE(r.recovery.has_value());
    CHECK(r.success_rate > 0.99);
    s.fault.start = 5s;  // the same run with the fault inside it does not recover
    CHECK_FALSE(run_naive(s).recovered);
}

TEST_CASE("invalid scenario options throw InvalidOption naming the option") {
    const auto rejects = [](sim::Scenario s, const std::string& option) {
        try {
            (void)run_naive(s);
            FAIL("accepted an invalid " << option);
        } catch (const redress::InvalidOption& e) {
            CHECK(std::string(e.option()) == option);
            CHECK_THAT(e.what(), Catch::Contains(option));
        }
    };
    sim::Scenario s{};
    s.request_rate = -1;
    rejects(s, "request_rate");
    s = {};
    s.concurrency = 0;
    rejects(s, "concurrency");
    s = {};
    s.timeout = 0s;
    rejects(s, "timeout");
    s = {};
    s.fault.error_rate = 1.5;
    rejects(s, "fault.error_rate");
    s = {};
    s.interval = 0s;
    rejects(s, "interval");
    CHECK_THROWS_AS(sim::scenario("no-such-scenario"), std::invalid_argument);
    CHECK_THROWS_WITH(sim::scenario("no-such-scenario"), Catch::Contains("name"));
}

TEST_CASE("failures returned as Response values give the very run that thrown failures give") {
    // Every named scenario (each kind of answer: 503s, queue-full 503s, client timeouts,
    // 429s with Retry-After, write conflicts), a shortened version of each, with and without
    // Retry-After honoured: the same table and CSV byte for byte.
    const auto strategy = redress::retry_after_or(redress::full_jitter({.base = 20ms, .max = 2s}), 100ms);
    for (const auto name : sim::scenario_names) {
        for (const bool honour : {false, true}) {
            auto s = sim::scenario(name);
            if (s.fault.kind == sim::FaultKind::None) continue;  // "steady": nothing fails
            // A twentieth of the load and of the capacity (the same overload), until 1 s
            // after the fault: fast enough for a sanitizer build.
            s.duration = std::min(s.duration, s.fault.end() + 1s);
            if (s.open_loop()) {
                s.request_rate /= 20;
                s.concurrency = std::max(1, s.concurrency / 20);
                s.queue_limit /= 20;
                s.fault.rate_limit /= 20;
            }
            const sim::RunOptions options{.seed = 3, .name = "p"};
            const auto run = [&](auto classifier, auto result_classifier) {
                return sim::simulate(
                    s,
                    [&](const ManualClock& clock) {
                        // A different cap per class: a class told apart wrongly changes the run.
                        return redress::Policy{redress::Retry{
                            .classifier = classifier,
                            .result_classifier = result_classifier,
                            .strategy = strategy,
                            .max_attempts = 6,
                            .per_class_max_attempts = {{redress::ErrorClass::Transient, 2},
                                                       {redress::ErrorClass::ServerError, 3},
                                                       {redress::ErrorClass::RateLimit, 4},
                                                       {redress::ErrorClass::Concurrency, 5}},
                            .clock = clock}};
                    },
                    options);
            };
            const auto thrown = honour ? run(sim::retry_after_classifier, redress::NoResultClassifier{})
                                       : run(redress::default_classifier, redress::NoResultClassifier{});
            const auto returned = run(redress::default_classifier,
                                      honour ? sim::retry_after_response_classifier : sim::response_classifier);
            INFO(name << (honour ? ", honouring Retry-After" : "") << '\n'
                      << sim::format_table({thrown, returned}));
            CHECK(thrown.attempts > thrown.requests);  // the run did fail and retry
            CHECK(sim::format_table({thrown}) == sim::format_table({returned}));
            CHECK(sim::format_csv({thrown}) == sim::format_csv({returned}));
        }
    }
}
