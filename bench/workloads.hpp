// The policies measured by the benchmarks and by the callgrind driver (through paths.cpp),
// so both measure exactly the same code. The operations are in ops.cpp.
#pragma once

#include <chrono>
#include <exception>
#include <memory>
#include <utility>

#include <redress/redress.hpp>
#include <redress/testing/breaker_store.hpp>

#include "baselines.hpp"
#include "ops.hpp"

namespace redress_bench {

using namespace std::chrono_literals;

inline constexpr int max_attempts = 6;
inline constexpr redress::Duration deadline = 60s;

/// A zero-sleep backoff: the retry path measures the policy, not a sleep.
struct ZeroSleep {
    constexpr redress::Duration operator()(const redress::BackoffContext&) const noexcept { return {}; }
};

/// The classifier a hand-written loop implicitly has: every failure is transient. Makes the
/// retry-path comparison like for like (the hand loop does not classify).
struct AlwaysTransient {
    redress::Classification operator()(const std::exception_ptr&) const noexcept {
        return {redress::ErrorClass::Transient};
    }
};

/// The retry component of every success-path policy below, as a user writes it: default
/// classifier, a jittered backoff, a deadline and an attempt cap.
inline auto measured_retry() {
    return redress::Retry{
        .strategy = redress::decorrelated_jitter({.max = 1s}),
        .deadline = deadline,
        .max_attempts = max_attempts,
    };
}

/// Policy<Retry> as a user writes it.
inline auto retry_policy() { return redress::Policy{measured_retry()}; }

/// `retry_policy()` with a ratio budget (default options): each operation is recorded.
inline auto retry_policy_ratio_budget() {
    auto retry = measured_retry();
    retry.budget = redress::Budget(redress::RatioBudgetOptions{});
    return redress::Policy{std::move(retry)};
}

/// Policy<Retry, CircuitBreaker> with default options.
inline auto retry_breaker_policy() { return redress::Policy{measured_retry(), redress::CircuitBreaker{}}; }

/// Policy<Retry, CircuitBreaker> in count mode (`failure_threshold` set): a success records
/// nothing. And in consecutive mode: a success reads the streak (and clears it after a failure).
inline auto retry_breaker_count_policy() {
    return redress::Policy{measured_retry(), redress::CircuitBreaker{{.failure_threshold = 5}}};
}
inline auto retry_breaker_consecutive_policy() {
    return redress::Policy{measured_retry(), redress::CircuitBreaker{{.consecutive_failures = 5}}};
}

/// Policy<Retry, CircuitBreaker> whose breaker shares its state through a store (in memory
/// here; refreshed once an hour, so the path measured is the cached one every call takes).
inline auto retry_breaker_store_policy() {
    return redress::Policy{measured_retry(),
                           redress::CircuitBreaker{{.store = std::make_shared<redress::testing::InMemoryBreakerStore>(),
                                                    .store_refresh = std::chrono::hours(1)}}};
}

/// Policy<Retry> on the kernel's coarse clock: the cheap-clock success path.
inline auto retry_policy_coarse_clock() {
    auto retry = measured_retry();
    retry.clock = redress::CoarseClock{};
    return redress::Policy{std::move(retry)};
}

/// Retry path, like for like with the hand loop: fixed classification, zero sleep.
inline auto retry_policy_fixed_class() {
    return redress::Policy{redress::Retry<AlwaysTransient, ZeroSleep>{
        .deadline = deadline,
        .max_attempts = max_attempts,
    }};
}

/// Retry path as a user writes it: default_classifier, zero sleep.
inline auto retry_policy_default_classifier() {
    return redress::Policy{redress::Retry<redress::DefaultClassifier, ZeroSleep>{
        .deadline = deadline,
        .max_attempts = max_attempts,
    }};
}

/// Retry path inside a breaker (whose threshold the benchmark never reaches: the operation
/// always succeeds in the end, so the breaker is told one success per call).
inline auto retry_breaker_policy_fixed_class() {
    return redress::Policy{
        redress::Retry<AlwaysTransient, ZeroSleep>{.deadline = deadline, .max_attempts = max_attempts},
        redress::CircuitBreaker{},
    };
}

}  // namespace redress_bench
