// Long uptime: every component that reads time behaves the same whatever the clock's origin
// (0, 1 h, 80 days, 5 years, 290 years: near the end of steady_clock's range).
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include <redress/detail/coarse_clock.hpp>
#include <redress/testing/manual_clock.hpp>

using namespace std::chrono_literals;
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

}  // namespace

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
