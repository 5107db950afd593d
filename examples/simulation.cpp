// The storm simulator: what immediate retries do to a downstream that slows down for 10 s,
// and what a retry budget changes; then a hedged policy on a downstream with a slow tail.
// Runs in virtual time, in about a second.
#include <cassert>
#include <chrono>
#include <iostream>

#include <redress/redress.hpp>
#include <redress/simulation/simulation.hpp>

using namespace std::chrono_literals;

int main() {
    // snippet-begin: simulation-run
    namespace sim = redress::simulation;

    // 200 requests/s against a downstream that serves 400/s, four times slower from 10 s to 20 s.
    sim::Scenario scenario{.request_rate = 200, .duration = 60s, .concurrency = 20, .queue_limit = 1'000};
    scenario.fault = {.kind = sim::FaultKind::Overload, .start = 10s, .duration = 10s, .slowdown = 4.0};

    // Your policy, built on the simulation's clock (so its budget and breaker see virtual time).
    auto naive = [](const redress::testing::ManualClock& clock) {
        return redress::Policy{redress::Retry{.strategy = redress::constant(0ms), .max_attempts = 4, .clock = clock}};
    };
    auto budgeted = [](const redress::testing::ManualClock& clock) {
        return redress::Policy{redress::Retry{.strategy = redress::constant(0ms),
                                              .max_attempts = 4,
                                              .budget = redress::Budget{{.max_retries = 200, .window = 10s, .clock = clock}},
                                              .clock = clock}};
    };

    const auto a = sim::simulate(scenario, naive, {.seed = 1, .name = "immediate x3"});
    const auto b = sim::simulate(scenario, budgeted, {.seed = 1, .name = "immediate x3 + budget"});
    std::cout << sim::format_table({a, b});
    // snippet-end: simulation-run

    // snippet-begin: simulation-values
    // The same naive policy, with the downstream's failures returned as `sim::Response` values
    // instead of thrown: the very same run (same table), without an exception per failure.
    auto naive_values = [](const redress::testing::ManualClock& clock) {
        return redress::Policy{redress::Retry{.result_classifier = sim::response_classifier,
                                              .strategy = redress::constant(0ms),
                                              .max_attempts = 4,
                                              .clock = clock}};
    };
    const auto c = sim::simulate(scenario, naive_values, {.seed = 1, .name = "immediate x3"});
    // snippet-end: simulation-values
    if (sim::format_csv({a}) != sim::format_csv({c})) return 1;

    // snippet-begin: simulation-hedge
    // A hedged policy runs as it does in production: a hedge at the p95 of recent successes,
    // spending from the retries' budget. The table adds retries, hedges sent and refused
    // (by the budget, by the breaker) and the losers cancelled.
    auto hedged = [](const redress::testing::ManualClock& clock) {
        return redress::Policy{
            redress::Retry{.strategy = redress::full_jitter({.base = 100ms, .max = 10s}),
                           .max_attempts = 4,
                           .budget = redress::Budget{{.max_retries = 150, .window = 10s, .clock = clock}},
                           .clock = clock},
            redress::Hedge{.delay = 100ms, .percentile = 0.95}};
    };
    sim::Scenario tail = sim::scenario("slow-tail");  // 5 % of attempts ten times slower
    tail.request_rate = 150;
    tail.concurrency = 20;
    tail.duration = 20s;
    tail.fault.duration = 0s;  // the tail alone
    const auto h = sim::simulate(tail, hedged, {.seed = 1, .name = "hedge p95 + budget"});
    std::cout << '\n' << sim::format_table({h});
    // snippet-end: simulation-hedge
    if (h.hedges == 0 || h.cancelled == 0) return 1;

    // The naive clients keep the downstream overloaded after the fault; the budget recovers.
    assert(!a.recovered && a.amplification > 2.0);
    assert(b.recovered && b.success_rate > a.success_rate);
    if (a.recovered || !b.recovered) return 1;  // (also checked with NDEBUG)
    return 0;
}
