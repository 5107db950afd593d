// The breaker's modes under threads (run under ThreadSanitizer too): several half-open probes,
// recovery growth and the on_state_change hook in each mode, and ratio mode's lock-free
// counting of successes.
#include <redress/circuit_breaker.hpp>
#include <redress/policy.hpp>
#include <redress/retry.hpp>
#include <redress/strategies.hpp>
#include <redress/testing/manual_clock.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <climits>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using redress::BreakerPermit;
using redress::BreakerStateChange;
using redress::BreakerTransition;
using redress::CircuitBreaker;
using redress::CircuitBreakerOptions;
using redress::CircuitState;
using redress::ErrorClass;
using redress::EventName;
using redress::TransitionReason;
using redress::testing::ManualClock;

namespace {

struct Config {
    std::string name;
    CircuitBreakerOptions options;
};

// The legal edges of traffic (no operator calls in these tests) and their reasons.
bool legal(const BreakerStateChange& c) {
    using C = CircuitState;
    using R = TransitionReason;
    return (c.from == C::Closed && c.to == C::Open && c.reason == R::Failures) ||
           (c.from == C::Open && c.to == C::HalfOpen && c.reason == R::RecoveryElapsed) ||
           (c.from == C::HalfOpen && c.to == C::Closed && c.reason == R::ProbesSucceeded) ||
           (c.from == C::HalfOpen && c.to == C::Open && c.reason == R::ProbeFailed);
}

struct Counts {
    std::atomic<long> opened{0};
    std::atomic<long> half_open{0};
    std::atomic<long> closed{0};
    std::atomic<long> probes{0};
    std::atomic<long> illegal{0};
    std::atomic<long> hook_open{0};
    std::atomic<long> hook_half_open{0};
    std::atomic<long> hook_closed{0};
    std::atomic<int> most_probes{0};  // the most probes of one half-open period held at once

    void count(const std::optional<BreakerTransition>& t) {
        if (!t) return;
        if (t->name == EventName::CircuitOpened) ++opened;
        else if (t->name == EventName::CircuitHalfOpen) ++half_open;
        else if (t->name == EventName::CircuitClosed) ++closed;
        else if (t->name != EventName::CircuitRejected) ++illegal;
    }
};

}  // namespace

TEST_CASE("every mode, with several probes and recovery growth: never more probes than configured, only legal edges") {
    const auto growth = redress::exponential({.base = 100us, .max = 1ms});
    std::vector<Config> configs{
        {"ratio, 1 probe", {.window = 1ms, .recovery_timeout = 50us, .failure_ratio = 0.5, .minimum_throughput = 4}},
        {"ratio, 3 probes, close after 2",
         {.window = 1ms, .recovery_timeout = 50us, .failure_ratio = 0.5, .minimum_throughput = 4, .half_open_probes = 3, .close_after = 2}},
        {"count, 3 probes, close after 2, growth",
         {.failure_threshold = 2, .window = 1ms, .recovery_timeout = 50us, .half_open_probes = 3, .close_after = 2,
          .recovery_backoff = growth, .max_recovery_timeout = 1ms}},
        {"consecutive, 4 probes, close after 3",
         {.consecutive_failures = 2, .recovery_timeout = 50us, .half_open_probes = 4, .close_after = 3}},
        {"consecutive, 2 probes, close after 5, growth",
         {.consecutive_failures = 3, .recovery_timeout = 20us, .half_open_probes = 2, .close_after = 5,
          .recovery_backoff = growth, .max_recovery_timeout = 500us}},
    };
    for (auto& config : configs) {
        INFO(config.name);
        ManualClock clock;
        Counts counts;
        std::mutex held_mutex;
        std::map<std::uint64_t, int> held;  // probes held per half-open period (the permit's ticket)
        config.options.clock = clock;
        config.options.on_state_change = [&counts](const BreakerStateChange& c) {
            if (!legal(c)) ++counts.illegal;
            if (c.to == CircuitState::Open) ++counts.hook_open;
            if (c.to == CircuitState::HalfOpen) ++counts.hook_half_open;
            if (c.to == CircuitState::Closed) ++counts.hook_closed;
        };
        const CircuitBreaker shared{config.options};
        const int limit = config.options.half_open_probes;
        const auto stop_at = std::chrono::steady_clock::now() + 400ms;

        auto worker = [&](unsigned seed) {
            CircuitBreaker b = shared;
            std::minstd_rand rng(seed);
            for (long i = 0; i < 500'000; ++i) {
                if ((i & 255) == 0 && std::chrono::steady_clock::now() >= stop_at) break;
                clock.advance(std::chrono::microseconds(rng() % 8));
                const auto permit = b.allow();
                counts.count(permit.transition);
                if (!permit.allowed) {
                    std::this_thread::yield();
                    continue;
                }
                if (permit.probe) {
                    ++counts.probes;
                    {
                        const std::lock_guard lock(held_mutex);
                        const int now_held = ++held[permit.ticket];
                        if (now_held > counts.most_probes) counts.most_probes = now_held;
                    }
                    std::this_thread::yield();  // hold the slot while the others knock
                    const std::lock_guard lock(held_mutex);
                    --held[permit.ticket];  // before the report: the report frees the slot
                }
                const auto roll = rng() % 10;
                // Probes succeed more often, so that the breaker also closes with close_after > 1.
                const bool fail = permit.probe ? roll < 2 : roll < 5;
                std::optional<BreakerTransition> t;
                if (roll == 9) t = b.record_cancel(permit);
                else if (fail) t = b.record_failure(ErrorClass::Transient, permit);
                else if (roll == 8) t = b.record_failure(ErrorClass::Auth, permit);
                else t = b.record_success(permit);
                counts.count(t);
            }
        };
        // A fifth thread watches: every snapshot taken amid the traffic is self-consistent.
        std::atomic<long> snapshots{0};
        std::atomic<long> bad_snapshots{0};
        auto observer = [&] {
            CircuitBreaker b = shared;
            // At least 100 snapshots, however late this thread is first scheduled.
            for (int n = 0; n < 100 || std::chrono::steady_clock::now() < stop_at; ++n) {
                const auto s = b.snapshot();
                ++snapshots;
                const bool ok = s.probes_in_flight >= 0 && s.probes_in_flight <= limit &&
                                (s.probes_in_flight == 0 || s.state == CircuitState::HalfOpen) &&
                                (s.state != CircuitState::Closed || s.probe_successes == 0) &&
                                s.probe_successes < config.options.close_after && s.openings >= 0 &&
                                (!s.calls || *s.calls >= s.failures) && !redress::to_json(s).empty();
                if (!ok) ++bad_snapshots;
                std::this_thread::yield();
            }
        };
        std::vector<std::thread> threads;
        for (unsigned t = 0; t < 4; ++t) threads.emplace_back(worker, 77U + t);
        threads.emplace_back(observer);
        for (auto& t : threads) t.join();

        INFO("snapshots " << snapshots << ", inconsistent " << bad_snapshots);
        CHECK(bad_snapshots == 0);
        CHECK(snapshots > 0);
        INFO("probes " << counts.probes << ", opened " << counts.opened << ", half_open " << counts.half_open
                       << ", closed " << counts.closed << ", most probes at once " << counts.most_probes);
        CHECK(counts.illegal == 0);
        CHECK(counts.most_probes <= limit);
        // The hook heard exactly the transitions the calls returned.
        CHECK(counts.hook_open == counts.opened);
        CHECK(counts.hook_half_open == counts.half_open);
        CHECK(counts.hook_closed == counts.closed);
        // It really cycled (hundreds of times in practice; low bounds for a loaded TSan run).
        CHECK(counts.opened > 5);
        CHECK(counts.closed > 2);
        CHECK(counts.probes > 5);
        if (limit > 1) CHECK(counts.most_probes > 1);  // the probes really overlapped
    }
}

TEST_CASE("ratio mode counts concurrent successes exactly, without losing one when a bucket starts") {
    // Rounds: between rounds the main thread moves the clock (often into a new bucket); within a
    // round four threads record successes and non-trip failures at one time. After each round,
    // the calls in the window must be exactly those of the rounds whose bucket is still in it.
    constexpr int thread_count = 4;
    ManualClock clock;
    const CircuitBreaker shared{{.window = 32s, .failure_ratio = 1.0, .minimum_throughput = INT_MAX, .clock = clock}};
    std::mt19937_64 rng(99);
    std::vector<int> per_thread(thread_count);
    bool stop = false;
    std::barrier sync(thread_count + 1);
    auto worker = [&](int id) {
        CircuitBreaker b = shared;
        for (;;) {
            sync.arrive_and_wait();
            if (stop) return;
            for (int i = 0; i < per_thread[static_cast<std::size_t>(id)]; ++i) {
                const auto p = b.allow();
                if (i % 7 == 0) (void)b.record_failure(ErrorClass::Auth, p);  // a call, not a failure
                else (void)b.record_success(p);
            }
            sync.arrive_and_wait();
        }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t) threads.emplace_back(worker, t);

    auto bucket = [&] { return clock.now().time_since_epoch() / 1s; };  // window 32 s: 1 s buckets
    std::vector<std::pair<std::int64_t, std::uint64_t>> rounds;         // bucket, calls
    std::string failure;
    for (int round = 0; round < 200 && failure.empty(); ++round) {
        switch (rng() % 3) {
            case 0: break;
            case 1: clock.advance(std::chrono::milliseconds(rng() % 1500)); break;
            default: clock.advance(std::chrono::seconds(rng() % 40)); break;
        }
        std::uint64_t calls = 0;
        for (auto& n : per_thread) {
            n = static_cast<int>(rng() % 2000);
            calls += static_cast<std::uint64_t>(n);
        }
        sync.arrive_and_wait();  // start
        sync.arrive_and_wait();  // done
        rounds.emplace_back(bucket(), calls);
        std::uint64_t expected = 0;
        for (const auto& [b, n] : rounds)
            if (bucket() - b < 32) expected += n;
        const auto got = shared.snapshot().calls.value_or(0);
        if (got != expected)
            failure = "round " + std::to_string(round) + ": " + std::to_string(got) + " calls, expected " + std::to_string(expected);
    }
    stop = true;
    sync.arrive_and_wait();
    for (auto& t : threads) t.join();
    INFO(failure);
    CHECK(failure.empty());
}

TEST_CASE("ratio mode loses no success counted lock-free while buckets start under the counting threads") {
    // Four threads count successes (each in its own lane) while the main thread moves the clock
    // into a new bucket 30 times, each time once every thread has counted more: every bucket
    // start drains the lanes under the threads' increments. All 31 buckets stay in the window,
    // so the window must hold exactly the calls made.
    constexpr int thread_count = 4;
    ManualClock clock;
    const CircuitBreaker shared{{.window = 32s, .failure_ratio = 1.0, .minimum_throughput = INT_MAX, .clock = clock}};
    std::vector<std::atomic<std::uint64_t>> made(thread_count);
    std::atomic<bool> stop{false};
    auto worker = [&](int id) {
        CircuitBreaker b = shared;
        auto& mine = made[static_cast<std::size_t>(id)];
        while (!stop.load(std::memory_order_acquire)) {
            (void)b.record_success(b.allow());
            mine.fetch_add(1, std::memory_order_release);
        }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t) threads.emplace_back(worker, t);
    auto least = [&] {
        auto n = made[0].load(std::memory_order_acquire);
        for (const auto& m : made) n = std::min(n, m.load(std::memory_order_acquire));
        return n;
    };
    for (int i = 0; i < 30; ++i) {
        const auto before = least();
        while (least() < before + 50) std::this_thread::yield();
        clock.advance(1s);
    }
    stop.store(true, std::memory_order_release);
    for (auto& t : threads) t.join();
    std::uint64_t total = 0;
    for (const auto& m : made) total += m.load();
    CHECK(shared.snapshot().calls == total);
}

TEST_CASE("quiet policy calls from four threads on the steady clock are all counted, across bucket starts") {
    // The quiet path on the real clock: 100 ms buckets (window 3.2 s), four threads calling for
    // 300 ms: a few buckets start under them, through the gate's out-of-line path, and none of
    // their calls may be lost. Bounded by time; the count is exact while the run stays within
    // the window.
    constexpr int thread_count = 4;
    const CircuitBreaker shared{{.window = 3200ms}};
    const redress::Policy policy{redress::Retry{.strategy = redress::constant(0ms), .max_attempts = 1}, shared};
    std::vector<std::uint64_t> made(thread_count);
    const auto begin = std::chrono::steady_clock::now();
    auto worker = [&](int id) {
        std::uint64_t n = 0;
        while (std::chrono::steady_clock::now() - begin < 300ms) {
            n += static_cast<std::uint64_t>(policy.call([] { return 1; }));
        }
        made[static_cast<std::size_t>(id)] = n;
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t) threads.emplace_back(worker, t);
    for (auto& t : threads) t.join();
    const auto snapshot = shared.snapshot();
    const auto elapsed = std::chrono::steady_clock::now() - begin;
    std::uint64_t total = 0;
    for (const auto n : made) total += n;
    INFO(total << " calls in " << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms");
    CHECK(total > 0);
    if (elapsed < 3s) CHECK(snapshot.calls == total);  // (a run this slow has calls out of the window)
}
