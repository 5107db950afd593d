// The ErrorClass vocabulary at the edges: values outside the eight classes.
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
