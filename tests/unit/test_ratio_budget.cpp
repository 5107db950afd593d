#include <redress/budget.hpp>
#include <redress/errors.hpp>
#include <redress/ratio_budget.hpp>
#include <redress/testing/manual_clock.hpp>

#include <catch2/catch.hpp>

#include "invalid_option.hpp"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using redress::Budget;
using redress::Duration;
using redress::RatioBudgetOptions;
using redress::TimePoint;
using redress::testing::ManualClock;

namespace {

std::string invalid(const RatioBudgetOptions& o) { return redress_test::invalid_option_text<Budget>(o); }

Budget ratio_budget(const ManualClock& clock, double ratio, double floor = 0, Duration ttl = 10s) {
    return Budget(RatioBudgetOptions{.ratio = ratio, .ttl = ttl, .min_retries_per_second = floor, .clock = clock});
}

/// Consumes until refused (at most `limit`); the retries admitted.
int drain(const Budget& b, int limit = 100'000) {
    int n = 0;
    while (n < limit && b.consume()) ++n;
    return n;
}

void record(const Budget& b, int n) {
    for (int i = 0; i < n; ++i) b.record_request();
}

}  // namespace

TEST_CASE("ratio budget validates its options with InvalidOption naming the option") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    const std::string ratio = "RatioBudgetOptions::ratio: redress: RatioBudgetOptions::ratio must be in [0, 1000]";
    CHECK(invalid({.ratio = -0.01}) == ratio);
    CHECK(invalid({.ratio = 1000.5}) == ratio);
    CHECK(invalid({.ratio = nan}) == ratio);
    CHECK(invalid({.ratio = inf}) == ratio);
    CHECK(invalid({.ttl = 0s}) == "RatioBudgetOptions::ttl: redress: RatioBudgetOptions::ttl must be > 0");
    CHECK(invalid({.ttl = -1s}) == "RatioBudgetOptions::ttl: redress: RatioBudgetOptions::ttl must be > 0");
    const std::string floor =
        "RatioBudgetOptions::min_retries_per_second: redress: RatioBudgetOptions::min_retries_per_second must be "
        "finite and >= 0";
    CHECK(invalid({.min_retries_per_second = -1}) == floor);
    CHECK(invalid({.min_retries_per_second = nan}) == floor);
    CHECK(invalid({.min_retries_per_second = inf}) == floor);
    CHECK(invalid({.ttl = 100s, .min_retries_per_second = 3e7}) ==
          "RatioBudgetOptions::min_retries_per_second: redress: RatioBudgetOptions::min_retries_per_second times "
          "ttl must be at most INT_MAX retries");
    // The edges are valid.
    CHECK(invalid({.ratio = 0}).empty());
    CHECK(invalid({.ratio = 1000}).empty());
    CHECK(invalid({.ttl = 1ns}).empty());
    CHECK(invalid({.min_retries_per_second = 0}).empty());
    CHECK(invalid({.ttl = 1s, .min_retries_per_second = 2147483647.0}).empty());
}

TEST_CASE("ratio budget defaults are Finagle's: 20 % of the requests of 10 s plus 10 retries a second") {
    const RatioBudgetOptions o;
    CHECK(o.ratio == 0.2);
    CHECK(o.ttl == 10s);
    CHECK(o.min_retries_per_second == 10.0);
    ManualClock clock;
    const Budget b(RatioBudgetOptions{.clock = clock});
    CHECK_FALSE(b.is_window());
    CHECK(b.counts_requests());
    CHECK(b.remaining() == 100);  // the floor: 10/s over 10 s
    record(b, 50);
    CHECK(b.remaining() == 110);
    CHECK(drain(b) == 110);
    CHECK(b.remaining() == 0);
}

TEST_CASE("the floor alone admits min_retries_per_second times ttl retries per ttl, rounded down") {
    ManualClock clock;
    const auto [per_second, ttl, expected] = GENERATE(table<double, Duration, int>({
        {10.0, 10s, 100},
        {0.25, 10s, 2},  // 2.5
        {2.5, 1s, 2},
        {1.0, 1ms, 0},  // 0.001
        {1000.0, 1ms, 1},
        {0.1, 10s, 1},
    }));
    CAPTURE(per_second, ttl.count(), expected);
    const Budget b = ratio_budget(clock, 0, per_second, ttl);
    CHECK(b.remaining() == expected);
    record(b, 1000);  // a ratio of 0: requests add nothing
    CHECK(drain(b) == expected);
    CHECK(b.remaining() == 0);
    CHECK_FALSE(b.consume());
}

TEST_CASE("each request adds ratio retries, exactly to the millionth, at the boundary") {
    ManualClock clock;
    const auto [ratio, floor, requests, expected] = GENERATE(table<double, double, int, int>({
        {0.2, 0, 50, 10},
        {0.2, 0, 49, 9},
        {0.29, 0, 100, 29},  // 0.29 * 100 is 28.999999999999996 in doubles: the millionths are exact
        {0.1, 0, 30, 3},
        {0.7, 0, 10, 7},
        {2.0, 0, 7, 14},
        {1000.0, 0, 3, 3000},
        {0.000001, 0, 1'000'000, 1},
        {0.000001, 0, 999'999, 0},
        {0.2, 0.05, 3, 1},  // 0.6 + 0.5
        {0.2, 0.04, 3, 1},  // 0.6 + 0.4
        {0.2, 0.03, 3, 0},  // 0.6 + 0.3
    }));
    CAPTURE(ratio, floor, requests, expected);
    const Budget b = ratio_budget(clock, ratio, floor);
    record(b, requests);
    CHECK(b.remaining() == expected);
    CHECK(drain(b) == expected);
    CHECK(b.remaining() == 0);
    b.record_request();  // one more request frees what it adds, no more
    CHECK(b.remaining() == static_cast<int>(std::floor((requests + 1) * ratio + floor * 10 + 1e-9)) - expected);
}

TEST_CASE("ratio budget honours the cost, refuses a cost that does not fit, and rejects a cost below one") {
    ManualClock clock;
    const Budget b = ratio_budget(clock, 1.0);
    record(b, 5);
    CHECK(b.consume(3));
    CHECK_FALSE(b.consume(3));
    CHECK(b.remaining() == 2);
    CHECK(b.consume(2));
    CHECK_THROWS_AS(b.consume(0), std::invalid_argument);
    CHECK(b.decide() == redress::BudgetVerdict::Refused);
}

TEST_CASE("copies of a ratio budget share its requests and retries") {
    ManualClock clock;
    const Budget a = ratio_budget(clock, 1.0);
    const Budget b = a;  // NOLINT(performance-unnecessary-copy-initialization): the copy is the point
    a.record_request();
    b.record_request();
    CHECK(a.remaining() == 2);
    CHECK(b.consume());
    CHECK(a.remaining() == 1);
    CHECK(a.backend() == b.backend());
}

TEST_CASE("a request counts until ttl after its bucket began: exact at the bucket edges") {
    // ttl 10 s: buckets of 312.5 ms; the manual clock starts on a bucket edge.
    ManualClock clock;
    const TimePoint t0 = clock.now();
    const Budget b = ratio_budget(clock, 1.0);
    // At a bucket's start the edge is exact; inside it, a request is forgotten up to a bucket early.
    SECTION("recorded at or inside a bucket: counted until ttl after the bucket began") {
        clock.advance(GENERATE(0ms, 300ms));
        record(b, 10);
        clock.advance_to(t0 + 10s - 1ns);
        CHECK(b.remaining() == 10);
        clock.advance(1ns);
        CHECK(b.remaining() == 0);
    }
    SECTION("the same after retries moved the head meanwhile") {
        record(b, 10);
        clock.advance(5s);
        CHECK(b.consume());
        clock.advance(312500us);
        CHECK(b.consume());
        clock.advance_to(t0 + 10s - 1ns);
        CHECK(b.remaining() == 8);
        clock.advance(1ns);
        CHECK(b.remaining() == 0);
    }
    SECTION("requests spread over buckets leave one bucket at a time") {
        for (int i = 0; i < 4; ++i) {
            record(b, 1);
            clock.advance(312500us);
        }
        clock.advance_to(t0 + 10s);
        CHECK(b.remaining() == 3);
        clock.advance(312500us);
        CHECK(b.remaining() == 2);
        clock.advance(312500us - 1ns);
        CHECK(b.remaining() == 2);
        clock.advance(1ns);
        CHECK(b.remaining() == 1);
    }
}

TEST_CASE("a retry stays counted between ttl and ttl plus one bucket") {
    ManualClock clock;
    const TimePoint t0 = clock.now();
    const Budget b = ratio_budget(clock, 0, 0.1);  // the floor: one retry per 10 s
    CHECK(b.consume());
    CHECK_FALSE(b.consume());
    clock.advance_to(t0 + 10s);
    CHECK_FALSE(b.consume());
    clock.advance_to(t0 + 10s + 312500us - 1ns);
    CHECK(b.remaining() == 0);
    CHECK_FALSE(b.consume());
    clock.advance(1ns);
    CHECK(b.remaining() == 1);
    CHECK(b.consume());
}

TEST_CASE("a slow stream of requests is credited exactly, however the head lags") {
    // One request every 2 s with no retry in between: each request reads the clock and moves
    // the head itself, so none is credited to an earlier bucket.
    ManualClock clock;
    const Budget b = ratio_budget(clock, 1.0);
    for (int i = 0; i < 20; ++i) {
        b.record_request();
        clock.advance(2s);
    }
    // The last 5 requests (at -2 s ... -10 s) lie within the ttl; the one at exactly -10 s does not.
    CHECK(b.remaining() == 4);
    CHECK(drain(b) == 4);
}

TEST_CASE("after a long idle period a busy stream loses at most 64 requests to the old bucket") {
    ManualClock clock;
    const Budget b = ratio_budget(clock, 1.0);
    record(b, 1000);
    clock.advance(1h);
    CHECK(b.remaining() == 0);
    record(b, 1000);
    const int credited = b.remaining();
    CHECK(credited >= 1000 - 64);
    CHECK(credited <= 1000);
}

TEST_CASE("ratio budget works at any clock origin and after idle periods of any length") {
    const auto origin = GENERATE(TimePoint{}, TimePoint{} - 24h, TimePoint::min() + 1h, TimePoint::max() - 24h);
    ManualClock clock(origin);
    const Budget b = ratio_budget(clock, 0.5, 0);
    record(b, 10);
    CHECK(drain(b) == 5);
    clock.advance(10s + 312500us);
    CHECK(b.remaining() == 0);
    record(b, 4);
    CHECK(drain(b) == 2);
    clock.advance(std::chrono::hours(24 * 365 * 10));
    record(b, 6);
    CHECK(drain(b) == 3);
}

TEST_CASE("property: for any ttl, clock origin and sequence, a ratio budget never admits more than ratio times "
          "the requests of the ttl before a retry plus the floor") {
    std::mt19937_64 rng(20261201);
    for (int round = 0; round < 200; ++round) {
        const Duration ttl{1 + static_cast<Duration::rep>(rng() % 20'000'000'000ULL)};
        const double ratio = static_cast<double>(rng() % 3000) / 1000.0;
        const double floor_rate = static_cast<double>(rng() % 4) * 1e9 / static_cast<double>(ttl.count());
        const TimePoint origin{Duration{static_cast<Duration::rep>(rng() % (1ULL << 62))}};
        ManualClock clock(origin);
        const Budget b = ratio_budget(clock, ratio, floor_rate, ttl);
        const auto ratio_ppm = static_cast<std::int64_t>(std::llround(ratio * 1e6));
        const auto floor_ppm =
            static_cast<std::int64_t>(std::llround(floor_rate * static_cast<double>(ttl.count()) / 1e3));
        std::vector<TimePoint> requests;
        std::vector<TimePoint> retries;
        for (int step = 0; step < 400; ++step) {
            const auto roll = rng() % 100;
            if (roll < 50) {
                b.record_request();
                requests.push_back(clock.now());
            } else if (roll < 80) {
                const TimePoint t = clock.now();
                if (!b.consume()) continue;
                retries.push_back(t);
                const auto in = [&](const std::vector<TimePoint>& v) {
                    std::int64_t n = 0;
                    for (const auto& x : v) n += (x > t - ttl && x <= t) ? 1 : 0;
                    return n;
                };
                const std::int64_t bound = (ratio_ppm * in(requests) + floor_ppm) / 1'000'000;
                INFO("round " << round << " ttl " << ttl.count() << " ratio " << ratio << " step " << step);
                REQUIRE(in(retries) <= bound);
            } else {
                clock.advance(Duration{static_cast<Duration::rep>(rng() % static_cast<std::uint64_t>(ttl.count() / 8 + 1))});
            }
        }
    }
}
