// Breakers sharing one InMemoryBreakerStore, called from many threads at once: one probe
// fleet-wide, and one store call per breaker per refresh however many threads ask.
#include <redress/circuit_breaker.hpp>
#include <redress/testing/breaker_store.hpp>
#include <redress/testing/manual_clock.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <barrier>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using redress::BreakerPermit;
using redress::BreakerStateChange;
using redress::CircuitBreaker;
using redress::CircuitState;
using redress::ErrorClass;
using redress::EventName;
using redress::TransitionReason;
using redress::testing::InMemoryBreakerStore;
using redress::testing::ManualClock;

TEST_CASE("fleet threads: eight threads on four breakers admit one probe in all, and each breaker asks the store once") {
    constexpr int breakers_n = 4;
    constexpr int threads_per_breaker = 2;
    ManualClock clock;
    const auto t0 = clock.now();
    auto store = std::make_shared<InMemoryBreakerStore>(clock);
    std::mutex heard_mutex;
    std::vector<BreakerStateChange> heard;
    std::vector<CircuitBreaker> breakers;
    for (int i = 0; i < breakers_n; ++i) {
        breakers.emplace_back(redress::CircuitBreakerOptions{
            .failure_threshold = 2,
            .recovery_timeout = 30s,
            .on_state_change =
                [&](const BreakerStateChange& c) {
                    std::lock_guard lock(heard_mutex);
                    heard.push_back(c);
                },
            .clock = clock,
            .store = store,
            .store_refresh = 1s,
            .store_lease = 10s});
    }
    for (auto& b : breakers) (void)b.record_success(b.allow());
    clock.advance(100ms);
    for (int k = 0; k < 2; ++k) (void)breakers[0].record_failure(ErrorClass::Transient, breakers[0].allow());
    REQUIRE(breakers[0].state() == CircuitState::Open);
    clock.advance_to(t0 + 1s);  // the others learn of the opening
    for (std::size_t i = 1; i < breakers.size(); ++i) REQUIRE(breakers[i].allow().transition->name == EventName::CircuitOpened);
    clock.advance_to(t0 + 100ms + 30s);  // the fleet's due time: every breaker asks for the lease

    // Runs `body(breaker)` on two threads per breaker, all started together.
    auto run = [&](auto body) {
        std::barrier start(breakers_n * threads_per_breaker);
        std::vector<std::thread> threads;
        for (int i = 0; i < breakers_n * threads_per_breaker; ++i) {
            threads.emplace_back([&, i] {
                start.arrive_and_wait();
                body(breakers[static_cast<std::size_t>(i / threads_per_breaker)]);
            });
        }
        for (auto& t : threads) t.join();
    };

    std::atomic<int> probes{0};
    std::mutex probe_mutex;
    std::optional<BreakerPermit> probe;
    CircuitBreaker* holder = nullptr;
    const auto calls_before = store->calls();
    run([&](CircuitBreaker& b) {
        for (int k = 0; k < 2000; ++k) {
            const auto p = b.allow();
            if (!p.allowed) continue;
            ++probes;
            std::lock_guard lock(probe_mutex);
            probe = p;
            holder = &b;
        }
    });
    CHECK(probes.load() == 1);
    CHECK(store->grants() == 1);
    CHECK(store->calls() - calls_before == breakers_n);  // one refresher per breaker; the others used the cache
    REQUIRE(holder != nullptr);
    CHECK(holder->record_success(*probe)->name == EventName::CircuitClosed);

    // One interval later every breaker refreshes once; the three that did not probe close.
    clock.advance(1s);
    std::atomic<int> closes{0};
    const auto calls_closing = store->calls();
    run([&](CircuitBreaker& b) {
        for (int k = 0; k < 500; ++k) {
            const auto p = b.allow();
            if (!p.allowed) continue;  // the other thread is refreshing: the cache still says open
            if (p.transition && p.transition->name == EventName::CircuitClosed) ++closes;
            (void)b.record_success(p);
        }
    });
    CHECK(closes.load() == breakers_n - 1);
    CHECK(store->calls() - calls_closing == breakers_n);
    for (auto& b : breakers) CHECK(b.state() == CircuitState::Closed);

    int fleet_opened = 0;
    int fleet_closed = 0;
    for (const auto& c : heard) {
        if (c.reason != TransitionReason::Fleet) continue;
        CHECK(c.from != c.to);
        if (c.to == CircuitState::Open) ++fleet_opened;
        if (c.to == CircuitState::Closed) ++fleet_closed;
    }
    CHECK(fleet_opened == breakers_n - 1);
    CHECK(fleet_closed == breakers_n - 1);
}
