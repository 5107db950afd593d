// The measured paths: each a small non-inlined function with C linkage (a stable symbol for
// callgrind's --toggle-collect), calling the operations of ops.cpp, which this translation
// unit cannot see into. The hand-written baselines are functions of the same size class, so
// their try/catch is as cheap to unwind as the policy's (a catch in a large function makes
// every throw walk a long exception table, which would flatter the policy).
#include "paths.hpp"

#include <chrono>

#include <redress/redress.hpp>

#include "baselines.hpp"
#include "ops.hpp"
#include "workloads.hpp"

namespace rb = redress_bench;

namespace {

volatile long g_sink = 0;
int g_calls = 0;  // the failing operation's call count (each three calls: one retried operation)

const auto retry_policy = rb::retry_policy();
const auto retry_breaker_policy = rb::retry_breaker_policy();
const auto retry_breaker_store_policy = rb::retry_breaker_store_policy();
const auto retry_breaker_count_policy = rb::retry_breaker_count_policy();
const auto retry_breaker_consecutive_policy = rb::retry_breaker_consecutive_policy();
const auto coarse_policy = rb::retry_policy_coarse_clock();
const auto ratio_budget_policy = rb::retry_policy_ratio_budget();
const auto fixed_class_policy = rb::retry_policy_fixed_class();
const auto default_classifier_policy = rb::retry_policy_default_classifier();
const auto breaker_fixed_class_policy = rb::retry_breaker_policy_fixed_class();
redress::CircuitBreaker shared_breaker;
rb::MutexDequeBreaker mutex_breaker(5, std::chrono::seconds(60), std::chrono::seconds(30));
const redress::Budget admitting_budget{1'000'000'000, std::chrono::seconds(60)};
rb::MutexDequeBudget mutex_admitting_budget(1'000'000'000, std::chrono::seconds(60));
const redress::Budget saturated_budget = [] {
    const redress::Budget b{100, std::chrono::hours(1)};
    while (b.consume()) {
    }
    return b;
}();
rb::MutexDequeBudget mutex_saturated_budget(100, std::chrono::hours(1));
// A ratio budget that admits every retry (1000 per request) and one refusing them all.
const redress::Budget ratio_admitting_budget = [] {
    const redress::Budget b(redress::RatioBudgetOptions{.ratio = 1000, .ttl = std::chrono::hours(1)});
    for (int i = 0; i < 1'000'000; ++i) b.record_request();
    return b;
}();
const redress::Budget ratio_refusing_budget(redress::RatioBudgetOptions{.ratio = 0, .min_retries_per_second = 0});
const bool mutex_saturated_filled = [] {
    while (mutex_saturated_budget.consume()) {
    }
    return true;
}();

}  // namespace

#define REDRESS_BENCH_PATH extern "C" [[gnu::noinline]] int

// ---- references ----------------------------------------------------------------------------
REDRESS_BENCH_PATH rbp_plain_call() { return rb::succeed(); }
REDRESS_BENCH_PATH rbp_steady_clock_now() {
    g_sink = std::chrono::steady_clock::now().time_since_epoch().count();
    return 0;
}
REDRESS_BENCH_PATH rbp_coarse_clock_now() {
    g_sink = redress::CoarseClock::now().time_since_epoch().count();
    return 0;
}
/// What a policy on the coarse clock cannot beat: one coarse read and the call.
REDRESS_BENCH_PATH rbp_coarse_read_and_call() {
    g_sink = redress::CoarseClock::now().time_since_epoch().count();
    return rb::succeed();
}

// ---- success -------------------------------------------------------------------------------
REDRESS_BENCH_PATH rbp_success_hand_loop() { return rb::hand_retry(rb::succeed, rb::max_attempts, rb::deadline); }
REDRESS_BENCH_PATH rbp_success_policy_retry() {
    return retry_policy.call([] { return rb::succeed(); });
}
REDRESS_BENCH_PATH rbp_success_policy_retry_execute() {
    return *retry_policy.execute([] { return rb::succeed(); }).value;
}
/// An operation that takes its attempt's view (number, time left, key): what the view costs
/// when it is used. The paths above take nothing and must not pay for it.
REDRESS_BENCH_PATH rbp_success_policy_retry_attempt_view() {
    return retry_policy.call([](const redress::Attempt& a) { return rb::succeed() + (a.number - 1); });
}
/// The hand loop inside a mutex + std::deque breaker (the shape of the Python original's).
REDRESS_BENCH_PATH rbp_success_hand_loop_mutex_breaker() {
    const auto permit = mutex_breaker.allow();
    const int v = rb::hand_retry(rb::succeed, rb::max_attempts, rb::deadline);
    mutex_breaker.record_success(permit);
    return v;
}
REDRESS_BENCH_PATH rbp_success_policy_retry_breaker() {
    return retry_breaker_policy.call([] { return rb::succeed(); });
}
REDRESS_BENCH_PATH rbp_success_policy_retry_breaker_count() {
    return retry_breaker_count_policy.call([] { return rb::succeed(); });
}
REDRESS_BENCH_PATH rbp_success_policy_retry_breaker_consecutive() {
    return retry_breaker_consecutive_policy.call([] { return rb::succeed(); });
}
REDRESS_BENCH_PATH rbp_success_policy_retry_breaker_store() {
    return retry_breaker_store_policy.call([] { return rb::succeed(); });
}
/// The hand loop on the coarse clock: context for the coarse-clock policy (informational).
REDRESS_BENCH_PATH rbp_success_hand_loop_coarse_clock() {
    return rb::hand_retry<redress::CoarseClock>(rb::succeed, rb::max_attempts, rb::deadline);
}
REDRESS_BENCH_PATH rbp_success_policy_coarse_clock() {
    return coarse_policy.call([] { return rb::succeed(); });
}
REDRESS_BENCH_PATH rbp_success_policy_ratio_budget() {
    return ratio_budget_policy.call([] { return rb::succeed(); });
}

// ---- retry: fails twice, then succeeds ------------------------------------------------------
REDRESS_BENCH_PATH rbp_retry_hand_loop() {
    return rb::hand_retry([] { return rb::fail_twice(g_calls); }, rb::max_attempts, rb::deadline);
}
REDRESS_BENCH_PATH rbp_retry_policy_fixed_class() {
    return fixed_class_policy.call([] { return rb::fail_twice(g_calls); });
}
REDRESS_BENCH_PATH rbp_retry_policy_default_classifier() {
    return default_classifier_policy.call([] { return rb::fail_twice(g_calls); });
}
REDRESS_BENCH_PATH rbp_retry_policy_breaker_fixed_class() {
    return breaker_fixed_class_policy.call([] { return rb::fail_twice(g_calls); });
}

// ---- shared state, one operation (the 2-thread throughput is the Google Benchmark suite's) --
REDRESS_BENCH_PATH rbp_breaker_success_redress() {
    const auto permit = shared_breaker.allow();
    (void)shared_breaker.record_success(permit);
    return static_cast<int>(permit.allowed);
}
REDRESS_BENCH_PATH rbp_breaker_success_mutex() {
    const auto permit = mutex_breaker.allow();
    mutex_breaker.record_success(permit);
    return static_cast<int>(permit.allowed);
}
REDRESS_BENCH_PATH rbp_budget_admit_redress() { return static_cast<int>(admitting_budget.consume()); }
REDRESS_BENCH_PATH rbp_budget_admit_mutex() { return static_cast<int>(mutex_admitting_budget.consume()); }
REDRESS_BENCH_PATH rbp_budget_saturated_redress() { return static_cast<int>(saturated_budget.consume()); }
REDRESS_BENCH_PATH rbp_budget_saturated_mutex() { return static_cast<int>(mutex_saturated_budget.consume()); }
REDRESS_BENCH_PATH rbp_ratio_budget_record() {
    ratio_admitting_budget.record_request();
    return 1;
}
REDRESS_BENCH_PATH rbp_ratio_budget_admit() { return static_cast<int>(ratio_admitting_budget.consume()); }
REDRESS_BENCH_PATH rbp_ratio_budget_refuse() { return static_cast<int>(ratio_refusing_budget.consume()); }

namespace redress_bench {

const Path paths[] = {
    {"ref/plain_call", "rbp_plain_call", &rbp_plain_call},
    {"ref/steady_clock_now", "rbp_steady_clock_now", &rbp_steady_clock_now},
    {"ref/coarse_clock_now", "rbp_coarse_clock_now", &rbp_coarse_clock_now},
    {"ref/coarse_read_and_call", "rbp_coarse_read_and_call", &rbp_coarse_read_and_call},
    {"success/hand_loop", "rbp_success_hand_loop", &rbp_success_hand_loop},
    {"success/policy_retry", "rbp_success_policy_retry", &rbp_success_policy_retry},
    {"success/policy_retry_execute", "rbp_success_policy_retry_execute", &rbp_success_policy_retry_execute},
    {"success/policy_retry_attempt_view", "rbp_success_policy_retry_attempt_view", &rbp_success_policy_retry_attempt_view},
    {"success/hand_loop_mutex_breaker", "rbp_success_hand_loop_mutex_breaker", &rbp_success_hand_loop_mutex_breaker},
    {"success/policy_retry_breaker", "rbp_success_policy_retry_breaker", &rbp_success_policy_retry_breaker},
    {"success/policy_retry_breaker_count", "rbp_success_policy_retry_breaker_count",
     &rbp_success_policy_retry_breaker_count},
    {"success/policy_retry_breaker_consecutive", "rbp_success_policy_retry_breaker_consecutive",
     &rbp_success_policy_retry_breaker_consecutive},
    {"success/policy_retry_breaker_store", "rbp_success_policy_retry_breaker_store",
     &rbp_success_policy_retry_breaker_store},
    {"success/hand_loop_coarse_clock", "rbp_success_hand_loop_coarse_clock", &rbp_success_hand_loop_coarse_clock},
    {"success/policy_coarse_clock", "rbp_success_policy_coarse_clock", &rbp_success_policy_coarse_clock},
    {"success/policy_ratio_budget", "rbp_success_policy_ratio_budget", &rbp_success_policy_ratio_budget},
    {"retry/hand_loop", "rbp_retry_hand_loop", &rbp_retry_hand_loop},
    {"retry/policy_fixed_class", "rbp_retry_policy_fixed_class", &rbp_retry_policy_fixed_class},
    {"retry/policy_default_classifier", "rbp_retry_policy_default_classifier", &rbp_retry_policy_default_classifier},
    {"retry/policy_breaker_fixed_class", "rbp_retry_policy_breaker_fixed_class", &rbp_retry_policy_breaker_fixed_class},
    {"one/breaker_success/redress", "rbp_breaker_success_redress", &rbp_breaker_success_redress},
    {"one/breaker_success/mutex_deque", "rbp_breaker_success_mutex", &rbp_breaker_success_mutex},
    {"one/budget_admit/redress", "rbp_budget_admit_redress", &rbp_budget_admit_redress},
    {"one/budget_admit/mutex_deque", "rbp_budget_admit_mutex", &rbp_budget_admit_mutex},
    {"one/budget_saturated/redress", "rbp_budget_saturated_redress", &rbp_budget_saturated_redress},
    {"one/budget_saturated/mutex_deque", "rbp_budget_saturated_mutex", &rbp_budget_saturated_mutex},
    {"one/ratio_budget/record_request", "rbp_ratio_budget_record", &rbp_ratio_budget_record},
    {"one/ratio_budget/admit", "rbp_ratio_budget_admit", &rbp_ratio_budget_admit},
    {"one/ratio_budget/refuse", "rbp_ratio_budget_refuse", &rbp_ratio_budget_refuse},
};
const std::size_t path_count = sizeof(paths) / sizeof(paths[0]);

const Path* find_path(std::string_view name) {
    for (std::size_t i = 0; i < path_count; ++i)
        if (paths[i].name == name) return &paths[i];
    return nullptr;
}

}  // namespace redress_bench
