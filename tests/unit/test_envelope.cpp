// redress::envelope: a policy's worst case from its configuration, at compile time for
// RetryLimits, and never exceeded by what a run does in virtual time.
#include <catch2/catch.hpp>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <redress/envelope.hpp>
#include <redress/lint.hpp>
#include <redress/redress.hpp>
#include <redress/testing.hpp>

using namespace std::chrono_literals;
using redress::Duration;
using redress::ErrorClass;
using redress::TimeBound;
using redress::testing::AdvancingSleeper;
using redress::testing::ManualClock;

namespace Catch {
template <>
struct StringMaker<TimeBound> {
    static std::string convert(const TimeBound& b) {
        return b.is_infinite() ? "infinite" : std::to_string(b.saturated().count()) + " ns";
    }
};
}  // namespace Catch

// ---- compile time ------------------------------------------------------------------------

namespace {

// TimeBound: infinity is explicit and above every duration; sums saturate to it.
static_assert(TimeBound(2s) <= 2s && TimeBound(2s) > 1999ms && TimeBound(2s) == 2s);
static_assert(TimeBound::infinite() > Duration::max() && !(TimeBound::infinite() <= Duration::max()));
static_assert(TimeBound(Duration::max()) + TimeBound(1ns) == TimeBound::infinite());
static_assert(TimeBound(Duration::max()) + TimeBound() == Duration::max());
static_assert(TimeBound(Duration::max() / 2) * 3 == TimeBound::infinite());
static_assert(TimeBound::infinite() * 0 == TimeBound() && TimeBound(5ms) * 4 == 20ms);
static_assert(TimeBound(-5s) == TimeBound() && !(TimeBound(-5s) == -5s));

// Each built-in strategy's bound on one sleep, from its options.
constexpr auto exp2 = redress::exponential({.base = 100ms, .max = 1s});
static_assert(exp2.sleep_bound(1, {}) == 100ms && exp2.sleep_bound(4, {}) == 800ms && exp2.sleep_bound(5, {}) == 1s);
static_assert(exp2.sleep_bound(INT_MAX, TimeBound::infinite()) == 1s && exp2.sleep_bound(INT_MIN, {}) == 100ms);
static_assert(redress::full_jitter({.base = 100ms, .max = 1s}).sleep_bound(1, {}) == 200ms);
static_assert(redress::equal_jitter({.base = 100ms, .max = 1s}).sleep_bound(3, {}) == 800ms);
static_assert(redress::full_jitter({.base = 100ms, .max = 1s}).sleep_bound(4, {}) == 1s);
static_assert(redress::constant(250ms).sleep_bound(7, {}) == 250ms);
static_assert(redress::linear({.base = 100ms, .step = 50ms, .max = 300ms}).sleep_bound(3, {}) == 200ms);
static_assert(redress::linear({.base = 100ms, .step = 50ms, .max = 300ms}).sleep_bound(9, {}) == 300ms);
// Decorrelated jitter draws up to 3 × the previous sleep: the bound follows the previous bound.
constexpr auto dj = redress::decorrelated_jitter({.base = 100ms, .max = 1s});
static_assert(dj.sleep_bound(1, {}) == 300ms && dj.sleep_bound(2, 300ms) == 900ms && dj.sleep_bound(3, 900ms) == 1s);
static_assert(dj.sleep_bound(2, TimeBound::infinite()) == 1s);
// Token backoff grows by 1.5: not exact in binary, so the bound may pass the sleep by a nanosecond.
static_assert(redress::token_backoff({.base = 100ms, .max = 20s}).sleep_bound(1, {}) >= 150ms);
static_assert(redress::token_backoff({.base = 100ms, .max = 20s}).sleep_bound(1, {}) <= 150ms + 1ns);
// A server's hint may ask for anything; a lambda states no bound.
static_assert(redress::retry_after_or(exp2).sleep_bound(1, {}).is_infinite());
static_assert(redress::sleep_bound(redress::testing::instant_retries, 1).is_infinite());

// A service's check on its own policy, at compile time.
constexpr redress::RetryLimits checkout{
    .strategy = redress::exponential({.base = 100ms, .max = 1s}),
    .deadline = 2s,
    .attempt_timeout = 500ms,
    .max_attempts = 3,
};
constexpr redress::Envelope checkout_worst = redress::envelope(checkout);
static_assert(checkout_worst.max_attempts == 3 && checkout_worst.max_requests == 3);
static_assert(checkout_worst.max_sleep == 300ms);            // 100 ms + 200 ms
static_assert(checkout_worst.max_time == 1800ms);            // 3 × 500 ms + 300 ms, under 2 s + 500 ms
static_assert(checkout_worst.max_time <= 2s);
static_assert(checkout_worst.max_attempt_time == 500ms && checkout_worst.deadline == 2s);

// The deadline bounds the sleeps, and the time is the deadline plus the last attempt.
constexpr redress::RetryLimits long_backoff{.strategy = redress::constant(10s), .deadline = 3s,
                                            .attempt_timeout = 1s, .max_attempts = 5};
static_assert(redress::envelope(long_backoff).max_sleep == 3s);
static_assert(redress::envelope(long_backoff).max_time == 4s);

// Without attempt_timeout an attempt may run for ever: the time bound is infinite.
constexpr redress::RetryLimits untimed{.strategy = redress::exponential(), .max_attempts = 4};
static_assert(redress::envelope(untimed).max_time.is_infinite());
static_assert(redress::envelope(untimed).max_attempt_time.is_infinite());
static_assert(redress::envelope(untimed).max_sleep == 1750ms);  // 250 + 500 + 1000 ms

// A Retry-After hint is bounded only by the deadline.
constexpr redress::RetryLimits hinted{.strategy = redress::retry_after_or(exp2), .deadline = 5s,
                                      .attempt_timeout = 1s, .max_attempts = 3};
static_assert(redress::envelope(hinted).max_sleep == 5s);
static_assert(redress::envelope(hinted).max_time == 6s);

// A deadline of Duration::max() with unbounded sleeps: the worst case is beyond any Duration.
constexpr redress::RetryLimits forever{.strategy = redress::retry_after_or(exp2), .deadline = Duration::max(),
                                       .attempt_timeout = 1s, .max_attempts = 3};
static_assert(redress::envelope(forever).max_time.is_infinite());
static_assert(redress::envelope(forever).max_sleep == Duration::max());

// Per-class caps lower the attempts only when they cap every retryable class.
constexpr redress::RetryLimits some_capped{.strategy = redress::constant(1ms), .max_attempts = 10,
                                           .per_class_max_attempts = {{ErrorClass::RateLimit, 2}}};
static_assert(redress::envelope(some_capped).max_attempts == 10);
constexpr redress::RetryLimits all_capped{
    .strategy = redress::constant(1ms),
    .max_attempts = 10,
    .max_unknown_attempts = 1,                                   // 1 retry
    .per_class_max_attempts = {{ErrorClass::RateLimit, 2},       // 1 retry
                               {ErrorClass::Concurrency, 1},     // none
                               {ErrorClass::ServerError, 0},     // none
                               {ErrorClass::Transient, 3}},      // 2 retries
};
static_assert(redress::envelope(all_capped).max_attempts == 5);
static_assert(redress::envelope(all_capped).max_sleep == 4ms);
constexpr redress::RetryLimits max_first{.strategy = redress::constant(1ms), .max_attempts = 3,
                                         .max_unknown_attempts = 5,
                                         .per_class_max_attempts = {{ErrorClass::RateLimit, 9},
                                                                    {ErrorClass::Concurrency, 9},
                                                                    {ErrorClass::ServerError, 9},
                                                                    {ErrorClass::Transient, 9}}};
static_assert(redress::envelope(max_first).max_attempts == 3);  // caps never raise max_attempts

// Nested policies: requests multiply, and the inner call's time is each outer attempt's.
constexpr redress::RetryLimits three{.strategy = redress::constant(10ms), .deadline = 1s,
                                     .attempt_timeout = 50ms, .max_attempts = 3};
constexpr redress::Envelope nested = redress::nest(redress::envelope(three), redress::envelope(three));
static_assert(nested.max_requests == 9);
static_assert(nested.max_attempts == 3);
static_assert(nested.max_attempt_time == 50ms);  // the outer timeout (170 ms inner) is shorter
static_assert(redress::nest(redress::envelope(three), redress::envelope(three), redress::envelope(three)).max_requests == 27);
constexpr redress::RetryLimits outer_untimed{.strategy = redress::constant(100ms), .deadline = 10s, .max_attempts = 3};
constexpr redress::Envelope through = redress::nest(redress::envelope(outer_untimed), redress::envelope(three));
static_assert(through.max_attempt_time == 170ms);  // 3 × 50 ms + 2 × 10 ms
static_assert(through.max_time == 710ms);          // 3 × 170 ms + 2 × 100 ms
static_assert(through.max_sleep == 260ms);         // 2 × 100 ms outside, 3 × 20 ms inside
static_assert(redress::envelope(outer_untimed).max_time.is_infinite());  // alone, its attempts are unbounded
// Requests saturate through deep nesting instead of overflowing.
constexpr redress::Envelope wide{.max_attempts = INT_MAX, .max_requests = INT_MAX};
static_assert(redress::nest(wide, wide).max_requests == std::int64_t{INT_MAX} * INT_MAX);
static_assert(redress::nest(wide, wide, wide).max_requests == INT64_MAX);

// ---- virtual time ----------------------------------------------------------------------

/// A failure of the script, classified as its class with its hint.
struct Failure {
    ErrorClass klass;
    std::optional<Duration> retry_after;
};

struct ScriptClassifier {
    redress::Classification operator()(const std::exception_ptr& e) const {
        try {
            std::rethrow_exception(e);
        } catch (const Failure& f) {
            return {f.klass, f.retry_after, {}};
        } catch (...) {
            return {ErrorClass::Unknown, std::nullopt, {}};
        }
    }
};

using AnyRetry = redress::Retry<ScriptClassifier, redress::AnyStrategy>;

/// What one run did: attempts, time to outcome, and the sleeps asked for (the `retry`
/// events' `sleep`).
struct Observed {
    int attempts = 0;
    Duration elapsed{};
    Duration slept{};
    int requests = 0;
};

/// Runs `fn` under `retry` on `clock`, sleeping in virtual time.
template <class R, class F>
Observed run(R retry, const ManualClock& clock, F fn) {
    auto slept = std::make_shared<Duration>();
    retry.clock = clock;
    retry.sleeper = AdvancingSleeper(clock);
    retry.on_metric = [slept](const redress::Event& e) {
        if (e.name == redress::EventName::Retry) *slept += e.sleep;
    };
    redress::Policy policy{retry};
    const auto out = policy.execute(fn);
    return Observed{out.attempts, out.elapsed, *slept, 0};
}

/// Attempts that fail, each taking `cost(attempt, elapsed)` of virtual time.
template <class Cost>
auto failing(const ManualClock& clock, std::shared_ptr<int> calls, Cost cost, ErrorClass klass = ErrorClass::Transient) {
    const auto start = clock.now();
    return [=]() -> int {
        clock.advance(cost(++*calls, clock.now() - start));
        throw Failure{klass, std::nullopt};
    };
}

redress::AnyStrategy random_strategy(std::mt19937_64& rng) {
    auto ms = [&](int lo, int hi) { return Duration(std::chrono::milliseconds(std::uniform_int_distribution<int>(lo, hi)(rng))); };
    const Duration base = ms(0, 300);
    const Duration max = base + ms(0, 3000);
    switch (std::uniform_int_distribution<int>(0, 8)(rng)) {
        case 0: return redress::exponential({.base = base, .max = max});
        case 1: return redress::exponential({.base = base, .max = max, .multiplier = 1.7});
        case 2: return redress::constant(base);
        case 3: return redress::linear({.base = base, .step = ms(0, 200), .max = max});
        case 4: return redress::full_jitter({.base = base, .max = max});
        case 5: return redress::equal_jitter({.base = base, .max = max});
        case 6: return redress::token_backoff({.base = base, .max = max});
        case 7: return redress::retry_after_or(redress::decorrelated_jitter({.base = base, .max = max}), ms(0, 100));
        default: return redress::decorrelated_jitter({.base = base, .max = max});
    }
}

}  // namespace

TEST_CASE("envelope of a built policy is the envelope of the limits it was built from") {
    const redress::Policy policy{checkout.retry()};
    CHECK(redress::envelope(policy) == checkout_worst);
    CHECK(redress::envelope(checkout.retry()) == checkout_worst);
    // The same settings type-erased, as a RetryConfig shares them: the wrapped strategy's bound.
    const redress::RetryConfig config{.strategy = checkout.strategy, .deadline = 2s, .attempt_timeout = 500ms,
                                      .max_attempts = 3};
    CHECK(redress::envelope(config) == checkout_worst);
    CHECK(redress::envelope(all_capped.retry()) == redress::envelope(all_capped));
}

TEST_CASE("envelope counts the per-class strategies a retry may use, and no others") {
    auto r = checkout.retry();
    r.strategies = {{ErrorClass::RateLimit, redress::constant(1s)}};
    CHECK(redress::envelope(r).max_sleep == 2s);  // 1 s + 1 s
    r.per_class_max_attempts = {{ErrorClass::RateLimit, 1}};  // RateLimit never retries: its strategy is unused
    CHECK(redress::envelope(r).max_sleep == 300ms);
    r.strategies = {{ErrorClass::Permanent, redress::constant(1s)}};  // never retried
    CHECK(redress::envelope(r).max_sleep == 300ms);
    // Only per-class strategies: the classes without one stop at their first failure.
    const AnyRetry only_rate{.strategies = {{ErrorClass::RateLimit, redress::constant(50ms)}},
                             .attempt_timeout = 1s, .max_attempts = 5,
                             .per_class_max_attempts = {{ErrorClass::RateLimit, 3}}};
    CHECK(redress::envelope(only_rate).max_attempts == 3);
    CHECK(redress::envelope(only_rate).max_sleep == 100ms);
}

TEST_CASE("envelope of a strategy without a bound is bounded by the deadline") {
    auto custom = [](const redress::BackoffContext&) { return Duration(1s); };
    const redress::Retry r{.classifier = ScriptClassifier{}, .strategy = custom, .deadline = 7s,
                           .attempt_timeout = 1s, .max_attempts = 100};
    CHECK(redress::envelope(r).max_sleep == 7s);
    CHECK(redress::envelope(r).max_time == 8s);
    const redress::RetryConfig erased{.strategy = redress::AnyStrategy(custom), .deadline = 7s, .max_attempts = 2};
    CHECK(redress::envelope(erased).max_sleep == 7s);
    CHECK(redress::envelope(erased).max_time.is_infinite());
}

TEST_CASE("envelope of a breaker-only policy is one request with no bound on time") {
    const redress::Policy policy{redress::CircuitBreaker{}};
    const auto e = redress::envelope(policy);
    CHECK(e.max_attempts == 1);
    CHECK(e.max_requests == 1);
    CHECK(e.max_sleep == 0s);
    CHECK(e.max_time.is_infinite());
    // With a retry, the breaker adds nothing.
    const redress::Policy both{checkout.retry(), redress::CircuitBreaker{}};
    CHECK(redress::envelope(both) == checkout_worst);
}

TEST_CASE("envelope of RetryLimits a policy refuses throws InvalidOption naming the option") {
    auto bad = checkout;
    bad.max_attempts = 0;
    CHECK_THROWS_AS(redress::envelope(bad), redress::InvalidOption);
    bad = checkout;
    bad.attempt_timeout = 0s;
    CHECK_THROWS_AS(redress::envelope(bad), redress::InvalidOption);
    bad = checkout;
    bad.per_class_max_attempts = {{ErrorClass::RateLimit, -1}};
    CHECK_THROWS_AS(redress::envelope(bad), redress::InvalidOption);
}

TEST_CASE("envelope stays exact or above the truth for millions of attempts and extreme durations") {
    // Past 1024 retries the rest are bounded by the strategy's last bound: above the exact sum.
    const redress::RetryLimits many{.strategy = redress::linear({.base = 0ms, .step = 1ms, .max = 10s}),
                                    .deadline = Duration::max(), .attempt_timeout = 1ms, .max_attempts = 5000};
    double exact_ms = 0;
    for (int k = 1; k < 5000; ++k) exact_ms += std::min(10000.0, static_cast<double>(k - 1));
    const auto e = redress::envelope(many);
    CHECK(e.max_sleep >= Duration(std::chrono::milliseconds(static_cast<long long>(exact_ms))));
    CHECK(e.max_sleep <= 4999 * Duration(10s));
    // Capped growth reaches its cap: the rest is exact.
    const redress::RetryLimits capped{.strategy = redress::exponential({.base = 1ms, .max = 1s}),
                                      .deadline = Duration::max(), .attempt_timeout = 1ms, .max_attempts = INT_MAX};
    CHECK(redress::envelope(capped).max_sleep ==
          Duration(1023ms) + Duration(std::chrono::seconds(static_cast<long long>(INT_MAX) - 11)));
    // Every duration a user can give: no overflow, infinity only beyond Duration::max().
    for (Duration d : {Duration(1), Duration(1s), Duration(std::chrono::hours(24 * 365)), Duration::max() / 3,
                       Duration::max() / 2, Duration::max() - Duration(1), Duration::max()}) {
        const redress::RetryLimits l{.strategy = redress::constant(d), .deadline = d, .attempt_timeout = d,
                                     .max_attempts = INT_MAX};
        const auto w = redress::envelope(l);
        CHECK(w.max_sleep == d);
        CHECK(w.max_time == (d <= Duration::max() / 2 ? TimeBound(2 * d) : TimeBound::infinite()));
    }
}

TEST_CASE("a deterministic strategy's bound is its sleep, to the nanosecond above at most") {
    std::mt19937_64 rng(42);
    for (int i = 0; i < 2000; ++i) {
        const Duration base(std::uniform_int_distribution<std::int64_t>(0, 10'000'000'000)(rng));
        const Duration max = base + Duration(std::uniform_int_distribution<std::int64_t>(0, 100'000'000'000)(rng));
        const double multiplier = std::uniform_real_distribution<double>(1.0, 4.0)(rng);
        const int attempt = std::uniform_int_distribution<int>(1, 80)(rng);
        redress::BackoffContext ctx;
        ctx.attempt = attempt;
        for (const auto& s : {redress::exponential({.base = base, .max = max, .multiplier = multiplier}),
                              redress::exponential({.base = base, .max = max}),
                              redress::exponential({.base = base, .max = max, .multiplier = 3.0})}) {
            const Duration sleep = s(ctx);
            const TimeBound bound = s.sleep_bound(attempt, {});
            REQUIRE(bound >= sleep);
            REQUIRE(bound <= sleep + Duration(1));
            if (s.options().multiplier == 2.0) REQUIRE(bound == sleep);
        }
        const auto lin = redress::linear({.base = base, .step = base / 3, .max = max});
        REQUIRE(lin.sleep_bound(attempt, {}) == lin(ctx));
    }
}

TEST_CASE("a jittered strategy never sleeps past its bound") {
    std::mt19937_64 rng(7);
    redress::seed_random(7);
    for (int i = 0; i < 300; ++i) {
        const redress::AnyStrategy s = random_strategy(rng);
        TimeBound prev_bound{};
        std::optional<Duration> prev{};
        for (int attempt = 1; attempt <= 12; ++attempt) {
            redress::BackoffContext ctx;
            ctx.attempt = attempt;
            ctx.prev_sleep = prev;
            const TimeBound bound = s.sleep_bound(attempt, prev_bound);
            for (int draw = 0; draw < 20; ++draw) REQUIRE(bound >= s(ctx));
            prev = s(ctx);
            prev_bound = bound;
        }
    }
    // adaptive: the fallback's bound times max_multiplier, after any failure rate.
    const auto adaptive = redress::adaptive(redress::constant(100ms), {.max_multiplier = 3.0});
    CHECK(adaptive.sleep_bound(1, {}) >= 300ms);
    CHECK(adaptive.sleep_bound(1, {}) <= 300ms + 1us);
    for (int i = 0; i < 100; ++i) adaptive.on_failure();
    CHECK(adaptive.sleep_bound(1, {}) >= adaptive(redress::BackoffContext{}));
}

TEST_CASE("a run in virtual time never exceeds its envelope, over random configurations and scripts") {
    std::mt19937_64 rng(2024);
    redress::seed_random(2024);
    auto ms = [&](int lo, int hi) { return Duration(std::chrono::milliseconds(std::uniform_int_distribution<int>(lo, hi)(rng))); };
    constexpr ErrorClass classes[] = {ErrorClass::Transient, ErrorClass::Transient, ErrorClass::ServerError,
                                      ErrorClass::RateLimit, ErrorClass::Concurrency, ErrorClass::Unknown,
                                      ErrorClass::Permanent};
    int reached_attempts = 0;
    for (int i = 0; i < 2000; ++i) {
        AnyRetry r{.strategy = random_strategy(rng),
                   .deadline = ms(1, 8000),
                   .attempt_timeout = ms(1, 1500),
                   .max_attempts = std::uniform_int_distribution<int>(1, 9)(rng)};
        if (rng() % 3 == 0) r.strategies = {{ErrorClass::RateLimit, random_strategy(rng)}};
        if (rng() % 3 == 0) r.per_class_max_attempts = {{ErrorClass::Transient, std::uniform_int_distribution<int>(0, 5)(rng)}};
        if (rng() % 4 == 0) r.max_unknown_attempts = std::nullopt;
        const auto envelope = redress::envelope(r);

        // The script: each attempt takes up to attempt_timeout and fails with a random class
        // and, sometimes, a server hint; some scripts end with a success.
        ManualClock clock;
        const Duration timeout = *r.attempt_timeout;
        const int succeed_at = std::uniform_int_distribution<int>(1, 14)(rng);
        std::vector<std::pair<Duration, Failure>> steps;
        for (int k = 0; k < 16; ++k) {
            const Duration cost(std::uniform_int_distribution<std::int64_t>(0, timeout.count())(rng));
            std::optional<Duration> hint;
            if (rng() % 3 == 0) hint = ms(0, 3000);
            steps.push_back({cost, Failure{classes[rng() % std::size(classes)], hint}});
        }
        auto calls = std::make_shared<int>(0);
        const auto seen = run(r, clock, [&, calls]() -> int {
            const auto& [cost, failure] = steps[static_cast<std::size_t>((*calls)++)];
            clock.advance(cost);
            if (*calls == succeed_at) return 1;
            throw failure;
        });
        INFO("run " << i << ": attempts " << seen.attempts << ", elapsed " << seen.elapsed.count() << " ns, slept "
                    << seen.slept.count() << " ns");
        REQUIRE(seen.attempts <= envelope.max_attempts);
        REQUIRE(*calls <= envelope.max_requests);
        REQUIRE(envelope.max_sleep >= seen.slept);
        REQUIRE(envelope.max_time >= seen.elapsed);
        reached_attempts += seen.attempts == envelope.max_attempts ? 1 : 0;
    }
    CHECK(reached_attempts > 100);  // the scripts do push runs to the bound
}

TEST_CASE("a worst-case script reaches the envelope exactly") {
    ManualClock clock;
    SECTION("every attempt fails at its timeout: the attempts, the sleeps and the time bounds") {
        const redress::RetryLimits limits{.strategy = redress::exponential({.base = 100ms, .max = 1s}),
                                          .deadline = 10s, .attempt_timeout = 200ms, .max_attempts = 5};
        const auto e = redress::envelope(limits);
        auto calls = std::make_shared<int>(0);
        const auto seen = run(limits.retry(ScriptClassifier{}), clock, failing(clock, calls, [](int, Duration) { return Duration(200ms); }));
        CHECK(seen.attempts == e.max_attempts);
        CHECK(*calls == e.max_requests);
        CHECK(e.max_sleep == seen.slept);  // 100 + 200 + 400 + 800 ms
        CHECK(e.max_time == seen.elapsed);  // 5 × 200 ms + 1.5 s
        CHECK(seen.elapsed == 2500ms);
    }
    SECTION("the deadline cuts the sleeps, and the last attempt runs past it") {
        const redress::RetryLimits limits{.strategy = redress::constant(1s), .deadline = 2500ms,
                                          .attempt_timeout = 300ms, .max_attempts = 10};
        const auto e = redress::envelope(limits);
        auto calls = std::make_shared<int>(0);
        // Instant attempts use the whole deadline for sleeps; the one that starts at the deadline takes its timeout.
        const auto seen = run(limits.retry(ScriptClassifier{}), clock,
                              failing(clock, calls, [](int, Duration spent) { return spent >= 2500ms ? Duration(300ms) : Duration(0); }));
        CHECK(e.max_sleep == seen.slept);
        CHECK(e.max_time == seen.elapsed);
        CHECK(seen.elapsed == 2800ms);
    }
    SECTION("a server's hints fill the deadline") {
        const redress::RetryLimits limits{.strategy = redress::retry_after_or(redress::constant(0ms), 0ms),
                                          .deadline = 3s, .attempt_timeout = 100ms, .max_attempts = 4};
        const auto e = redress::envelope(limits);
        auto calls = std::make_shared<int>(0);
        const auto start = clock.now();
        const auto seen = run(limits.retry(ScriptClassifier{}), clock, [&, calls]() -> int {
            ++*calls;
            const Duration left = 3s - (clock.now() - start);
            if (left <= 0s) clock.advance(100ms);
            throw Failure{ErrorClass::RateLimit, left};  // exactly the time left: the longest wait allowed
        });
        CHECK(e.max_sleep == 3s);
        CHECK(seen.slept == 3s);
        CHECK(e.max_time == seen.elapsed);
    }
}

TEST_CASE("two nested 3-attempt policies send 9 requests, within the nested envelope") {
    ManualClock clock;
    auto requests = std::make_shared<int>(0);
    auto inner_limits = three.retry(ScriptClassifier{});
    inner_limits.clock = clock;
    inner_limits.sleeper = AdvancingSleeper(clock);
    const redress::Policy inner{inner_limits};
    auto outer_retry = outer_untimed.retry(ScriptClassifier{});
    // Every request fails at its timeout: the worst case at both levels.
    const auto seen = run(outer_retry, clock, [&]() -> int {
        return inner.call([&]() -> int {
            ++*requests;
            clock.advance(50ms);
            throw Failure{ErrorClass::Transient, std::nullopt};
        });
    });
    CHECK(*requests == 9);
    CHECK(*requests == through.max_requests);
    CHECK(seen.attempts == through.max_attempts);
    CHECK(seen.elapsed == through.max_time);  // 710 ms
    CHECK(seen.slept == 200ms);               // the outer sleeps (the inner ones are not its events)
    CHECK(redress::nest(redress::envelope(redress::Policy{outer_retry}), redress::envelope(inner)) == through);
}

TEST_CASE("lint notes a policy whose time has no bound") {
    auto untimed_retry = untimed.retry();
    auto report = redress::lint(untimed_retry);
    REQUIRE(report.has("time-unbounded"));
    CHECK(report.clean());  // a note: the operation may bound itself, which lint cannot see
    REQUIRE(report.notes.size() == 1);
    CHECK(report.notes[0].option == "attempt_timeout");
    CHECK_FALSE(redress::lint(checkout.retry()).has("time-unbounded"));
    CHECK(redress::lint(redress::Policy{untimed_retry}).has("time-unbounded"));
    CHECK(redress::lint(redress::RetryConfig{.strategy = redress::constant(1s)}).has("time-unbounded"));
    CHECK_FALSE(redress::lint(redress::RetryConfig{.strategy = redress::constant(1s), .attempt_timeout = 1s}).has("time-unbounded"));
    // Timed, but beyond Duration::max(): the deadline is the option to lower.
    auto huge = forever.retry();
    REQUIRE(redress::lint(huge).has("time-unbounded"));
    CHECK(redress::lint(huge).notes[0].option == "deadline");
}
