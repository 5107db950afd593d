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
const auto fixed_class_policy = rb::retry_policy_fixed_class();
const auto default_classifier_policy = rb::retry_policy_default_classifier();
const auto breaker_fixed_class_policy = rb::retry_breaker_policy_fixed_class();

}  // namespace

#define REDRESS_BENCH_PATH extern "C" [[gnu::noinline]] int

// ---- references ----------------------------------------------------------------------------
REDRESS_BENCH_PATH rbp_plain_call() { return rb::succeed(); }
REDRESS_BENCH_PATH rbp_steady_clock_now() {
    g_sink = std::chrono::steady_clock::now().time_since_epoch().count();
    return 0;
}
// ---- success -------------------------------------------------------------------------------
REDRESS_BENCH_PATH rbp_success_hand_loop() { return rb::hand_retry(rb::succeed, rb::max_attempts, rb::deadline); }
REDRESS_BENCH_PATH rbp_success_policy_retry() {
    return retry_policy.call([] { return rb::succeed(); });
}
REDRESS_BENCH_PATH rbp_success_policy_retry_execute() {
    return *retry_policy.execute([] { return rb::succeed(); }).value;
}
REDRESS_BENCH_PATH rbp_success_policy_retry_breaker() {
    return retry_breaker_policy.call([] { return rb::succeed(); });
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

namespace redress_bench {

const Path paths[] = {
    {"ref/plain_call", "rbp_plain_call", &rbp_plain_call},
    {"ref/steady_clock_now", "rbp_steady_clock_now", &rbp_steady_clock_now},
    {"success/hand_loop", "rbp_success_hand_loop", &rbp_success_hand_loop},
    {"success/policy_retry", "rbp_success_policy_retry", &rbp_success_policy_retry},
    {"success/policy_retry_execute", "rbp_success_policy_retry_execute", &rbp_success_policy_retry_execute},
    {"success/policy_retry_breaker", "rbp_success_policy_retry_breaker", &rbp_success_policy_retry_breaker},
    {"retry/hand_loop", "rbp_retry_hand_loop", &rbp_retry_hand_loop},
    {"retry/policy_fixed_class", "rbp_retry_policy_fixed_class", &rbp_retry_policy_fixed_class},
    {"retry/policy_default_classifier", "rbp_retry_policy_default_classifier", &rbp_retry_policy_default_classifier},
    {"retry/policy_breaker_fixed_class", "rbp_retry_policy_breaker_fixed_class", &rbp_retry_policy_breaker_fixed_class},
};
const std::size_t path_count = sizeof(paths) / sizeof(paths[0]);

const Path* find_path(std::string_view name) {
    for (std::size_t i = 0; i < path_count; ++i)
        if (paths[i].name == name) return &paths[i];
    return nullptr;
}

}  // namespace redress_bench
