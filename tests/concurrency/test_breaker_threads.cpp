#include <redress/circuit_breaker.hpp>
#include <redress/testing/manual_clock.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using redress::BreakerPermit;
using redress::BreakerTransition;
using redress::CircuitBreaker;
using redress::ErrorClass;
using redress::EventName;
using redress::testing::ManualClock;

namespace {

struct Tally {
    std::atomic<long> calls{0};
    std::atomic<long> probes{0};
    std::atomic<long> opened{0};
    std::atomic<long> half_open{0};
    std::atomic<long> closed{0};
    std::atomic<long> rejected{0};
    std::atomic<long> violations{0};
    std::atomic<int> probes_in_flight{0};

    void count(const std::optional<BreakerTransition>& t) {
        if (!t) return;
        switch (t->name) {
            case EventName::CircuitOpened: ++opened; break;
            case EventName::CircuitHalfOpen: ++half_open; break;
            case EventName::CircuitClosed: ++closed; break;
            case EventName::CircuitRejected: ++rejected; break;
            default: ++violations; break;
        }
    }
};

// Reports a random outcome: success, trip_on failure, non-trip_on failure, or cancel.
std::optional<BreakerTransition> report(CircuitBreaker& b, const BreakerPermit& p, std::minstd_rand& rng) {
    const auto roll = rng() % 10;
    if (roll < 4) return b.record_success(p);
    if (roll < 8) return b.record_failure(ErrorClass::Transient, p);
    if (roll < 9) return b.record_failure(ErrorClass::Auth, p);
    return b.record_cancel(p);
}

}  // namespace

TEST_CASE("four threads driving one breaker through half-open never have two probes in flight") {
    ManualClock clock;
    CircuitBreaker shared{{.failure_threshold = 2, .window = 1ms, .recovery_timeout = 50us, .clock = clock}};
    Tally tally;
    const auto stop_at = std::chrono::steady_clock::now() + 1s;
    constexpr long max_iterations = 2'000'000;

    auto worker = [&](unsigned seed) {
        CircuitBreaker b = shared;  // each thread holds its own handle to the one breaker
        std::minstd_rand rng(seed);
        for (long i = 0; i < max_iterations; ++i) {
            if ((i & 255) == 0 && std::chrono::steady_clock::now() >= stop_at) break;
            clock.advance(std::chrono::microseconds(rng() % 10));
            const auto permit = b.allow();
            ++tally.calls;
            tally.count(permit.transition);
            if (!permit.allowed) {
                std::this_thread::yield();  // let the probe holder finish on a busy machine
                continue;
            }
            if (permit.probe) {
                ++tally.probes;
                if (tally.probes_in_flight.fetch_add(1) + 1 > 1) ++tally.violations;
                std::this_thread::yield();  // keep the slot busy a little while the others knock
                tally.probes_in_flight.fetch_sub(1);
            }
            tally.count(report(b, permit, rng));
        }
    };

    std::vector<std::thread> threads;
    for (unsigned t = 0; t < 4; ++t) threads.emplace_back(worker, 1234U + t);
    for (auto& t : threads) t.join();

    INFO("calls " << tally.calls << ", probes " << tally.probes << ", opened " << tally.opened << ", half_open "
                  << tally.half_open << ", closed " << tally.closed << ", rejected " << tally.rejected);
    CHECK(tally.violations == 0);
    // It really cycled through every state many times (hundreds to thousands in practice; the
    // bounds are low so a loaded machine under ThreadSanitizer still passes).
    CHECK(tally.probes > 20);
    CHECK(tally.opened > 20);
    CHECK(tally.closed > 5);
    CHECK(tally.rejected > 20);
    // Each opening allows at most one circuit_half_open event; each probe closes at most once.
    CHECK(tally.half_open <= tally.opened);
    CHECK(tally.closed <= tally.probes);
    CHECK(tally.half_open <= tally.probes);
}

TEST_CASE("closed-state allow and success recording from four threads never open the breaker") {
    CircuitBreaker b{{.failure_threshold = 3}};
    std::atomic<long> refused{0};
    auto worker = [&] {
        for (int i = 0; i < 100'000; ++i) {
            const auto p = b.allow();
            if (!p.allowed) ++refused;
            (void)b.record_success(p);
        }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
    CHECK(refused == 0);
    CHECK(b.state() == redress::CircuitState::Closed);
}

TEST_CASE("concurrent failures open the breaker exactly once") {
    ManualClock clock;
    CircuitBreaker b{{.failure_threshold = 1000, .window = 1h, .clock = clock}};
    std::atomic<int> opened{0};
    auto worker = [&] {
        for (int i = 0; i < 1000; ++i) {
            const auto p = b.allow();
            if (!p.allowed) continue;
            if (b.record_failure(ErrorClass::ServerError, p)) ++opened;
        }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
    CHECK(opened == 1);
    CHECK(b.state() == redress::CircuitState::Open);
}
