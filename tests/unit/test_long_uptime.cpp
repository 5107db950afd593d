// Long uptime: every component that cuts time into buckets behaves the same whatever the
// clock's origin (0, 1 h, 80 days, 5 years, 290 years: near the end of steady_clock's range)
// and across idle periods of 2^31 and 2^32 buckets, where 32-bit bucket numbers used to wrap.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <redress/budget.hpp>
#include <redress/detail/coarse_clock.hpp>
#include <redress/strategies.hpp>
#include <redress/testing/manual_clock.hpp>

using namespace std::chrono_literals;
using redress::Budget;
using redress::Duration;
using redress::TimePoint;
using redress::testing::ManualClock;

namespace {

using days = std::chrono::duration<std::int64_t, std::ratio<86400>>;
using years = std::chrono::duration<std::int64_t, std::ratio<86400 * 365>>;

/// The clock origins every test runs at. Each is a whole multiple of every bucket width used
/// below, so bucket boundaries fall at the same offsets from the origin.
const std::vector<Duration> origins = {Duration::zero(), 1h, days(80), years(5), years(290)};

std::string name_of(Duration origin) {
    std::ostringstream out;
    out << std::chrono::duration_cast<std::chrono::hours>(origin).count() << " h";
    return out.str();
}

ManualClock clock_at(Duration origin) { return ManualClock{TimePoint{} + origin}; }

/// One scripted budget run: bursts, partial refills, idle gaps of 2^31 and 2^32 buckets (and
/// one bucket either side), each result written down. The script depends only on `seed`.
std::vector<int> budget_run(Duration origin, int max_retries, Duration window, std::uint64_t seed) {
    ManualClock clock = clock_at(origin);
    Budget b{{.max_retries = max_retries, .window = window, .clock = clock}};
    const Duration width{(window.count() + 31) / 32};
    // Idle gaps that wrapped 32-bit bucket numbers, bounded so 290 years plus them fits.
    const auto idle = [&](std::int64_t buckets) {
        const Duration cap = days(100);
        return width.count() > cap.count() / buckets ? cap : width * buckets;
    };
    const std::vector<Duration> gaps = {idle(std::int64_t{1} << 31), idle(std::int64_t{1} << 32),
                                        idle((std::int64_t{1} << 32) - 1), idle((std::int64_t{1} << 32) + 1),
                                        idle((std::int64_t{1} << 32) + 33)};
    std::mt19937_64 rng(seed);
    int idles = 0;
    std::vector<int> out;
    for (int step = 0; step < 400; ++step) {
        switch (rng() % 8) {
            case 0:
            case 1: {  // a burst until refused
                int admitted = 0;
                while (admitted < 3000 && b.consume()) ++admitted;
                out.push_back(admitted);
                break;
            }
            case 2:
                out.push_back(b.consume(1 + static_cast<int>(rng() % 3)) ? 1 : 0);
                break;
            case 3:
                out.push_back(b.remaining());
                break;
            case 4:  // within a bucket or two
                clock.advance(Duration(static_cast<Duration::rep>(rng() % static_cast<std::uint64_t>(2 * width.count() + 1))));
                break;
            case 5:  // around a window
                clock.advance(window - width + Duration(static_cast<Duration::rep>(rng() % static_cast<std::uint64_t>(3 * width.count()))));
                break;
            case 6:  // at most 6 idle gaps of up to 100 days: 290 years plus them stays in range
                clock.advance(idles++ < 6 ? gaps[rng() % gaps.size()] : width);
                break;
            default:
                clock.advance(width / 2 + Duration(1));
                break;
        }
    }
    return out;
}

}  // namespace

TEST_CASE("long uptime: a budget first used 80 days into the clock admits max_retries per window, not per bucket") {
    // The reported case: 10 retries per 100 ms, steady_clock after 80 days of uptime.
    for (const Duration origin : origins) {
        INFO("origin " << name_of(origin));
        ManualClock clock = clock_at(origin);
        Budget b({.max_retries = 10, .window = 100ms, .clock = clock});
        int admitted = 0;
        while (admitted < 100 && b.consume()) ++admitted;
        CHECK(admitted == 10);
        for (int bucket = 0; bucket < 40; ++bucket) {
            clock.advance(2500us);  // a bit less than a bucket (3.125 ms) each time
            CHECK_FALSE(b.consume());
        }
        clock.advance(10ms);  // 110 ms after the burst: its bucket has left the window
        CHECK(b.remaining() == 10);
    }
}

TEST_CASE("long uptime: a budget gives the same answers at every clock origin, across idle gaps of 2^32 buckets") {
    struct Case {
        int max_retries;
        Duration window;
    };
    const std::vector<Case> cases = {{1, 1ns},     {3, 32ns},   {10, 1us},  {10, 100ms},
                                     {5000, 100ms}, {100, 60s}, {2, 1h},    {300, 1h}};
    std::uint64_t seed = 1;
    for (const Case& c : cases) {
        const auto reference = budget_run(Duration::zero(), c.max_retries, c.window, seed);
        for (const Duration origin : origins) {
            INFO("max_retries " << c.max_retries << ", window " << c.window.count() << " ns, origin " << name_of(origin));
            CHECK(budget_run(origin, c.max_retries, c.window, seed) == reference);
        }
        ++seed;
    }
}

TEST_CASE("long uptime: a budget idle for exactly 2^32 buckets forgets what it counted before") {
    for (const Duration origin : origins) {
        INFO("origin " << name_of(origin));
        ManualClock clock = clock_at(origin);
        Budget b({.max_retries = 3, .window = 32ns, .clock = clock});  // buckets of 1 ns
        CHECK(b.consume(3));
        for (const std::int64_t gap : {std::int64_t{1} << 31, std::int64_t{1} << 32, (std::int64_t{1} << 32) - 32}) {
            clock.advance(Duration(gap));
            CHECK(b.remaining() == 3);
            CHECK(b.consume(3));
            CHECK_FALSE(b.consume(1));
        }
    }
}

TEST_CASE("long uptime: the coarse clock's lag margin counts the same at every clock origin") {
    for (const Duration origin : origins) {
        INFO("origin " << name_of(origin));
        ManualClock clock = clock_at(origin);
        // Buckets of (32 s + 32 s lag) / 32 = 2 s: a retry taken at the start of a bucket stays
        // counted until that bucket's end is 64 s old, 66 s after it was taken.
        redress::detail::BudgetCore core({.max_retries = 2, .window = 32s, .clock = clock}, 32s);
        CHECK(core.consume(2));
        CHECK_FALSE(core.consume(1));
        clock.advance(64s);
        CHECK_FALSE(core.consume(1));
        clock.advance(2s - 1ns);
        CHECK(core.remaining() == 0);
        clock.advance(1ns);
        CHECK(core.remaining() == 2);
        clock.advance(days(20));
        CHECK(core.consume(2));
        CHECK_FALSE(core.consume(1));
    }
}

TEST_CASE("long uptime: the coarse clock's reading converts exactly at every origin and saturates beyond") {
    using redress::detail::CoarseClock;
    for (const Duration origin : origins) {
        INFO("origin " << name_of(origin));
        const auto secs = std::chrono::duration_cast<std::chrono::seconds>(origin).count();
        CHECK(CoarseClock::from_timespec(secs, 0) == TimePoint{} + origin);
        CHECK(CoarseClock::from_timespec(secs, 999'999'999) == TimePoint{} + origin + 999'999'999ns);
        // The unchecked conversion `now()` uses, for what the kernel can return.
        CHECK(CoarseClock::from_reading(secs, 0) == TimePoint{} + origin);
        CHECK(CoarseClock::from_reading(secs, 999'999'999) == TimePoint{} + origin + 999'999'999ns);
    }
    CHECK(CoarseClock::from_reading(9'223'372'036, 854'775'807) == TimePoint::max());
    CHECK(CoarseClock::from_timespec(9'223'372'036, 854'775'807) == TimePoint::max());
    CHECK(CoarseClock::from_timespec(9'223'372'036, 854'775'808) == TimePoint::max());
    CHECK(CoarseClock::from_timespec(std::int64_t{1} << 62, 0) == TimePoint::max());
    CHECK(CoarseClock::from_timespec(-(std::int64_t{1} << 62), 0) == TimePoint::min());
    if (CoarseClock::available()) {
        const TimePoint a = CoarseClock::now();
        const TimePoint b = std::chrono::steady_clock::now();
        CHECK(a <= b);
        CHECK(b - a <= CoarseClock::lag_bound());
    }
}

namespace {

/// One scripted adaptive run: failures and successes spread over buckets, windows and idle
/// gaps (2^31 and 2^32 buckets), with the multiplier and failure rate written down.
std::vector<double> adaptive_run(Duration origin, Duration window, std::uint64_t seed) {
    ManualClock clock = clock_at(origin);
    const auto s = redress::adaptive(redress::constant(1s), {.window = window, .clock = clock});
    const Duration width = window / 32;
    const auto idle = [&](std::int64_t buckets) {
        const Duration cap = days(100);
        return width.count() > cap.count() / buckets ? cap : width * buckets;
    };
    const std::vector<Duration> gaps = {days(8), idle(std::int64_t{1} << 31), idle(std::int64_t{1} << 32),
                                        idle((std::int64_t{1} << 32) + 5)};
    std::mt19937_64 rng(seed);
    int idles = 0;
    std::vector<double> out;
    for (int step = 0; step < 300; ++step) {
        switch (rng() % 6) {
            case 0:
            case 1:
                for (int i = static_cast<int>(rng() % 20); i >= 0; --i) s.on_failure();
                break;
            case 2:
                for (int i = static_cast<int>(rng() % 20); i >= 0; --i) s.on_success();
                break;
            case 3:
                clock.advance(Duration(static_cast<Duration::rep>(rng() % static_cast<std::uint64_t>(window.count()))));
                break;
            case 4:  // at most 6 idle gaps of up to 100 days: 290 years plus them stays in range
                clock.advance(idles++ < 6 ? gaps[rng() % gaps.size()] : width);
                break;
            default:
                clock.advance(width);
                break;
        }
        out.push_back(s.multiplier());
        out.push_back(s.failure_rate().value_or(-1.0));
    }
    return out;
}

}  // namespace

TEST_CASE("long uptime: adaptive first used 8 days after construction still learns") {
    for (const Duration origin : origins) {
        INFO("origin " << name_of(origin));
        ManualClock clock = clock_at(origin);
        const auto s = redress::adaptive(redress::constant(100ms), {.window = 10ms, .clock = clock});
        clock.advance(days(8));
        for (int i = 0; i < 20; ++i) s.on_failure();
        CHECK(s.multiplier() == Approx(5.0));
        CHECK(s(redress::BackoffContext{}) == 500ms);
        clock.advance(11ms);
        CHECK(s.multiplier() == 1.0);
    }
}

TEST_CASE("long uptime: adaptive idle for exactly 2^32 buckets forgets what it learnt before") {
    for (const Duration origin : origins) {
        INFO("origin " << name_of(origin));
        ManualClock clock = clock_at(origin);
        const auto s = redress::adaptive(redress::constant(1s), {.window = 32ns, .clock = clock});  // buckets of 1 ns
        for (int i = 0; i < 10; ++i) s.on_failure();
        for (const std::int64_t gap : {std::int64_t{1} << 31, std::int64_t{1} << 32, (std::int64_t{1} << 32) - 31}) {
            clock.advance(Duration(gap));
            CHECK_FALSE(s.failure_rate().has_value());
            s.on_success();
            CHECK(s.failure_rate() == 0.0);
            for (int i = 0; i < 10; ++i) s.on_failure();
        }
    }
}

TEST_CASE("long uptime: adaptive gives the same answers at every clock origin, across idle gaps of 2^32 buckets") {
    std::uint64_t seed = 7;
    for (const Duration window : {Duration(32ns), Duration(10ms), Duration(60s)}) {
        const auto reference = adaptive_run(Duration::zero(), window, seed);
        for (const Duration origin : origins) {
            INFO("window " << window.count() << " ns, origin " << name_of(origin));
            CHECK(adaptive_run(origin, window, seed) == reference);
        }
        ++seed;
    }
}

TEST_CASE("long uptime: the manual clock saturates instead of overflowing") {
    ManualClock clock{TimePoint{} + years(290)};
    clock.advance(years(10));
    CHECK(clock.now() == TimePoint::max());
    clock.advance(Duration::max());
    CHECK(clock.now() == TimePoint::max());
    ManualClock low{TimePoint::min()};
    low.advance(Duration::max());
    CHECK(low.now() == TimePoint{} + Duration(-1));
}
