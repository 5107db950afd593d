// Compile-time baseline (issue 8): the standard headers a hand-written retry-and-breaker
// helper would include, and a small function using them. scripts/bench.sh compares the
// time to compile this file with redress_tu.cpp.
#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

int baseline_call(const std::function<int()>& fn) {
    static std::mutex mutex;
    static std::vector<std::chrono::steady_clock::time_point> failures;
    const auto start = std::chrono::steady_clock::now();
    for (int attempt = 1;; ++attempt) {
        try {
            return fn();
        } catch (...) {
            std::lock_guard lock(mutex);
            failures.push_back(std::chrono::steady_clock::now());
            if (std::chrono::steady_clock::now() - start > std::chrono::seconds(60) || attempt == 6) throw;
        }
    }
}
