// The operations and policies measured by the benchmarks and by the callgrind driver, so
// both measure exactly the same code.
#pragma once

#include <chrono>
#include <exception>

#include <redress/redress.hpp>

#include "baselines.hpp"

namespace redress_bench {

using namespace std::chrono_literals;

/// `[[gnu::noinline, gnu::noipa]]` where the compiler knows `noipa` (g++); clang has no such
/// attribute, so it gets `noinline` only (the figures in docs/performance.md are g++'s).
#if defined(__clang__)
#define REDRESS_BENCH_OPAQUE [[gnu::noinline]]
#else
#define REDRESS_BENCH_OPAQUE [[gnu::noinline, gnu::noipa]]
#endif

inline constexpr int max_attempts = 6;
inline constexpr redress::Duration deadline = 60s;

/// The user's operation on the success path. Not inlinable, not analysable: without
/// `noipa` g++ 12 sees the constant result and hoists it out of the benchmark loop.
REDRESS_BENCH_OPAQUE inline int succeed() { return 42; }

/// Thrown by the failing operation. Carries no message (a std::runtime_error would allocate
/// one), so any allocation counted on the retry path is not the operation's. The name makes
/// `default_classifier` classify it `Transient` (the "connection" heuristic).
struct ConnectionReset : std::exception {
    const char* what() const noexcept override { return "connection reset"; }
};

/// Fails twice, then succeeds; cycles, so each three calls are one retried operation.
REDRESS_BENCH_OPAQUE inline int fail_twice(int& calls) {
    if (calls++ % 3 < 2) throw ConnectionReset();
    return 42;
}

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

/// Policy<Retry> as a user writes it: default classifier, a jittered backoff.
inline auto retry_policy() {
    return redress::Policy{redress::Retry{
        .strategy = redress::decorrelated_jitter({.max = 1s}),
        .deadline = deadline,
        .max_attempts = max_attempts,
    }};
}

/// Policy<Retry, CircuitBreaker> with default options.
inline auto retry_breaker_policy() {
    return redress::Policy{
        redress::Retry{
            .strategy = redress::decorrelated_jitter({.max = 1s}),
            .deadline = deadline,
            .max_attempts = max_attempts,
        },
        redress::CircuitBreaker{},
    };
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
