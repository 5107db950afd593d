// Runs one benchmarked path N times, for instruction counts under callgrind:
//
//   valgrind --tool=callgrind redress_callgrind_driver <path> <N>
//
// Instructions per call = (Ir(N2) - Ir(N1)) / (N2 - N1), which cancels start-up and the
// one-time set-up (bench/report.py does this). Prints the calls made and the operator new
// calls per call, so a run also checks that the path does not allocate.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "alloc_counter.hpp"
#include "baselines.hpp"
#include "workloads.hpp"

namespace rb = redress_bench;

namespace {

volatile int g_sink = 0;

template <class Body>
int repeat(long n, Body&& body) {
    const long before = rb::allocation_count();
    for (long i = 0; i < n; ++i) g_sink = body();
    const long allocations = rb::allocation_count() - before;
    std::printf("calls=%ld allocs_per_call=%.3f\n", n, n > 0 ? static_cast<double>(allocations) / static_cast<double>(n) : 0.0);
    return 0;
}

template <class Policy>
int retry_path(long n, const Policy& policy) {
    int calls = 0;
    return repeat(n, [&] { return policy.call([&] { return rb::fail_twice(calls); }); });
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s <path> <calls>\n", argv[0]);
        return 2;
    }
    const std::string_view path = argv[1];
    const long n = std::strtol(argv[2], nullptr, 10);

    if (path == "ref/steady_clock_now")
        return repeat(n, [] { return static_cast<int>(rb::Clock::now().time_since_epoch().count() & 1); });
    if (path == "ref/plain_call") return repeat(n, [] { return rb::succeed(); });
    if (path == "success/hand_loop")
        return repeat(n, [] { return rb::hand_retry(rb::succeed, rb::max_attempts, rb::deadline); });
    if (path == "success/policy_retry") {
        const auto policy = rb::retry_policy();
        return repeat(n, [&] { return policy.call([] { return rb::succeed(); }); });
    }
    if (path == "success/policy_retry_execute") {
        const auto policy = rb::retry_policy();
        return repeat(n, [&] { return *policy.execute([] { return rb::succeed(); }).value; });
    }
    if (path == "success/hand_loop_mutex_breaker") {
        rb::MutexDequeBreaker breaker(5, std::chrono::seconds(60), std::chrono::seconds(30));
        return repeat(n, [&] {
            const auto permit = breaker.allow();
            const int v = rb::hand_retry(rb::succeed, rb::max_attempts, rb::deadline);
            breaker.record_success(permit);
            return v;
        });
    }
    if (path == "success/policy_retry_breaker") {
        const auto policy = rb::retry_breaker_policy();
        return repeat(n, [&] { return policy.call([] { return rb::succeed(); }); });
    }
    if (path == "retry/hand_loop") {
        int calls = 0;
        return repeat(n, [&] { return rb::hand_retry([&] { return rb::fail_twice(calls); }, rb::max_attempts, rb::deadline); });
    }
    if (path == "retry/policy_fixed_class") return retry_path(n, rb::retry_policy_fixed_class());
    if (path == "retry/policy_default_classifier") return retry_path(n, rb::retry_policy_default_classifier());
    if (path == "retry/policy_breaker_fixed_class") return retry_path(n, rb::retry_breaker_policy_fixed_class());

    // Shared state, one thread: the instructions of one operation (no contention).
    if (path == "shared/breaker_success/redress") {
        redress::CircuitBreaker breaker;
        return repeat(n, [&] {
            const auto permit = breaker.allow();
            (void)breaker.record_success(permit);
            return static_cast<int>(permit.allowed);
        });
    }
    if (path == "shared/breaker_success/mutex_deque") {
        rb::MutexDequeBreaker breaker(5, std::chrono::seconds(60), std::chrono::seconds(30));
        return repeat(n, [&] {
            const auto permit = breaker.allow();
            breaker.record_success(permit);
            return static_cast<int>(permit.allowed);
        });
    }
    if (path == "shared/budget_admit/redress") {
        const redress::Budget budget{1'000'000'000, std::chrono::seconds(60)};
        return repeat(n, [&] { return static_cast<int>(budget.consume()); });
    }
    if (path == "shared/budget_admit/mutex_deque") {
        rb::MutexDequeBudget budget(1'000'000'000, std::chrono::seconds(60));
        return repeat(n, [&] { return static_cast<int>(budget.consume()); });
    }
    if (path == "shared/budget_saturated/redress") {
        const redress::Budget budget{100, std::chrono::hours(1)};
        while (budget.consume()) {
        }
        return repeat(n, [&] { return static_cast<int>(budget.consume()); });
    }
    if (path == "shared/budget_saturated/mutex_deque") {
        rb::MutexDequeBudget budget(100, std::chrono::hours(1));
        while (budget.consume()) {
        }
        return repeat(n, [&] { return static_cast<int>(budget.consume()); });
    }

    std::fprintf(stderr, "unknown path '%s'\n", argv[1]);
    return 2;
}
