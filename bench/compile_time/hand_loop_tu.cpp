// Compile-time baseline: the standard headers a hand-written retry loop needs, and the loop.
// scripts/bench.sh compares the time to compile redress_retry_tu.cpp and redress_tu.cpp with
// this file's, at -O0 and -O2 (docs/performance.md).
#include <chrono>
#include <exception>
#include <functional>
#include <stdexcept>
#include <thread>

int hand_call(const std::function<int()>& fn) {
    const auto start = std::chrono::steady_clock::now();
    for (int attempt = 1;; ++attempt) {
        try {
            return fn();
        } catch (...) {
            if (std::chrono::steady_clock::now() - start > std::chrono::seconds(60) || attempt == 6) throw;
            std::this_thread::sleep_for(std::chrono::milliseconds(100) * attempt);
        }
    }
}
