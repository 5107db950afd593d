// The redress benchmark suite. Every redress path runs next to its hand-written
// baseline in the same process, so scripts/bench.sh can print ratios measured in one run.
// Every benchmark reports `allocs_per_call`: operator new calls per iteration, counted by the
// replacement operator new of alloc_counter.cpp.
//
// Names: <group>/<variant>. bench/report.py pairs them; keep the two in step.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <redress/redress.hpp>
#include <redress/task.hpp>

#include "alloc_counter.hpp"
#include "baselines.hpp"
#include "paths.hpp"
#include "workloads.hpp"

namespace rb = redress_bench;
using namespace std::chrono_literals;

namespace {

/// Runs `body` once per iteration and reports the calling thread's allocations per iteration.
template <class Body>
void measured(benchmark::State& state, Body&& body) {
    const long before = rb::allocation_count();
    for (auto _ : state) body();
    const long allocations = rb::allocation_count() - before;
    state.counters["allocs_per_call"] =
        benchmark::Counter(static_cast<double>(allocations), benchmark::Counter::kAvgIterations);
}

// ---- the sync paths: every function of paths.cpp, registered in main() ---------------------

void run_path(benchmark::State& state, const rb::Path* path) {
    int (*volatile run)() = path->run;  // an indirect call, as in the callgrind driver
    measured(state, [&] { benchmark::DoNotOptimize(run()); });
}

// ---- coroutine path (redress::Task, run by sync_wait: zero sleeps never suspend) ------------
//
// Reported for its allocations: a coroutine allocates its frame, so the driver's frame plus
// one frame of the operation per attempt is the floor. `frames_per_call` states that floor.

redress::Task<int> succeed_task() { co_return rb::succeed(); }
redress::Task<int> fail_twice_task(int& calls) { co_return rb::fail_twice(calls); }

void coro_hand(benchmark::State& state) {
    measured(state, [] { benchmark::DoNotOptimize(redress::sync_wait(succeed_task())); });
    state.counters["frames_per_call"] = 1;
}
BENCHMARK(coro_hand)->Name("coro/hand_task_success");

void coro_policy_success(benchmark::State& state) {
    const auto policy = rb::retry_policy();
    measured(state, [&] { benchmark::DoNotOptimize(redress::sync_wait(policy.async_call([] { return succeed_task(); }))); });
    state.counters["frames_per_call"] = 2;  // the driver + one attempt
}
BENCHMARK(coro_policy_success)->Name("coro/policy_retry_success");

void coro_policy_retry(benchmark::State& state) {
    const auto policy = rb::retry_policy_fixed_class();
    int calls = 0;
    measured(state, [&] {
        benchmark::DoNotOptimize(redress::sync_wait(policy.async_call([&] { return fail_twice_task(calls); })));
    });
    state.counters["frames_per_call"] = 4;  // the driver + three attempts
}
BENCHMARK(coro_policy_retry)->Name("coro/policy_retry_fails_twice");

// ---- shared state under two threads ---------------------------------------------------------
//
// One breaker / budget shared by all threads of a run (function-local statics: built once,
// thread-safely). Throughput is items_per_second over wall time (UseRealTime), summed over
// the threads.

/// Failures below the threshold: one call in `failure_period` fails; the window is short
/// enough that the failures inside it stay far below `threshold`.
constexpr std::uint64_t failure_period = 64;
/// (The breaker's threshold is capped at 10,000: at up to ~500 M calls/s, a 100 us window holds
/// at most ~800 failures.)
constexpr int rare_failure_threshold = 10'000;
constexpr redress::Duration rare_failure_window = 100us;

redress::CircuitBreaker& shared_breaker() {
    static redress::CircuitBreaker b;
    return b;
}
redress::CircuitBreaker& shared_breaker_rare_failures() {
    static redress::CircuitBreaker b{{.failure_threshold = rare_failure_threshold, .window = rare_failure_window}};
    return b;
}
rb::MutexDequeBreaker& shared_mutex_breaker() {
    static rb::MutexDequeBreaker b(5, 60s, 30s);
    return b;
}
rb::MutexDequeBreaker& shared_mutex_breaker_rare_failures() {
    static rb::MutexDequeBreaker b(rare_failure_threshold, rare_failure_window, 30s);
    return b;
}

template <class Breaker>
void breaker_success(benchmark::State& state, Breaker& breaker) {
    measured(state, [&] {
        const auto permit = breaker.allow();
        benchmark::DoNotOptimize(permit);
        breaker.record_success(permit);
    });
    state.SetItemsProcessed(state.iterations());
}

void shared_breaker_success_redress(benchmark::State& state) { breaker_success(state, shared_breaker()); }
BENCHMARK(shared_breaker_success_redress)->Name("shared/breaker_success/redress")->Threads(1)->Threads(2)->UseRealTime();

void shared_breaker_success_mutex(benchmark::State& state) { breaker_success(state, shared_mutex_breaker()); }
BENCHMARK(shared_breaker_success_mutex)->Name("shared/breaker_success/mutex_deque")->Threads(1)->Threads(2)->UseRealTime();

void shared_breaker_rare_failure_redress(benchmark::State& state) {
    auto& breaker = shared_breaker_rare_failures();
    std::uint64_t i = 0;
    measured(state, [&] {
        const auto permit = breaker.allow();
        benchmark::DoNotOptimize(permit);
        if (++i % failure_period == 0) {
            (void)breaker.record_failure(redress::ErrorClass::Transient, permit);
        } else {
            (void)breaker.record_success(permit);
        }
    });
    state.SetItemsProcessed(state.iterations());
    if (breaker.state() != redress::CircuitState::Closed) state.SkipWithError("the breaker opened: workload invalid");
}
BENCHMARK(shared_breaker_rare_failure_redress)
    ->Name("shared/breaker_rare_failure/redress")
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

void shared_breaker_rare_failure_mutex(benchmark::State& state) {
    auto& breaker = shared_mutex_breaker_rare_failures();
    std::uint64_t i = 0;
    measured(state, [&] {
        const auto permit = breaker.allow();
        benchmark::DoNotOptimize(permit);
        if (++i % failure_period == 0) {
            breaker.record_failure(permit);
        } else {
            breaker.record_success(permit);
        }
    });
    state.SetItemsProcessed(state.iterations());
    if (!breaker.closed()) state.SkipWithError("the breaker opened: workload invalid");
}
BENCHMARK(shared_breaker_rare_failure_mutex)
    ->Name("shared/breaker_rare_failure/mutex_deque")
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

/// Admitting: the cap is far above what fits in the window, so every consume succeeds and
/// writes the shared state. Saturated: the cap is reached at once and every consume is refused
/// (reads only, for redress). A 1 s window is the shortest that real retry budgets use (they
/// are 10 s - 60 s); it keeps the baseline's deque bounded (~20 M entries). With it redress
/// reads the coarse clock; budget_admit_1ms (informational) shows a window too short for that.
constexpr int admit_max = 2'000'000'000;
constexpr redress::Duration admit_window = 1s;
constexpr int saturated_max = 100;
constexpr redress::Duration saturated_window = 1h;

redress::Budget& shared_budget_admit() {
    static redress::Budget b{admit_max, admit_window};
    return b;
}
redress::Budget& shared_budget_saturated() {
    static redress::Budget b = [] {
        redress::Budget budget{saturated_max, saturated_window};
        while (budget.consume()) {
        }
        return budget;
    }();
    return b;
}
rb::MutexDequeBudget& shared_mutex_budget_admit() {
    static rb::MutexDequeBudget b(admit_max, admit_window);
    return b;
}
redress::Budget& shared_budget_admit_1ms() {
    static redress::Budget b{admit_max, 1ms};
    return b;
}
rb::MutexDequeBudget& shared_mutex_budget_admit_1ms() {
    static rb::MutexDequeBudget b(admit_max, 1ms);
    return b;
}
rb::MutexDequeBudget& shared_mutex_budget_saturated() {
    static rb::MutexDequeBudget b(saturated_max, saturated_window);  // saturated by the benchmark
    return b;
}

template <class Budget>
void budget_consume(benchmark::State& state, Budget& budget) {
    std::int64_t admitted = 0;
    measured(state, [&] { admitted += budget.consume() ? 1 : 0; });
    state.SetItemsProcessed(state.iterations());
    state.counters["admitted"] = benchmark::Counter(static_cast<double>(admitted), benchmark::Counter::kAvgIterations);
}

void shared_budget_admit_redress(benchmark::State& state) { budget_consume(state, shared_budget_admit()); }
BENCHMARK(shared_budget_admit_redress)->Name("shared/budget_admit/redress")->Threads(1)->Threads(2)->UseRealTime();

void shared_budget_admit_mutex(benchmark::State& state) { budget_consume(state, shared_mutex_budget_admit()); }
BENCHMARK(shared_budget_admit_mutex)->Name("shared/budget_admit/mutex_deque")->Threads(1)->Threads(2)->UseRealTime();

void shared_budget_admit_1ms_redress(benchmark::State& state) {
    if (shared_budget_admit_1ms().uses_coarse_clock()) state.SkipWithError("a 1 ms window should read steady_clock");
    budget_consume(state, shared_budget_admit_1ms());
}
BENCHMARK(shared_budget_admit_1ms_redress)
    ->Name("shared/budget_admit_1ms/redress")
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

void shared_budget_admit_1ms_mutex(benchmark::State& state) { budget_consume(state, shared_mutex_budget_admit_1ms()); }
BENCHMARK(shared_budget_admit_1ms_mutex)
    ->Name("shared/budget_admit_1ms/mutex_deque")
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

void shared_budget_saturated_redress(benchmark::State& state) { budget_consume(state, shared_budget_saturated()); }
BENCHMARK(shared_budget_saturated_redress)
    ->Name("shared/budget_saturated/redress")
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

void shared_budget_saturated_mutex(benchmark::State& state) {
    auto& budget = shared_mutex_budget_saturated();
    while (budget.consume()) {
    }
    budget_consume(state, budget);
}
BENCHMARK(shared_budget_saturated_mutex)
    ->Name("shared/budget_saturated/mutex_deque")
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
    for (std::size_t i = 0; i < rb::path_count; ++i) {
        const rb::Path* path = &rb::paths[i];
        benchmark::RegisterBenchmark(std::string(path->name).c_str(), [path](benchmark::State& state) { run_path(state, path); });
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
