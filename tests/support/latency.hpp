// Real-time latency checks (a stop request must end a wait "within 100 ms") on a shared,
// loaded machine: a thread that is not scheduled for a while inflates one measurement, never
// all of them. A wait that really is slow (polling, or sleeping its whole duration) is slow in
// every run, so the best of a few runs still catches it.
#pragma once

#include <algorithm>
#include <chrono>

namespace redress_test {

/// Runs `scenario` (which returns the latency it measured, and CHECKs its own outcome) up to
/// `runs` times and returns the smallest latency, stopping at the first under `enough`.
template <class Scenario>
std::chrono::steady_clock::duration best_latency(Scenario scenario, std::chrono::steady_clock::duration enough,
                                                  int runs = 3) {
    auto best = std::chrono::steady_clock::duration::max();
    for (int i = 0; i < runs && best >= enough; ++i) best = std::min(best, scenario());
    return best;
}

}  // namespace redress_test
