// Instructions per classification of the classifiers, under callgrind.
//
// Build by hand (not a CMake target; bench/CMakeLists.txt builds the Google Benchmark suite),
// from the repository root:
//
//   g++ -std=c++20 -O2 -DNDEBUG -Iinclude -o /tmp/classifier_cost bench/classifier_cost.cpp
//       bench/classifier_cost_errors.cpp bench/alloc_counter.cpp
//
// and measure with bench/classifier_cost.sh /tmp/classifier_cost, which runs every case as
//
//   valgrind --tool=callgrind --toggle-collect='*measured_*' /tmp/classifier_cost <case> <N>
//
// for two N and prints (Ir(N2) - Ir(N1)) / (N2 - N1): the instructions of one call of the
// measured function, with start-up and one-time costs (lazy binding, the unwinder's first
// look-ups) cancelled. The exceptions come from classifier_cost_errors.cpp, another
// translation unit, so g++ cannot see which type an exception_ptr holds.
//
// Cases: classify/<classifier>/<failure> classifies one existing exception_ptr;
// retry/<classifier> runs one operation that fails twice and then succeeds under
// Policy<Retry<classifier, zero sleep>> (the retry-path rows of docs/performance.md).
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string_view>

#include <redress/redress.hpp>

#include "alloc_counter.hpp"
#include "classifier_cost_errors.hpp"
#include "workloads.hpp"

namespace rb = redress_bench;
namespace cost = redress_bench::cost;

namespace {

volatile int g_sink = 0;

REDRESS_BENCH_OPAQUE int measured_fixed(const std::exception_ptr& error) {
    return static_cast<int>(redress::invoke_classifier(rb::AlwaysTransient{}, error).klass);
}
REDRESS_BENCH_OPAQUE int measured_default(const std::exception_ptr& error) {
    return static_cast<int>(redress::invoke_classifier(redress::default_classifier, error).klass);
}
REDRESS_BENCH_OPAQUE int measured_strict(const std::exception_ptr& error) {
    return static_cast<int>(redress::invoke_classifier(redress::strict_classifier, error).klass);
}

template <class Policy>
REDRESS_BENCH_OPAQUE int measured_retry(const Policy& policy, int& calls) {
    return policy.call([&] { return rb::fail_twice(calls); });
}

template <class Body>
int repeat(long n, Body&& body) {
    const long before = rb::allocation_count();
    int last = 0;
    for (long i = 0; i < n; ++i) g_sink = last = body();
    const long allocations = rb::allocation_count() - before;
    std::printf("calls=%ld result=%d allocs_per_call=%.3f\n", n, last,
                n > 0 ? static_cast<double>(allocations) / static_cast<double>(n) : 0.0);
    return 0;
}

std::exception_ptr failure(std::string_view name) {
    if (name == "runtime_error") return cost::make_runtime_error();
    if (name == "status503") return cost::make_status_error(503);
    if (name == "registered503") return cost::make_registered(503);
    if (name == "not_std") return cost::make_not_std();
    if (name == "connection_reset") return cost::make_connection_reset();
    if (name == "rate_limit") return cost::make_rate_limit();
    return {};
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s <case> <calls>\n", argv[0]);
        return 2;
    }
    const std::string_view path = argv[1];
    const long n = std::strtol(argv[2], nullptr, 10);
    redress::register_status_type<cost::RegisteredApiError>();

    if (path == "retry/fixed") {
        const auto policy = rb::retry_policy_fixed_class();
        int calls = 0;
        return repeat(n, [&] { return measured_retry(policy, calls); });
    }
    if (path == "retry/default") {
        const auto policy = rb::retry_policy_default_classifier();
        int calls = 0;
        return repeat(n, [&] { return measured_retry(policy, calls); });
    }
    constexpr std::string_view prefix = "classify/";
    if (path.starts_with(prefix)) {
        const auto rest = path.substr(prefix.size());
        const auto slash = rest.find('/');
        const auto classifier = rest.substr(0, slash);
        const auto error = failure(slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1));
        if (error) {
            if (classifier == "fixed") return repeat(n, [&] { return measured_fixed(error); });
            if (classifier == "default") return repeat(n, [&] { return measured_default(error); });
            if (classifier == "strict") return repeat(n, [&] { return measured_strict(error); });
        }
    }
    std::fprintf(stderr, "unknown case '%s'\n", argv[1]);
    return 2;
}
