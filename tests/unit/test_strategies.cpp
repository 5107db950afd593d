// Strategies (see docs/strategies.md): bounds and means over 10,000 seeded draws, the
// adaptive formula, the concept, type erasure, notifications and option validation.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <redress/strategies.hpp>
#include <redress/testing/manual_clock.hpp>

using namespace std::chrono_literals;
using redress::BackoffContext;
using redress::Duration;
using redress::ErrorClass;

namespace {

constexpr int draws = 10'000;

struct Stats {
    double min_s = std::numeric_limits<double>::infinity();
    double max_s = -std::numeric_limits<double>::infinity();
    double mean_s = 0.0;
};

template <class S>
Stats sample(const S& strategy, const BackoffContext& ctx) {
    redress::seed_random(20240601);
    Stats st;
    double sum = 0.0;
    for (int i = 0; i < draws; ++i) {
        const double s = std::chrono::duration<double>(redress::invoke_strategy(strategy, ctx)).count();
        st.min_s = std::min(st.min_s, s);
        st.max_s = std::max(st.max_s, s);
        sum += s;
    }
    st.mean_s = sum / draws;
    return st;
}

BackoffContext ctx_at(int attempt, std::optional<Duration> prev = std::nullopt) {
    BackoffContext ctx;
    ctx.attempt = attempt;
    ctx.prev_sleep = prev;
    ctx.classification.klass = ErrorClass::Transient;
    return ctx;
}

/// E[min(cap, U(a, b))] for a <= cap <= b.
double clamped_uniform_mean(double a, double b, double cap) {
    return ((cap * cap - a * a) / 2.0 + cap * (b - cap)) / (b - a);
}

void check(const Stats& st, double lo, double hi, double mean) {
    INFO("min " << st.min_s << " max " << st.max_s << " mean " << st.mean_s << " expected " << mean);
    CHECK(st.min_s >= lo);
    CHECK(st.max_s <= hi);
    CHECK(st.mean_s == Approx(mean).epsilon(0.05));
}

}  // namespace

TEST_CASE("decorrelated_jitter stays within [base, min(max, 3 x prev)] with the analytic mean") {
    const auto s = redress::decorrelated_jitter();
    SECTION("first retry: uniform(base, 3 base)") { check(sample(s, ctx_at(1)), 0.25, 0.75, 0.5); }
    SECTION("after a 1 s sleep: uniform(0.25 s, 3 s)") { check(sample(s, ctx_at(2, 1s)), 0.25, 3.0, 1.625); }
    SECTION("after a 20 s sleep the 30 s max clamps the draw") {
        check(sample(s, ctx_at(5, 20s)), 0.25, 30.0, clamped_uniform_mean(0.25, 60.0, 30.0));
    }
    SECTION("a custom max") {
        const auto small = redress::decorrelated_jitter({.max = 5s});
        CHECK(small.options().base == 250ms);
        check(sample(small, ctx_at(3, 4s)), 0.25, 5.0, clamped_uniform_mean(0.25, 12.0, 5.0));
    }
}

TEST_CASE("equal_jitter draws from [cap/2, cap] with cap = min(max, base 2^attempt)") {
    const auto s = redress::equal_jitter();
    check(sample(s, ctx_at(3)), 1.0, 2.0, 1.5);
    check(sample(s, ctx_at(10)), 15.0, 30.0, 22.5);
    check(sample(s, ctx_at(100000)), 15.0, 30.0, 22.5);
}

TEST_CASE("token_backoff draws from [cap/2, cap] with cap = min(max, base 1.5^attempt)") {
    const auto s = redress::token_backoff();
    const double cap = 0.25 * std::pow(1.5, 4);
    check(sample(s, ctx_at(4)), cap / 2, cap, 0.75 * cap);
    check(sample(s, ctx_at(30)), 10.0, 20.0, 15.0);
}

TEST_CASE("full_jitter draws from [0, cap] with cap = min(max, base 2^attempt)") {
    const auto s = redress::full_jitter({.base = 100ms, .max = 10s});
    check(sample(s, ctx_at(2)), 0.0, 0.4, 0.2);
    check(sample(s, ctx_at(20)), 0.0, 10.0, 5.0);
}

TEST_CASE("the growth factor raised to an attempt equals std::pow, exactly, for every exponent") {
    // pow_int builds powers of two from their bits (no libm call per failure): the sleeps must
    // not move by a single nanosecond for it, at any exponent the strategies can reach.
    for (int e = 0; e <= 4096; ++e) {
        INFO("exponent " << e);
        REQUIRE(redress::detail::pow_int(2.0, e) == std::pow(2.0, static_cast<double>(e)));
        REQUIRE(redress::detail::pow_int(1.5, e) == std::pow(1.5, static_cast<double>(e)));
        REQUIRE(redress::detail::pow_int(3.0, e) == std::pow(3.0, static_cast<double>(e)));
    }
    REQUIRE(std::isinf(redress::detail::pow_int(2.0, 1024)));
}

TEST_CASE("exponential, constant and linear are deterministic") {
    const auto e = redress::exponential({.base = 100ms, .max = 1s});
    CHECK(e(ctx_at(1)) == 100ms);
    CHECK(e(ctx_at(2)) == 200ms);
    CHECK(e(ctx_at(4)) == 800ms);
    CHECK(e(ctx_at(5)) == 1s);
    CHECK(e(ctx_at(5000)) == 1s);
    const auto e3 = redress::exponential({.base = 1s, .max = 100s, .multiplier = 3.0});
    CHECK(e3(ctx_at(3)) == 9s);

    CHECK(redress::constant(42ms)(ctx_at(7)) == 42ms);

    const auto l = redress::linear({.base = 1s, .step = 500ms, .max = 3s});
    CHECK(l(ctx_at(1)) == 1s);
    CHECK(l(ctx_at(3)) == 2s);
    CHECK(l(ctx_at(50)) == 3s);
}

TEST_CASE("retry_after_or honours the hint plus jitter, falls back without one, and respects remaining") {
    const auto s = redress::retry_after_or(redress::constant(7s));
    auto ctx = ctx_at(2);
    SECTION("no hint: the fallback answers") { CHECK(s(ctx) == 7s); }
    SECTION("a hint: hint + uniform(0, 250 ms)") {
        ctx.classification.retry_after = 2s;
        check(sample(s, ctx), 2.0, 2.25, 2.125);
    }
    SECTION("a negative hint counts as zero") {
        ctx.classification.retry_after = -5s;
        check(sample(s, ctx), 0.0, 0.25, 0.125);
    }
    SECTION("a huge hint saturates instead of overflowing") {
        ctx.classification.retry_after = Duration::max();
        CHECK(s(ctx) == Duration::max());
    }
    SECTION("never more than remaining") {
        ctx.classification.retry_after = 10s;
        ctx.remaining = 1s;
        CHECK(s(ctx) == 1s);
        ctx.classification.retry_after.reset();
        CHECK(s(ctx) == 1s);
    }
    SECTION("jitter zero gives the hint exactly") {
        const auto exact = redress::retry_after_or(redress::constant(7s), 0ms);
        ctx.classification.retry_after = 3s;
        CHECK(exact(ctx) == 3s);
    }
}

TEST_CASE("adaptive multiplier follows the formula at 0, 10, 50 and 100 percent failures") {
    redress::testing::ManualClock clock;
    const double min_m = 1.0;
    const double max_m = 5.0;
    const double threshold = 1.0 - 0.9;
    const auto expected = [&](double rate) {
        return rate <= threshold ? min_m : min_m + (max_m - min_m) * (rate - threshold) / (1.0 - threshold);
    };
    for (const int failures_percent : {0, 10, 50, 100}) {
        INFO("failure rate " << failures_percent << "%");
        const auto s = redress::adaptive(redress::constant(1s), {.clock = clock});
        CHECK(s.multiplier() == min_m);  // nothing recorded yet
        for (int i = 0; i < 100; ++i) {
            if (i < failures_percent) s.on_failure();
            else s.on_success();
        }
        const double rate = failures_percent / 100.0;
        REQUIRE(s.failure_rate().has_value());
        CHECK(*s.failure_rate() == Approx(rate));
        CHECK(s.multiplier() == Approx(expected(rate)));
        CHECK(std::chrono::duration<double>(s(ctx_at(1))).count() == Approx(expected(rate)));
    }
    CHECK(expected(0.5) == Approx(1.0 + 4.0 * 0.4 / 0.9));
}

TEST_CASE("adaptive forgets failures older than its window and shares state among copies") {
    redress::testing::ManualClock clock;
    const auto s = redress::adaptive(redress::constant(100ms), {.window = 10s, .clock = clock});
    const auto copy = s;
    for (int i = 0; i < 10; ++i) copy.on_failure();
    CHECK(s.multiplier() == Approx(5.0));
    CHECK(s(ctx_at(1)) == 500ms);
    clock.advance(11s);
    CHECK_FALSE(s.failure_rate().has_value());
    CHECK(s.multiplier() == 1.0);
    CHECK(s(ctx_at(1)) == 100ms);
}

TEST_CASE("adaptive keeps the failure ratio when a bucket's counters would overflow") {
    redress::testing::ManualClock clock;
    const auto s = redress::adaptive(redress::constant(1s), {.clock = clock});
    for (int i = 0; i < 200'000; ++i) {
        s.on_failure();
        if (i % 4 == 0) s.on_success();
    }
    REQUIRE(s.failure_rate().has_value());
    CHECK(*s.failure_rate() == Approx(0.8).epsilon(0.01));
}

TEST_CASE("adaptive over a jittered fallback scales its mean") {
    redress::testing::ManualClock clock;
    const auto s = redress::adaptive(redress::equal_jitter(), {.clock = clock});
    for (int i = 0; i < 10; ++i) s.on_failure();
    check(sample(s, ctx_at(3)), 5.0, 10.0, 7.5);
}

TEST_CASE("seed_random makes draws reproducible on the calling thread") {
    const auto s = redress::decorrelated_jitter();
    const auto run = [&] {
        std::vector<Duration> v;
        for (int i = 0; i < 100; ++i) v.push_back(s(ctx_at(2, 1s)));
        return v;
    };
    redress::seed_random(7);
    const auto a = run();
    redress::seed_random(7);
    const auto b = run();
    redress::seed_random(8);
    const auto c = run();
    CHECK(a == b);
    CHECK(a != c);
}

TEST_CASE("threads that never seed get distinct random streams") {
    std::uint64_t x = 0;
    std::uint64_t y = 0;
    std::thread t1([&] { x = redress::detail::thread_engine()(); });
    std::thread t2([&] { y = redress::detail::thread_engine()(); });
    t1.join();
    t2.join();
    CHECK(x != y);
}

namespace {
struct ContextForm {
    Duration operator()(const BackoffContext& ctx) const { return ctx.attempt * 1s; }
};
struct LegacyForm {
    std::chrono::milliseconds operator()(int attempt, ErrorClass, std::optional<Duration> prev) const {
        return std::chrono::milliseconds(attempt * 10) + std::chrono::duration_cast<std::chrono::milliseconds>(prev.value_or(0ms));
    }
};
struct FloatingForm {
    double seconds;
    std::chrono::duration<double> operator()(const BackoffContext&) const { return std::chrono::duration<double>(seconds); }
};
struct ReturnsInt {
    int operator()(const BackoffContext&) const { return 1; }
};
struct NonConst {
    Duration operator()(const BackoffContext&) { return 1s; }
};
struct Counting {
    mutable int successes = 0;
    mutable int failures = 0;
    Duration operator()(const BackoffContext&) const { return 1s; }
    void on_success() const { ++successes; }
    void on_failure() const { ++failures; }
};
struct CountingRef {
    int* successes;
    int* failures;
    Duration operator()(const BackoffContext&) const { return 1s; }
    void on_success() const { ++*successes; }
    void on_failure() const { ++*failures; }
};
}  // namespace

TEST_CASE("the Strategy concept accepts the context and legacy forms and nothing else") {
    STATIC_REQUIRE(redress::Strategy<ContextForm>);
    STATIC_REQUIRE(redress::Strategy<LegacyForm>);
    STATIC_REQUIRE(redress::Strategy<FloatingForm>);
    STATIC_REQUIRE(redress::Strategy<redress::AnyStrategy>);
    STATIC_REQUIRE(redress::Strategy<redress::DecorrelatedJitter>);
    STATIC_REQUIRE(redress::Strategy<Duration (*)(const BackoffContext&)>);
    STATIC_REQUIRE_FALSE(redress::Strategy<ReturnsInt>);
    STATIC_REQUIRE_FALSE(redress::Strategy<NonConst>);
    STATIC_REQUIRE_FALSE(redress::Strategy<int>);
    STATIC_REQUIRE(redress::strategy_check<LegacyForm>);
}

TEST_CASE("invoke_strategy calls either form and makes the answer a finite non-negative Duration") {
    CHECK(redress::invoke_strategy(ContextForm{}, ctx_at(3)) == 3s);
    CHECK(redress::invoke_strategy(LegacyForm{}, ctx_at(2, 5ms)) == 25ms);
    CHECK(redress::invoke_strategy(FloatingForm{1.5}, ctx_at(1)) == 1500ms);
    CHECK(redress::invoke_strategy(FloatingForm{std::nan("")}, ctx_at(1)) == 0s);
    CHECK(redress::invoke_strategy(FloatingForm{std::numeric_limits<double>::infinity()}, ctx_at(1)) == 0s);
    CHECK(redress::invoke_strategy(FloatingForm{-2.0}, ctx_at(1)) == 0s);
    CHECK(redress::invoke_strategy(FloatingForm{1e30}, ctx_at(1)) == Duration::max());
    const auto lambda = [](int attempt, ErrorClass klass, std::optional<Duration>) {
        return klass == ErrorClass::RateLimit ? std::chrono::seconds(attempt) : std::chrono::seconds(0);
    };
    auto ctx = ctx_at(4);
    ctx.classification.klass = ErrorClass::RateLimit;
    CHECK(redress::invoke_strategy(lambda, ctx) == 4s);
}

TEST_CASE("AnyStrategy erases any strategy, forwards notifications and is empty by default") {
    redress::AnyStrategy empty;
    CHECK_FALSE(empty);
    CHECK_THROWS_AS(empty(ctx_at(1)), std::bad_function_call);
    empty.on_success();  // no-op, no crash

    redress::AnyStrategy legacy = LegacyForm{};
    CHECK(legacy);
    CHECK(legacy(ctx_at(3)) == 30ms);

    const auto fn = +[](const BackoffContext&) -> Duration { return 9ms; };
    redress::AnyStrategy from_pointer = fn;
    CHECK(from_pointer(ctx_at(1)) == 9ms);

    int successes = 0;
    int failures = 0;
    redress::AnyStrategy erased = CountingRef{&successes, &failures};
    erased.on_failure();
    erased.on_success();
    const redress::AnyStrategy copy = erased;
    copy.on_success();
    CHECK(failures == 1);
    CHECK(successes == 2);

    redress::testing::ManualClock clock;
    const auto ad = redress::adaptive(redress::constant(1s), {.clock = clock});
    const redress::AnyStrategy wrapped = redress::retry_after_or(ad);
    for (int i = 0; i < 4; ++i) wrapped.on_failure();
    CHECK(ad.multiplier() == Approx(5.0));
    wrapped.on_success();
    CHECK(*ad.failure_rate() == Approx(0.8));
    CHECK(wrapped(ctx_at(1)) == std::chrono::duration_cast<Duration>(std::chrono::duration<double>(
                                    1.0 + 4.0 * (0.8 - 0.1) / 0.9)));
}

TEST_CASE("notify_success and notify_failure call the hooks when present and do nothing otherwise") {
    Counting c;
    redress::notify_failure(c);
    redress::notify_success(c);
    redress::notify_success(c);
    CHECK(c.failures == 1);
    CHECK(c.successes == 2);
    redress::notify_success(ContextForm{});  // compiles, does nothing
    const auto r = redress::retry_after_or(Counting{});
    redress::notify_failure(r);
    CHECK(r.fallback().failures == 1);
}

TEST_CASE("per-class strategies pick the strategy of the failure's class") {
    redress::PerClass<redress::AnyStrategy> table{
        {ErrorClass::RateLimit, redress::constant(5s)},
        {ErrorClass::Transient, redress::linear({.base = 1s, .step = 1s, .max = 10s})},
    };
    auto ctx = ctx_at(3);
    ctx.classification.klass = ErrorClass::RateLimit;
    CHECK((*table.find(ctx.klass()))(ctx) == 5s);
    ctx.classification.klass = ErrorClass::Transient;
    CHECK((*table.find(ctx.klass()))(ctx) == 3s);
    CHECK(table.find(ErrorClass::ServerError) == nullptr);
}

TEST_CASE("invalid strategy options throw InvalidOption naming the strategy and the option") {
    struct Expected {
        std::string component;
        std::string option;
        std::string what;
    };
    const auto invalid = [](auto&& f) -> Expected {
        try {
            f();
        } catch (const redress::InvalidOption& e) {
            return {std::string(e.component()), std::string(e.option()), e.what()};
        }
        return {"<no throw>", "", ""};
    };
    const auto check_invalid = [](const Expected& got, const std::string& component, const std::string& option,
                                  const std::string& rule) {
        INFO(got.what);
        CHECK(got.component == component);
        CHECK(got.option == option);
        CHECK(got.what == "redress: " + component + "::" + option + " " + rule);
    };
    check_invalid(invalid([] { (void)redress::decorrelated_jitter({.base = -1ms}); }), "decorrelated_jitter", "base", "must be >= 0");
    check_invalid(invalid([] { (void)redress::decorrelated_jitter({.base = 2s, .max = 1s}); }), "decorrelated_jitter", "max",
                  "must be >= base");
    check_invalid(invalid([] { (void)redress::equal_jitter({.max = 1ms}); }), "equal_jitter", "max", "must be >= base");
    check_invalid(invalid([] { (void)redress::equal_jitter({.base = Duration::min()}); }), "equal_jitter", "base", "must be >= 0");
    check_invalid(invalid([] { (void)redress::token_backoff({.base = -1s}); }), "token_backoff", "base", "must be >= 0");
    check_invalid(invalid([] { (void)redress::token_backoff({.max = 1ms}); }), "token_backoff", "max", "must be >= base");
    check_invalid(invalid([] { (void)redress::full_jitter({.max = 1ms}); }), "full_jitter", "max", "must be >= base");
    check_invalid(invalid([] { (void)redress::full_jitter({.base = -1ns}); }), "full_jitter", "base", "must be >= 0");
    check_invalid(invalid([] { (void)redress::exponential({.multiplier = 0.5}); }), "exponential", "multiplier",
                  "must be finite and >= 1");
    check_invalid(invalid([] { (void)redress::exponential({.multiplier = std::numeric_limits<double>::infinity()}); }),
                  "exponential", "multiplier", "must be finite and >= 1");
    check_invalid(invalid([] { (void)redress::exponential({.multiplier = std::nan("")}); }), "exponential", "multiplier",
                  "must be finite and >= 1");
    check_invalid(invalid([] { (void)redress::exponential({.base = -1s}); }), "exponential", "base", "must be >= 0");
    check_invalid(invalid([] { (void)redress::exponential({.base = 2s, .max = 1s}); }), "exponential", "max", "must be >= base");
    check_invalid(invalid([] { (void)redress::constant(-1s); }), "constant", "sleep", "must be >= 0");
    check_invalid(invalid([] { (void)redress::linear({.step = -1s}); }), "linear", "step", "must be >= 0");
    check_invalid(invalid([] { (void)redress::linear({.base = -1s}); }), "linear", "base", "must be >= 0");
    check_invalid(invalid([] { (void)redress::linear({.base = 2s, .max = 1s}); }), "linear", "max", "must be >= base");
    check_invalid(invalid([] { (void)redress::retry_after_or(redress::constant(1s), -1ms); }), "retry_after_or", "jitter",
                  "must be >= 0");
    const auto fb = redress::constant(1s);
    check_invalid(invalid([&] { (void)redress::adaptive(fb, {.window = 0s}); }), "adaptive", "window", "must be > 0");
    check_invalid(invalid([&] { (void)redress::adaptive(fb, {.window = Duration::min()}); }), "adaptive", "window", "must be > 0");
    check_invalid(invalid([&] { (void)redress::adaptive(fb, {.target_success = 0.0}); }), "adaptive", "target_success",
                  "must be in (0, 1]");
    check_invalid(invalid([&] { (void)redress::adaptive(fb, {.target_success = 1.5}); }), "adaptive", "target_success",
                  "must be in (0, 1]");
    check_invalid(invalid([&] { (void)redress::adaptive(fb, {.target_success = std::nan("")}); }), "adaptive",
                  "target_success", "must be in (0, 1]");
    check_invalid(invalid([&] { (void)redress::adaptive(fb, {.min_multiplier = 0.0}); }), "adaptive", "min_multiplier",
                  "must be finite and > 0");
    check_invalid(invalid([&] { (void)redress::adaptive(fb, {.min_multiplier = 2.0, .max_multiplier = 1.0}); }), "adaptive",
                  "max_multiplier", "must be finite and >= min_multiplier");
    check_invalid(invalid([&] { (void)redress::adaptive(fb, {.max_multiplier = std::numeric_limits<double>::infinity()}); }),
                  "adaptive", "max_multiplier", "must be finite and >= min_multiplier");
    // InvalidOption is a std::invalid_argument: existing handlers still catch it.
    CHECK_THROWS_AS(redress::full_jitter({.base = -1s}), std::invalid_argument);
    CHECK_NOTHROW(redress::adaptive(fb, {.target_success = 1.0}));
    CHECK_NOTHROW(redress::adaptive(fb, {.window = 1ns}));
    CHECK_NOTHROW(redress::exponential({.base = 0ns, .max = 0ns, .multiplier = 1.0}));
}
