// Saturation: every duration a user can hand the library (a strategy's answer, an option, a
// wait) at the edges of its type (Duration::max/min, hours::max/min, huge doubles, NaN, ±inf)
// comes out finite and non-negative, with no overflow. Built and run under asan-ubsan too,
// where any signed overflow aborts the test.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <limits>
#include <optional>
#include <stop_token>
#include <vector>

#include <redress/engine/sync_wait.hpp>
#include <redress/strategies.hpp>
#include <redress/testing/manual_clock.hpp>

using namespace std::chrono_literals;
using redress::BackoffContext;
using redress::Duration;
using redress::detail::saturate;

namespace {

using seconds_d = std::chrono::duration<double>;
constexpr double inf = std::numeric_limits<double>::infinity();
const double not_a_number = std::numeric_limits<double>::quiet_NaN();

/// The attempts a strategy may be asked about, the wrong ones included.
const std::vector<int> attempts = {INT_MIN, -1000, -1, 0, 1, 2, 3, 31, 32, 62, 63, 64, 100, 1023, 1024, 1025, 100'000, INT_MAX};

/// Previous sleeps and remaining times, including the extremes.
const std::vector<std::optional<Duration>> durations = {std::nullopt, Duration::min(), Duration(-1), Duration::zero(),
                                                        Duration(1),  250ms,           Duration::max()};

std::vector<BackoffContext> contexts() {
    std::vector<BackoffContext> out;
    for (const int attempt : attempts) {
        for (const auto& prev : durations) {
            BackoffContext ctx;
            ctx.attempt = attempt;
            ctx.prev_sleep = prev;
            out.push_back(ctx);
        }
    }
    return out;
}

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

template <class S>
void check_sweep(const S& s, Duration lo, Duration hi) {
    for (const auto& ctx : contexts()) {
        const Duration d = redress::invoke_strategy(s, ctx);
        INFO("attempt " << ctx.attempt << ", prev_sleep " << (ctx.prev_sleep ? ctx.prev_sleep->count() : -42));
        CHECK(d >= lo);
        CHECK(d <= hi);
    }
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

TEST_CASE("every strategy stays within [0, max] for any attempt and previous sleep, with options at their limits") {
    const Duration max = Duration::max();
    SECTION("decorrelated_jitter") {
        check_sweep(redress::decorrelated_jitter({.base = 0ns, .max = max}), 0ns, max);
        check_sweep(redress::decorrelated_jitter({.base = max, .max = max}), max, max);
        check_sweep(redress::decorrelated_jitter({.base = 0ns, .max = 0ns}), 0ns, 0ns);
        check_sweep(redress::decorrelated_jitter({.base = 1ns, .max = 10s}), 1ns, 10s);
    }
    SECTION("equal_jitter, full_jitter, token_backoff") {
        check_sweep(redress::equal_jitter({.base = 0ns, .max = max}), 0ns, 0ns);
        check_sweep(redress::full_jitter({.base = 0ns, .max = max}), 0ns, 0ns);
        check_sweep(redress::token_backoff({.base = 0ns, .max = max}), 0ns, 0ns);
        check_sweep(redress::equal_jitter({.base = max, .max = max}), max / 2, max);
        check_sweep(redress::full_jitter({.base = max, .max = max}), 0ns, max);
        check_sweep(redress::token_backoff({.base = max, .max = max}), max / 2, max);
        check_sweep(redress::equal_jitter({.base = 1ns, .max = max}), 1ns, max);
        check_sweep(redress::full_jitter({.base = 1ns, .max = 30s}), 0ns, 30s);
    }
    SECTION("exponential") {
        check_sweep(redress::exponential({.base = 0ns, .max = max}), 0ns, 0ns);
        check_sweep(redress::exponential({.base = 0ns, .max = max, .multiplier = 1e308}), 0ns, 0ns);
        check_sweep(redress::exponential({.base = max, .max = max, .multiplier = 1e308}), max, max);
        check_sweep(redress::exponential({.base = 1ns, .max = max, .multiplier = 1e308}), 1ns, max);
        check_sweep(redress::exponential({.base = 1ns, .max = max, .multiplier = 1.0}), 1ns, 1ns);
    }
    SECTION("constant and linear") {
        check_sweep(redress::constant(max), max, max);
        check_sweep(redress::constant(0ns), 0ns, 0ns);
        check_sweep(redress::linear({.base = max, .step = max, .max = max}), max, max);
        check_sweep(redress::linear({.base = 0ns, .step = max, .max = max}), 0ns, max);
        check_sweep(redress::linear({.base = 0ns, .step = 0ns, .max = max}), 0ns, 0ns);
        check_sweep(redress::linear({.base = 1s, .step = 1s, .max = 3s}), 1s, 3s);
    }
    SECTION("retry_after_or: hints and remaining times at their limits") {
        const auto s = redress::retry_after_or(redress::constant(max), max);
        for (const auto& hint : durations) {
            for (const auto& remaining : durations) {
                for (const auto& base : contexts()) {
                    BackoffContext ctx = base;
                    ctx.classification.retry_after = hint;
                    ctx.remaining = remaining;
                    const Duration d = s(ctx);
                    CHECK(d >= 0ns);
                    if (remaining) CHECK(d <= std::max(*remaining, Duration::zero()));
                    if (!remaining && hint && *hint >= 1ns) CHECK(d >= *hint);
                }
            }
        }
    }
    SECTION("adaptive: the largest multiplier over the largest sleep saturates") {
        redress::testing::ManualClock clock;
        const auto s = redress::adaptive(redress::constant(max), {.window = Duration::max(), .max_multiplier = 1e308, .clock = clock});
        for (int i = 0; i < 10; ++i) s.on_failure();
        check_sweep(s, max, max);
        clock.advance(Duration::max());
        CHECK(s.failure_rate().has_value());  // a window of Duration::max() still holds them
        const auto tiny = redress::adaptive(redress::constant(1s), {.window = 1ns, .clock = clock});
        tiny.on_failure();
        CHECK(tiny.multiplier() == Approx(5.0));
        check_sweep(tiny, 5s, 5s);
    }
}

TEST_CASE("base 0 sleeps zero at every attempt, where 0 * 2^1024 used to be NaN and gave the maximum") {
    for (const int attempt : {1, 2, 1023, 1024, 1025, 4096, INT_MAX}) {
        BackoffContext ctx;
        ctx.attempt = attempt;
        INFO("attempt " << attempt);
        CHECK(redress::full_jitter({.base = 0ns})(ctx) == 0ns);
        CHECK(redress::equal_jitter({.base = 0ns})(ctx) == 0ns);
        CHECK(redress::token_backoff({.base = 0ns})(ctx) == 0ns);
        CHECK(redress::exponential({.base = 0ns})(ctx) == 0ns);
        CHECK(redress::exponential({.base = 0ns, .multiplier = 10.0})(ctx) == 0ns);
    }
}

TEST_CASE("an attempt below 1 counts as the first retry in every strategy") {
    redress::testing::ManualClock clock;
    for (const int attempt : {0, -1, -1000, INT_MIN}) {
        BackoffContext first;
        BackoffContext wrong;
        wrong.attempt = attempt;
        INFO("attempt " << attempt);
        CHECK(redress::exponential({.base = 1s, .max = 100s})(wrong) == 1s);
        CHECK(redress::linear({.base = 1s, .step = 7s, .max = 100s})(wrong) == 1s);
        CHECK(redress::constant(3s)(wrong) == 3s);
        // The jittered ones draw from the first retry's range: same seed, same draw.
        const auto same_draw = [&](const auto& s) {
            redress::seed_random(99);
            const Duration a = s(first);
            redress::seed_random(99);
            return a == s(wrong);
        };
        CHECK(same_draw(redress::full_jitter()));
        CHECK(same_draw(redress::equal_jitter()));
        CHECK(same_draw(redress::token_backoff()));
        CHECK(same_draw(redress::decorrelated_jitter()));
        CHECK(same_draw(redress::retry_after_or(redress::exponential())));
        CHECK(same_draw(redress::adaptive(redress::full_jitter(), {.clock = clock})));
    }
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
