// Times the storm simulator: 10,000 clients for 10 simulated minutes of the
// default scenario, ~1,000 requests/s, with the fault. Target: under 2 s on 2 cores.
// Prints the wall and CPU time (the CPU time is the steadier on a shared machine), the event
// loop's peaks and the process's peak memory. Arguments, for profiling a shorter run
// (callgrind: docs/performance.md): simulated seconds, clients (the open loop's arrivals are
// clients / 10 s), and a word the labels of the rows to run contain.
//
//   build-bench/bench/redress_simulation_bench                      # 600 s, 10,000 clients
//   build-bench/bench/redress_simulation_bench 60 1000 returned     # the returned-failure rows
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <sys/resource.h>

#include <redress/redress.hpp>
#include <redress/simulation/simulation.hpp>

namespace sim = redress::simulation;
using namespace std::chrono_literals;
using redress::testing::ManualClock;

namespace {

std::string_view only;  // run the rows whose label contains this

/// Times one row. `targeted`: the 2 s target applies (failures returned, as `redress-sim` runs
/// its policies); the thrown rows are for comparison, the cost of unwinding.
template <class Factory>
void time_run(const char* label, const sim::Scenario& s, Factory make_policy, bool targeted) {
    if (std::string_view(label).find(only) == std::string_view::npos) return;
    const auto cpu_seconds = [] {
        rusage usage{};
        getrusage(RUSAGE_SELF, &usage);
        return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
               static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    };
    const double cpu0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = sim::simulate(s, make_policy);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = cpu_seconds() - cpu0;
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::printf("%-54s %6.2f s wall %6.2f s CPU  %8llu requests %8llu attempts  %9llu events  peak live coroutines %6zu  "
                "peak timers %6zu  peak RSS %5.1f MB  %s\n",
                label, wall, cpu, static_cast<unsigned long long>(r.requests), static_cast<unsigned long long>(r.attempts),
                static_cast<unsigned long long>(r.loop.resumptions), r.loop.peak_live_tasks, r.loop.peak_timers,
                static_cast<double>(usage.ru_maxrss) / 1024.0,
                !targeted ? "info (thrown: no target)" : wall < 2.0 ? "PASS (< 2 s)" : "MISS (>= 2 s)");
}

/// Full jitter, three retries; failures thrown (`Throw`) or returned as `Response` values.
template <bool Values>
auto full_jitter(const ManualClock& clock) {
    auto r = redress::Retry{.strategy = redress::full_jitter({.base = 100ms, .max = 10s}), .max_attempts = 4,
                            .clock = clock};
    if constexpr (Values) {
        return redress::Retry{.result_classifier = sim::response_classifier, .strategy = r.strategy,
                              .max_attempts = r.max_attempts, .clock = r.clock};
    } else {
        return r;
    }
}

template <bool Values>
void time_all(const sim::Scenario& open, const sim::Scenario& closed, const char* how) {
    std::string label = std::string("open loop, full jitter x3, ") + how;
    time_run(label.c_str(), open, [](const ManualClock& c) { return redress::Policy{full_jitter<Values>(c)}; }, Values);
    label = std::string("open loop, full jitter x3 + budget, ") + how;
    time_run(label.c_str(), open, [](const ManualClock& c) {
        auto retry = full_jitter<Values>(c);
        retry.budget = redress::Budget{{.max_retries = 1'000, .window = 10s, .clock = c}};
        return redress::Policy{retry};
    }, Values);
    label = std::string("closed loop, full jitter x3, ") + how;
    time_run(label.c_str(), closed, [](const ManualClock& c) { return redress::Policy{full_jitter<Values>(c)}; }, Values);
}

}  // namespace

int main(int argc, char** argv) {
    const long seconds = argc > 1 ? std::atol(argv[1]) : 600;
    const int clients = argc > 2 ? std::atoi(argv[2]) : 10'000;
    if (argc > 3) only = argv[3];
    if (seconds <= 0 || clients <= 0) {
        std::fprintf(stderr, "usage: %s [simulated-seconds [clients [row-word]]]\n", argv[0]);
        return 2;
    }
    auto open = sim::scenario("overload");  // 10,000 clients' worth of arrivals: 1,000/s
    open.duration = std::chrono::seconds(seconds);
    open.request_rate = clients / 10.0;
    auto closed = open;  // 10,000 real clients, each thinking 10 s on average: ~1,000/s
    closed.request_rate = 0;
    closed.clients = clients;
    closed.think_time = 10s;

    std::printf("storm simulator: %ld simulated s, %d clients, overload fault at 30 s for 10 s\n", seconds, clients);
    time_all<true>(open, closed, "failures returned");
    time_all<false>(open, closed, "failures thrown");
}
