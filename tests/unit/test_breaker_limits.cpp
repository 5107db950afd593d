// The circuit breaker and the ErrorClass vocabulary at the edges: values outside the eight
// classes, thresholds at and above the cap.
#include <redress/circuit_breaker.hpp>
#include <redress/errors.hpp>
#include <redress/testing/manual_clock.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <climits>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using redress::BreakerPermit;
using redress::BreakerTransition;
using redress::CircuitBreaker;
using redress::CircuitBreakerOptions;
using redress::CircuitState;
using redress::Duration;
using redress::ErrorClass;
using redress::ErrorClassSet;
using redress::EventName;
using redress::TimePoint;
using redress::testing::ManualClock;

namespace {

constexpr ErrorClass cls(int v) noexcept { return static_cast<ErrorClass>(v); }

// Values outside the eight classes, from just past the end to the extremes of int; 32 and 40
// are where `1U << value` was undefined, 8-31 where the bit fell off a uint8_t.
const std::vector<int> out_of_range_values{8, 9, 15, 16, 31, 32, 33, 40, 63, 64, 255, 256, 1 << 20, -1, -8, INT_MAX, INT_MIN};

const std::vector<ErrorClass> all_classes{ErrorClass::Auth,      ErrorClass::Permission,  ErrorClass::Permanent,
                                          ErrorClass::Concurrency, ErrorClass::RateLimit, ErrorClass::ServerError,
                                          ErrorClass::Transient, ErrorClass::Unknown};

}  // namespace

// ---------------------------------------------------------------------------------------------
// The vocabulary: values outside the eight classes

TEST_CASE("ErrorClassSet holds only the eight classes; any other value is dropped and clears valid()") {
    // Usable in constant expressions, with out-of-range values too (no undefined shift).
    constexpr ErrorClassSet bad{cls(40)};
    STATIC_REQUIRE_FALSE(bad.valid());
    STATIC_REQUIRE(bad.empty());
    STATIC_REQUIRE_FALSE(bad.contains(cls(40)));
    constexpr ErrorClassSet good{ErrorClass::Auth, ErrorClass::Unknown};
    STATIC_REQUIRE(good.valid());
    STATIC_REQUIRE(good.size() == 2);

    for (const int v : out_of_range_values) {
        INFO("value " << v);
        ErrorClassSet s{cls(v)};
        CHECK_FALSE(s.valid());
        CHECK_FALSE(s.contains(cls(v)));
        CHECK(s.empty());
        CHECK(s.size() == 0);
        for (const auto k : all_classes) CHECK_FALSE(s.contains(k));  // no bit of a real class was set

        ErrorClassSet t{ErrorClass::Transient};
        t.insert(cls(v));
        t.erase(cls(v));  // erasing a non-class is a no-op: it neither removes a class nor revalidates
        CHECK(t.contains(ErrorClass::Transient));
        CHECK(t.size() == 1);
        CHECK_FALSE(t.valid());
        CHECK(t != ErrorClassSet{ErrorClass::Transient});
    }
    for (const auto k : all_classes) {
        ErrorClassSet s{k};
        CHECK(s.valid());
        CHECK(s.contains(k));
        CHECK(s.size() == 1);
        s.erase(k);
        CHECK(s.empty());
        CHECK(s.valid());
    }
}

TEST_CASE("PerClass lookups are total: a value outside ErrorClass is never found and never terminates") {
    redress::PerClass<int> table{{ErrorClass::RateLimit, 3}, {ErrorClass::Unknown, 7}};
    STATIC_REQUIRE(noexcept(table.find(cls(8))));
    STATIC_REQUIRE(noexcept(table.contains(cls(8))));
    STATIC_REQUIRE(noexcept(table.erase(cls(8))));
    for (const int v : out_of_range_values) {
        INFO("value " << v);
        CHECK(table.find(cls(v)) == nullptr);
        CHECK_FALSE(table.contains(cls(v)));
        table.erase(cls(v));
        CHECK_THROWS_AS(table.set(cls(v), 1), std::invalid_argument);
        CHECK_THROWS_AS((redress::PerClass<int>{{cls(v), 1}}), std::invalid_argument);
        // A class_thresholds key outside ErrorClass never reaches the breaker.
        CHECK_THROWS_AS((CircuitBreakerOptions{.class_thresholds = {{cls(v), 3}}}), std::invalid_argument);
    }
    // The real entries are untouched.
    REQUIRE(table.find(ErrorClass::RateLimit) != nullptr);
    CHECK(*table.find(ErrorClass::RateLimit) == 3);
    CHECK(*table.find(ErrorClass::Unknown) == 7);
    CHECK_FALSE(table.contains(ErrorClass::Auth));
}

// ---------------------------------------------------------------------------------------------
// The breaker's options and inputs: classes outside the eight, thresholds

namespace {

constexpr int cap = CircuitBreakerOptions::max_threshold;

const BreakerTransition opened{EventName::CircuitOpened, CircuitState::Open};
const BreakerTransition half_open{EventName::CircuitHalfOpen, CircuitState::HalfOpen};
const BreakerTransition closed{EventName::CircuitClosed, CircuitState::Closed};
const BreakerTransition rejected_open{EventName::CircuitRejected, CircuitState::Open};
const BreakerTransition rejected_half_open{EventName::CircuitRejected, CircuitState::HalfOpen};

// The InvalidOption a breaker built from `o` throws, if any.
std::optional<redress::InvalidOption> invalid(const CircuitBreakerOptions& o) {
    try {
        CircuitBreaker b{o};
    } catch (const redress::InvalidOption& e) {
        return e;
    }
    return std::nullopt;
}

// Runs one allowed call that fails with `klass`; returns what the failure report said.
std::optional<BreakerTransition> fail_once(CircuitBreaker& b, ErrorClass klass = ErrorClass::Transient) {
    const auto permit = b.allow();
    REQUIRE(permit.allowed);
    return b.record_failure(klass, permit);
}

}  // namespace

TEST_CASE("a breaker rejects a trip_on holding a value outside ErrorClass, naming trip_on") {
    for (const int v : out_of_range_values) {
        INFO("value " << v);
        const auto e = invalid({.trip_on = {ErrorClass::Transient, cls(v)}});
        REQUIRE(e.has_value());
        CHECK(e->component() == "CircuitBreakerOptions");
        CHECK(e->option() == "trip_on");
        CHECK_THAT(std::string(e->what()), Catch::StartsWith("redress: CircuitBreakerOptions::trip_on "));
    }
    // Every subset of the eight classes is accepted.
    for (unsigned mask = 0; mask < 256; ++mask) {
        ErrorClassSet s;
        for (unsigned i = 0; i < 8; ++i)
            if ((mask >> i & 1U) != 0) s.insert(cls(static_cast<int>(i)));
        CHECK_FALSE(invalid({.trip_on = s}).has_value());
    }
}

TEST_CASE("record_failure counts a class outside ErrorClass as Unknown") {
    for (const int v : out_of_range_values) {
        INFO("value " << v);
        ManualClock clock;

        // Not counted when Unknown is not in trip_on (the default).
        CircuitBreaker plain{{.failure_threshold = 1, .clock = clock}};
        for (int i = 0; i < 5; ++i) CHECK_FALSE(fail_once(plain, cls(v)).has_value());
        CHECK(plain.state() == CircuitState::Closed);

        // Counted when Unknown is in trip_on, together with Unknown itself.
        CircuitBreaker unknown{{.failure_threshold = 2, .trip_on = {ErrorClass::Unknown}, .clock = clock}};
        CHECK_FALSE(fail_once(unknown, cls(v)).has_value());
        CHECK(fail_once(unknown, ErrorClass::Unknown) == opened);

        // Counted against Unknown's own threshold.
        CircuitBreaker own{{.failure_threshold = 100, .class_thresholds = {{ErrorClass::Unknown, 2}}, .clock = clock}};
        CHECK_FALSE(fail_once(own, ErrorClass::Unknown).has_value());
        CHECK(fail_once(own, cls(v)) == opened);

        // A probe failing with it closes the breaker (outside trip_on)...
        CircuitBreaker probed{{.failure_threshold = 1, .recovery_timeout = 1s, .clock = clock}};
        REQUIRE(fail_once(probed) == opened);
        clock.advance(1s);
        auto probe = probed.allow();
        REQUIRE(probe.probe);
        CHECK(probed.record_failure(cls(v), probe) == closed);
        // ...or reopens it when Unknown trips.
        CircuitBreaker reopened{{.failure_threshold = 1, .recovery_timeout = 1s, .trip_on = {ErrorClass::Unknown}, .clock = clock}};
        REQUIRE(fail_once(reopened, ErrorClass::Unknown) == opened);
        clock.advance(1s);
        probe = reopened.allow();
        REQUIRE(probe.probe);
        CHECK(reopened.record_failure(cls(v), probe) == opened);

        // Ratio mode: a call that is not a failure...
        CircuitBreaker ratio{{.failure_ratio = 0.5, .minimum_throughput = 2, .clock = clock}};
        CHECK_FALSE(fail_once(ratio, cls(v)).has_value());
        CHECK(fail_once(ratio) == opened);  // 1 failure of 2 calls
        // ...or a failure when Unknown trips.
        CircuitBreaker ratio_unknown{{.trip_on = {ErrorClass::Unknown}, .failure_ratio = 1.0, .minimum_throughput = 2, .clock = clock}};
        CHECK_FALSE(fail_once(ratio_unknown, cls(v)).has_value());  // 1 of 1, below the throughput
        CHECK(fail_once(ratio_unknown, cls(v)) == opened);           // 2 of 2
    }
}

TEST_CASE("thresholds below 1 or above max_threshold are rejected with InvalidOption naming the option") {
    STATIC_REQUIRE(cap == 10'000);
    for (const int n : {0, -1, INT_MIN, cap + 1, 1'000'000, INT_MAX}) {
        INFO("threshold " << n);
        auto e = invalid({.failure_threshold = n});
        REQUIRE(e.has_value());
        CHECK(e->component() == "CircuitBreakerOptions");
        CHECK(e->option() == "failure_threshold");
        CHECK_THAT(std::string(e->what()), Catch::Contains("(is " + std::to_string(n) + ")"));
        // Validated in ratio mode too, where the count is unused: the option is wrong either way.
        e = invalid({.failure_threshold = n, .failure_ratio = 0.5});
        REQUIRE(e.has_value());
        CHECK(e->option() == "failure_threshold");

        e = invalid({.class_thresholds = {{ErrorClass::RateLimit, n}}});
        REQUIRE(e.has_value());
        CHECK(e->component() == "CircuitBreakerOptions");
        CHECK(e->option() == "class_thresholds");
        CHECK_THAT(std::string(e->what()), Catch::Contains("RATE_LIMIT"));
    }
    CHECK_FALSE(invalid({.failure_threshold = 1}).has_value());
    CHECK_FALSE(invalid({.failure_threshold = cap}).has_value());
    CHECK_FALSE(invalid({.class_thresholds = {{ErrorClass::RateLimit, cap}}}).has_value());
}

TEST_CASE("count mode is exact at the threshold cap") {
    ManualClock clock;
    SECTION("failure_threshold") {
        CircuitBreaker b{{.failure_threshold = cap, .window = 1h, .clock = clock}};
        CHECK_FALSE(fail_once(b).has_value());  // t = 0
        clock.advance(1s);
        for (int i = 2; i < cap; ++i) REQUIRE_FALSE(fail_once(b).has_value());  // cap - 2 at t = 1 s
        clock.advance(1h - 1s);
        // t = 1 h: cap failures, but the first is exactly one window old.
        CHECK_FALSE(fail_once(b).has_value());
        CHECK(fail_once(b) == opened);  // cap - 2 at 1 s, 2 at 1 h: all within the window
    }
    SECTION("a class threshold") {
        CircuitBreaker b{{.failure_threshold = cap, .window = 1h, .class_thresholds = {{ErrorClass::RateLimit, cap}}, .clock = clock}};
        for (int i = 1; i < cap; ++i) REQUIRE_FALSE(fail_once(b, ErrorClass::RateLimit).has_value());
        CHECK(fail_once(b, ErrorClass::RateLimit) == opened);
    }
}

TEST_CASE("minimum_throughput at INT_MAX never lets the ratio open, and a class threshold still does") {
    ManualClock clock;
    CircuitBreaker b{{.window = 1h,
                      .class_thresholds = {{ErrorClass::RateLimit, 3}},
                      .failure_ratio = 1e-9,
                      .minimum_throughput = INT_MAX,
                      .clock = clock}};
    for (int i = 0; i < 1000; ++i) REQUIRE_FALSE(fail_once(b).has_value());
    CHECK(b.state() == CircuitState::Closed);
    CHECK_FALSE(fail_once(b, ErrorClass::RateLimit).has_value());
    CHECK_FALSE(fail_once(b, ErrorClass::RateLimit).has_value());
    CHECK(fail_once(b, ErrorClass::RateLimit) == opened);
}
