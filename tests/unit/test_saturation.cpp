// Saturation: every duration a user can hand the library (a strategy's answer, an option, a
// wait) at the edges of its type (Duration::max/min, hours::max/min, huge doubles, NaN, ±inf)
// comes out finite and non-negative, with no overflow. Built and run under asan-ubsan too,
// where any signed overflow aborts the test.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <stop_token>

#include <redress/detail/sync_wait.hpp>
#include <redress/strategies.hpp>

using namespace std::chrono_literals;
using redress::BackoffContext;
using redress::Duration;
using redress::detail::saturate;

namespace {

using seconds_d = std::chrono::duration<double>;
constexpr double inf = std::numeric_limits<double>::infinity();
const double not_a_number = std::numeric_limits<double>::quiet_NaN();

/// A strategy whose raw answer is `value`, in whatever type it has.
template <class D>
struct Answer {
    D value;
    D operator()(const BackoffContext&) const { return value; }
};

/// The same in the legacy form.
template <class D>
struct LegacyAnswer {
    D value;
    D operator()(int, redress::ErrorClass, std::optional<Duration>) const { return value; }
};

/// `d` as a strategy's raw answer through every path: `invoke_strategy` in both forms and
/// `AnyStrategy`. All must agree and be finite and non-negative.
template <class D>
Duration through_strategies(D d) {
    const BackoffContext ctx;
    const Duration a = redress::invoke_strategy(Answer<D>{d}, ctx);
    const Duration b = redress::invoke_strategy(LegacyAnswer<D>{d}, ctx);
    const Duration c = redress::AnyStrategy(Answer<D>{d})(ctx);
    CHECK(a == b);
    CHECK(a == c);
    CHECK(a >= Duration::zero());
    return a;
}

}  // namespace

TEST_CASE("saturate converts every duration exactly when it fits and to the nearest limit when it does not") {
    CHECK(saturate(Duration::max()) == Duration::max());
    CHECK(saturate(Duration::min()) == Duration::min());
    CHECK(saturate(std::chrono::hours::max()) == Duration::max());
    CHECK(saturate(std::chrono::hours::min()) == Duration::min());
    CHECK(saturate(std::chrono::minutes::max()) == Duration::max());
    CHECK(saturate(std::chrono::minutes::min()) == Duration::min());
    CHECK(saturate(std::chrono::seconds::max()) == Duration::max());
    CHECK(saturate(std::chrono::milliseconds::min()) == Duration::min());
    CHECK(saturate(std::chrono::microseconds::max()) == Duration::max());
    CHECK(saturate(std::chrono::duration<std::uint64_t>::max()) == Duration::max());
    CHECK(saturate(std::chrono::duration<std::uint64_t, std::nano>::max()) == Duration::max());
    CHECK(saturate(std::chrono::duration<std::int32_t, std::ratio<86400>>::max()) == Duration::max());
    CHECK(saturate(std::chrono::duration<std::int64_t, std::pico>::max()) == Duration(std::int64_t{9'223'372'036'854'775}));
    // exactly at the limit, and one unit beyond
    CHECK(saturate(std::chrono::seconds(9'223'372'036)) == std::chrono::seconds(9'223'372'036));
    CHECK(saturate(std::chrono::seconds(9'223'372'037)) == Duration::max());
    CHECK(saturate(std::chrono::seconds(-9'223'372'036)) == std::chrono::seconds(-9'223'372'036));
    CHECK(saturate(std::chrono::seconds(-9'223'372'037)) == Duration::min());
    CHECK(saturate(std::chrono::hours(2'562'047)) == std::chrono::hours(2'562'047));
    CHECK(saturate(std::chrono::hours(2'562'048)) == Duration::max());
    CHECK(saturate(std::chrono::duration<std::int64_t, std::ratio<1, 3>>(-7)) == Duration(-2'333'333'333));
    // floating: huge, infinite and NaN
    CHECK(saturate(seconds_d(1e300)) == Duration::max());
    CHECK(saturate(seconds_d(-1e300)) == Duration::min());
    CHECK(saturate(seconds_d(inf)) == Duration::max());
    CHECK(saturate(seconds_d(-inf)) == Duration::min());
    CHECK(saturate(seconds_d(not_a_number)) == Duration::zero());
    CHECK(saturate(std::chrono::duration<float, std::ratio<3600>>(std::numeric_limits<float>::max())) == Duration::max());
    CHECK(saturate(std::chrono::duration<long double>(1.5L)) == 1500ms);
    STATIC_REQUIRE(saturate(std::chrono::hours::max()) == Duration::max());
}

TEST_CASE("a strategy's raw answer at the edges of its type becomes a finite, non-negative sleep") {
    CHECK(through_strategies(Duration::max()) == Duration::max());
    CHECK(through_strategies(Duration::min()) == Duration::zero());
    CHECK(through_strategies(std::chrono::hours::max()) == Duration::max());
    CHECK(through_strategies(std::chrono::hours::min()) == Duration::zero());
    CHECK(through_strategies(std::chrono::minutes::max()) == Duration::max());
    CHECK(through_strategies(std::chrono::minutes::min()) == Duration::zero());
    CHECK(through_strategies(std::chrono::duration<std::uint64_t>::max()) == Duration::max());
    CHECK(through_strategies(seconds_d(1e300)) == Duration::max());
    CHECK(through_strategies(seconds_d(-1e300)) == Duration::zero());
    CHECK(through_strategies(seconds_d(1e10)) == Duration::max());
    // Not finite: no meaningful sleep, so none.
    CHECK(through_strategies(seconds_d(not_a_number)) == Duration::zero());
    CHECK(through_strategies(seconds_d(inf)) == Duration::zero());
    CHECK(through_strategies(seconds_d(-inf)) == Duration::zero());
    CHECK(through_strategies(std::chrono::duration<float>(std::numeric_limits<float>::infinity())) == Duration::zero());
}

TEST_CASE("sync waits saturate their deadline: now + Duration::max() is the clock's last instant") {
    using redress::detail::saturating_deadline;
    using time_point = std::chrono::steady_clock::time_point;
    const time_point now = std::chrono::steady_clock::now();
    CHECK(saturating_deadline(now, Duration::max()) == time_point::max());
    const Duration room = time_point::max() - now;
    CHECK(saturating_deadline(now, room) == time_point::max());
    CHECK(saturating_deadline(now, room + 1ns) == time_point::max());
    CHECK(saturating_deadline(now, room - 1ns) == time_point::max() - 1ns);
    CHECK(saturating_deadline(time_point::max(), 1ns) == time_point::max());
    CHECK(saturating_deadline(time_point::max() - 1ns, 1ns) == time_point::max());
    CHECK(saturating_deadline(now, 5ms) == now + 5ms);
    CHECK(saturating_deadline(now, Duration::zero()) == now);
    CHECK(saturating_deadline(now, Duration::min()) == now);
    CHECK(saturating_deadline(time_point::min(), Duration::max()) == time_point::min() + Duration::max());
    // Non-positive sleeps return at once, with or without a stop token.
    std::stop_source source;
    redress::detail::interruptible_sleep(Duration::min(), source.get_token());
    redress::detail::interruptible_sleep(Duration::zero(), std::stop_token{});
    redress::detail::interruptible_sleep(-1ns, std::stop_token{});
    // A stopped token ends even the longest sleep at once.
    source.request_stop();
    redress::detail::interruptible_sleep(Duration::max(), source.get_token());
    SUCCEED("no sleep waited");
}
