// Strategies shared between threads: no lock, no data race (run under ThreadSanitizer in CI),
// every draw within bounds.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include <redress/strategies.hpp>

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
