// Strategies shared between threads: no lock, no data race (run under ThreadSanitizer in CI),
// every draw within bounds.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include <redress/strategies.hpp>
#include <redress/testing/manual_clock.hpp>

using namespace std::chrono_literals;
using redress::BackoffContext;
using redress::Duration;

TEST_CASE("two threads draw a million sleeps each from one shared decorrelated_jitter and one shared adaptive") {
    constexpr int per_thread = 1'000'000;
    const auto jitter = redress::decorrelated_jitter({.base = 100ms, .max = 10s});
    const auto adaptive = redress::adaptive(redress::decorrelated_jitter({.base = 100ms, .max = 10s}));
    std::atomic<std::int64_t> out_of_bounds{0};
    std::atomic<std::int64_t> multiplier_out_of_range{0};

    const auto worker = [&](std::uint64_t seed) {
        redress::seed_random(seed);
        BackoffContext ctx;
        std::int64_t bad = 0;
        std::int64_t bad_multiplier = 0;
        for (int i = 0; i < per_thread; ++i) {
            ctx.attempt = 1 + i % 8;
            const Duration a = jitter(ctx);
            if (a < 100ms || a > 10s) ++bad;
            ctx.prev_sleep = a;

            const Duration b = adaptive(ctx);
            // fallback is within [100 ms, 10 s]; the multiplier within [1, 5]
            if (b < 100ms || b > 50s) ++bad;
            if (i % 3 == 0) adaptive.on_success();
            else adaptive.on_failure();
            if (i % 4096 == 0) {
                const double m = adaptive.multiplier();
                if (m < 1.0 || m > 5.0) ++bad_multiplier;
            }
        }
        out_of_bounds += bad;
        multiplier_out_of_range += bad_multiplier;
    };
    std::thread t1(worker, 1);
    std::thread t2(worker, 2);
    t1.join();
    t2.join();

    CHECK(out_of_bounds.load() == 0);
    CHECK(multiplier_out_of_range.load() == 0);
    // two failures in every three calls: 2/3 failures against a 10 % threshold
    REQUIRE(adaptive.failure_rate().has_value());
    CHECK(*adaptive.failure_rate() == Approx(2.0 / 3.0).epsilon(0.01));
    CHECK(adaptive.multiplier() == Approx(1.0 + 4.0 * (2.0 / 3.0 - 0.1) / 0.9).epsilon(0.01));
}

TEST_CASE("a strategy shared through AnyStrategy copies is safe to use from many threads") {
    const redress::AnyStrategy shared = redress::retry_after_or(redress::equal_jitter());
    std::atomic<int> bad{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([shared, &bad] {  // each thread holds its own copy of the handle
            BackoffContext ctx;
            ctx.attempt = 3;
            for (int i = 0; i < 20'000; ++i) {
                const Duration d = shared(ctx);
                if (d < 1s || d > 2s) ++bad;
                shared.on_failure();
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(bad.load() == 0);
}

TEST_CASE("four threads recording into an adaptive strategy with 1 ns buckets, 290 years into the clock, keep its "
          "counts consistent") {
    using days = std::chrono::duration<long, std::ratio<86400>>;
    redress::testing::ManualClock clock{redress::TimePoint{} + days(290 * 365)};
    // Buckets of 1 ns: the threads move the clock on constantly, so slots are claimed for new
    // buckets while other threads record into them and read them.
    const auto adaptive = redress::adaptive(redress::constant(1s), {.window = 32ns, .clock = clock});
    std::atomic<long> bad{0};
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            long mine = 0;
            for (int i = 0; i < 20'000; ++i) {
                if ((i + static_cast<int>(t)) % 3 == 0) clock.advance(1ns);
                if (i % 2 == 0) {
                    adaptive.on_failure();
                } else {
                    adaptive.on_success();
                }
                const auto rate = adaptive.failure_rate();
                if (rate && (*rate < 0.0 || *rate > 1.0)) ++mine;
                const double m = adaptive.multiplier();
                if (m < 1.0 || m > 5.0) ++mine;
            }
            bad += mine;
        });
    }
    for (auto& t : threads) t.join();
    CHECK(bad.load() == 0);
    // Once the threads are done, the window holds exactly what is recorded from now on.
    clock.advance(33ns);
    CHECK_FALSE(adaptive.failure_rate().has_value());
    for (int i = 0; i < 3; ++i) adaptive.on_failure();
    adaptive.on_success();
    REQUIRE(adaptive.failure_rate().has_value());
    CHECK(*adaptive.failure_rate() == Approx(0.75));
}
