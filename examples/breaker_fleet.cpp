// One breaker shared by a fleet: three "processes" (breakers) share a BreakerStore. One of
// them sees the downstream fail and opens; the others follow at their next refresh; after the
// recovery timeout a single probe runs for all of them, and its success closes every one.
// An in-memory store and a ManualClock stand in for Redis and real time.
#include <redress/redress.hpp>
#include <redress/testing.hpp>

#include <array>
#include <cstdio>
#include <memory>
#include <string>

using namespace std::chrono_literals;

namespace {

std::string state(const redress::CircuitBreaker& b) { return std::string(redress::to_string(b.state())); }

}  // namespace

int main() {
    redress::testing::ManualClock clock;
    // snippet-begin: breaker-fleet
    auto store = std::make_shared<redress::testing::InMemoryBreakerStore>(
        // snippet-hide
        clock
        // snippet-show
    );  // one shared breaker: a Redis key, in production

    auto fleet_breaker = [&](int process) {
        return redress::CircuitBreaker{{
            .consecutive_failures = 3,
            .recovery_timeout = 30s,
            .on_state_change =
                [process](const redress::BreakerStateChange& c) {
                    std::printf("process %d: %s -> %s (%s)\n", process, std::string(redress::to_string(c.from)).c_str(),
                                std::string(redress::to_string(c.to)).c_str(),
                                std::string(redress::to_string(c.reason)).c_str());
                },
            // snippet-hide
            .clock = clock,
            // snippet-show
            .store = store,         // openings are published to it and followed from it
            .store_refresh = 1s,    // how stale this process's view of the fleet may be
            .store_lease = 10s,     // how long a probe holder that dies holds the others off
        }};
    };
    // snippet-end: breaker-fleet
    std::array<redress::CircuitBreaker, 3> processes{fleet_breaker(0), fleet_breaker(1), fleet_breaker(2)};
    for (auto& p : processes) (void)p.record_success(p.allow());  // each reads the fleet's state once

    // Process 0 sees three failures in a row and opens; the store records the opening.
    for (int i = 0; i < 3; ++i) (void)processes[0].record_failure(redress::ErrorClass::ServerError, processes[0].allow());

    // The others admit calls from their cache until their refresh falls due, then open.
    clock.advance(1s);
    for (auto& p : processes) (void)p.allow();
    bool ok = state(processes[1]) == "open" && state(processes[2]) == "open";

    // After the recovery timeout, many calls everywhere: one probe in the whole fleet.
    clock.advance(29s);
    int probes = 0;
    redress::BreakerPermit probe;
    redress::CircuitBreaker* holder = nullptr;
    for (int round = 0; round < 10; ++round) {
        for (auto& p : processes) {
            const auto permit = p.allow();
            if (!permit.allowed) continue;
            ++probes;
            probe = permit;
            holder = &p;
        }
    }
    std::printf("probes admitted across the fleet: %d\n", probes);
    ok = ok && probes == 1 && holder != nullptr;
    if (holder != nullptr) (void)holder->record_success(probe);  // the downstream is back

    // At their next refresh the others close too.
    clock.advance(1s);
    for (auto& p : processes) (void)p.allow();
    for (int i = 0; i < 3; ++i) std::printf("process %d: %s\n", i, state(processes[static_cast<std::size_t>(i)]).c_str());
    for (auto& p : processes) ok = ok && p.state() == redress::CircuitState::Closed;
    return ok ? 0 : 1;
}
