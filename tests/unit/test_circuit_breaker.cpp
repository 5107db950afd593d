#include <redress/circuit_breaker.hpp>
#include <redress/errors.hpp>
#include <redress/testing/manual_clock.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>

using namespace std::chrono_literals;
using redress::BreakerPermit;
using redress::BreakerTransition;
using redress::CircuitBreaker;
using redress::CircuitState;
using redress::ErrorClass;
using redress::EventName;
using redress::testing::ManualClock;

namespace {

const BreakerTransition opened{EventName::CircuitOpened, CircuitState::Open};
const BreakerTransition half_open{EventName::CircuitHalfOpen, CircuitState::HalfOpen};
const BreakerTransition closed{EventName::CircuitClosed, CircuitState::Closed};
const BreakerTransition rejected_open{EventName::CircuitRejected, CircuitState::Open};
const BreakerTransition rejected_half_open{EventName::CircuitRejected, CircuitState::HalfOpen};

// Runs one allowed call that fails with `klass`; returns what the failure report said.
std::optional<BreakerTransition> fail_once(CircuitBreaker& b, ErrorClass klass = ErrorClass::Transient) {
    const auto permit = b.allow();
    REQUIRE(permit.allowed);
    return b.record_failure(klass, permit);
}

// Opens `b` with `n` transient failures and checks the last one reported the opening.
void open_with(CircuitBreaker& b, int n) {
    for (int i = 1; i < n; ++i) REQUIRE_FALSE(fail_once(b).has_value());
    REQUIRE(fail_once(b) == opened);
    REQUIRE(b.state() == CircuitState::Open);
}

// "component option: what()" of the InvalidOption a breaker built from `o` throws, or "".
std::string invalid_message(const redress::CircuitBreakerOptions& o) {
    try {
        CircuitBreaker b{o};
    } catch (const redress::InvalidOption& e) {
        return std::string(e.component()) + " " + std::string(e.option()) + ": " + e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("breaker options accept designated initializers as users write them") {
    redress::CircuitBreaker b{{.failure_threshold = 5, .window = 60s, .recovery_timeout = 30s}};
    CHECK(b.options().failure_threshold == 5);
    CHECK(b.options().window == 60s);
    CHECK(b.options().recovery_timeout == 30s);
    CHECK(b.state() == CircuitState::Closed);
    STATIC_REQUIRE_FALSE(std::is_convertible_v<redress::CircuitBreakerOptions, CircuitBreaker>);
}

TEST_CASE("breaker defaults: ratio 0.5 over at least 100 calls, window 60 s, recovery 30 s, one probe") {
    CircuitBreaker b;
    const auto& o = b.options();
    CHECK(b.mode() == redress::BreakerMode::Ratio);
    CHECK(o.failure_ratio == 0.5);
    CHECK(o.minimum_throughput == 100);
    CHECK_FALSE(o.failure_threshold.has_value());
    CHECK_FALSE(o.consecutive_failures.has_value());
    CHECK(o.window == 60s);
    CHECK(o.recovery_timeout == 30s);
    CHECK(o.trip_on == redress::ErrorClassSet{ErrorClass::Transient, ErrorClass::ServerError});
    CHECK(o.half_open_probes == 1);
    CHECK(o.close_after == 1);
    CHECK_FALSE(static_cast<bool>(o.recovery_backoff));
    CHECK(CircuitBreaker{{.failure_threshold = 5}}.mode() == redress::BreakerMode::Count);
    CHECK(CircuitBreaker{{.consecutive_failures = 5}}.mode() == redress::BreakerMode::Consecutive);
    CHECK(CircuitBreaker{{.failure_ratio = 0.2}}.mode() == redress::BreakerMode::Ratio);
}

TEST_CASE("invalid breaker options throw InvalidOption naming the option") {
    const std::string prefix = "CircuitBreakerOptions ";
    CHECK(invalid_message({.failure_threshold = 0}) ==
          prefix + "failure_threshold: redress: CircuitBreakerOptions::failure_threshold must be in [1, 10000] (is 0)");
    CHECK(invalid_message({.window = 0s}) == prefix + "window: redress: CircuitBreakerOptions::window must be > 0");
    CHECK_THAT(invalid_message({.window = -1s}), Catch::StartsWith(prefix + "window: "));
    CHECK(invalid_message({.recovery_timeout = -1ms}) ==
          prefix + "recovery_timeout: redress: CircuitBreakerOptions::recovery_timeout must be >= 0");
    CHECK_THAT(invalid_message({.trip_on = {static_cast<ErrorClass>(8)}}), Catch::StartsWith(prefix + "trip_on: "));
    CHECK(invalid_message({.class_thresholds = {{ErrorClass::RateLimit, 0}}}) ==
          prefix + "class_thresholds: redress: CircuitBreakerOptions::class_thresholds must be in [1, 10000] "
                   "(class RATE_LIMIT has 0)");
    CHECK_THAT(invalid_message({.failure_ratio = 0.0}), Catch::StartsWith(prefix + "failure_ratio: "));
    CHECK_THAT(invalid_message({.failure_ratio = 1.5}), Catch::StartsWith(prefix + "failure_ratio: "));
    CHECK_THAT(invalid_message({.failure_ratio = std::numeric_limits<double>::quiet_NaN()}),
               Catch::StartsWith(prefix + "failure_ratio: "));
    CHECK(invalid_message({.failure_ratio = 0.5, .minimum_throughput = 0}) ==
          prefix + "minimum_throughput: redress: CircuitBreakerOptions::minimum_throughput must be >= 1 (is 0)");
    CHECK(invalid_message({.recovery_timeout = 0s, .failure_ratio = 1.0}).empty());
    // Still a std::invalid_argument for handlers written before InvalidOption.
    CHECK_THROWS_AS(CircuitBreaker({.failure_threshold = 0}), std::invalid_argument);
}

TEST_CASE("breaker walks closed, open, half-open and closed with one event per transition") {
    ManualClock clock;
    CircuitBreaker b{{.failure_threshold = 3, .window = 60s, .recovery_timeout = 30s, .clock = clock}};

    SECTION("closed admits and reports nothing") {
        const auto p = b.allow();
        CHECK(p.allowed);
        CHECK_FALSE(p.probe);
        CHECK(p.state == CircuitState::Closed);
        CHECK_FALSE(p.transition.has_value());
        CHECK_FALSE(b.record_success(p).has_value());
    }

    open_with(b, 3);

    // Open: rejected until recovery_timeout has passed since the opening.
    clock.advance(29s);
    auto p = b.allow();
    CHECK_FALSE(p.allowed);
    CHECK(p.state == CircuitState::Open);
    CHECK(p.transition == rejected_open);

    // The lazy state: still reported Open after the timeout, until a call arrives.
    clock.advance(1s);
    CHECK(b.state() == CircuitState::Open);

    auto probe = b.allow();
    CHECK(probe.allowed);
    CHECK(probe.probe);
    CHECK(probe.state == CircuitState::HalfOpen);
    CHECK(probe.transition == half_open);
    CHECK(b.state() == CircuitState::HalfOpen);

    // Half-open: everyone else is rejected while the probe runs.
    p = b.allow();
    CHECK_FALSE(p.allowed);
    CHECK(p.transition == rejected_half_open);

    SECTION("probe success closes it and clears the counts") {
        CHECK(b.record_success(probe) == closed);
        CHECK(b.state() == CircuitState::Closed);
        // Counts were cleared: two more failures do not reopen a threshold-3 breaker.
        CHECK_FALSE(fail_once(b).has_value());
        CHECK_FALSE(fail_once(b).has_value());
        CHECK(b.state() == CircuitState::Closed);
        CHECK(fail_once(b) == opened);
    }

    SECTION("probe failure of a trip_on class reopens it with a fresh recovery timeout") {
        clock.advance(5s);
        CHECK(b.record_failure(ErrorClass::ServerError, probe) == opened);
        CHECK(b.state() == CircuitState::Open);
        clock.advance(29s);
        CHECK_FALSE(b.allow().allowed);
        clock.advance(1s);
        CHECK(b.allow().transition == half_open);
    }

    SECTION("Divergence: probe failure outside trip_on closes it like a success") {
        CHECK(b.record_failure(ErrorClass::Auth, probe) == closed);
        CHECK(b.state() == CircuitState::Closed);
        CHECK(b.allow().allowed);
    }

    SECTION("a cancelled probe frees the slot without a state change") {
        CHECK_FALSE(b.record_cancel(probe).has_value());
        CHECK(b.state() == CircuitState::HalfOpen);
        auto next = b.allow();
        CHECK(next.allowed);
        CHECK(next.probe);
        CHECK_FALSE(next.transition.has_value());  // already half-open: no second event
        CHECK_FALSE(b.allow().allowed);           // and it holds the only slot
        CHECK(b.record_success(next) == closed);
    }
}

TEST_CASE("zero recovery timeout lets the very next call probe") {
    ManualClock clock;
    CircuitBreaker b{{.failure_threshold = 1, .recovery_timeout = 0s, .clock = clock}};
    open_with(b, 1);
    const auto probe = b.allow();
    CHECK(probe.probe);
    CHECK(probe.transition == half_open);
}

TEST_CASE("successes do not reset the failure count in closed state") {
    ManualClock clock;
    CircuitBreaker b{{.failure_threshold = 3, .clock = clock}};
    CHECK_FALSE(fail_once(b).has_value());
    for (int i = 0; i < 10; ++i) {
        const auto p = b.allow();
        CHECK_FALSE(b.record_success(p).has_value());
    }
    CHECK_FALSE(fail_once(b).has_value());
    CHECK(fail_once(b) == opened);
}

TEST_CASE("only trip_on classes count toward the threshold") {
    ManualClock clock;
    CircuitBreaker b{{.failure_threshold = 2, .trip_on = {ErrorClass::RateLimit}, .clock = clock}};
    for (int i = 0; i < 5; ++i) {
        CHECK_FALSE(fail_once(b, ErrorClass::Transient).has_value());
        CHECK_FALSE(fail_once(b, ErrorClass::Permanent).has_value());
    }
    CHECK(b.state() == CircuitState::Closed);
    CHECK_FALSE(fail_once(b, ErrorClass::RateLimit).has_value());
    CHECK(fail_once(b, ErrorClass::RateLimit) == opened);
}

TEST_CASE("the rolling window forgets old failures") {
    ManualClock clock;
    CircuitBreaker b{{.failure_threshold = 3, .window = 10s, .clock = clock}};
    CHECK_FALSE(fail_once(b).has_value());  // t = 0
    clock.advance(5s);
    CHECK_FALSE(fail_once(b).has_value());  // t = 5
    clock.advance(5s);
    // t = 10: the first failure is exactly one window old and no longer counts.
    CHECK_FALSE(fail_once(b).has_value());
    CHECK(b.state() == CircuitState::Closed);
    clock.advance(4s);
    // t = 14: failures at 5, 10, 14 are within 10 s.
    CHECK(fail_once(b) == opened);
}

TEST_CASE("a class threshold opens the breaker on its own and adds its class to trip_on") {
    ManualClock clock;
    CircuitBreaker b{{.failure_threshold = 10,
                      .trip_on = {ErrorClass::Transient},
                      .class_thresholds = {{ErrorClass::RateLimit, 2}},
                      .clock = clock}};
    CHECK(b.options().trip_on.contains(ErrorClass::RateLimit));
    CHECK(b.options().trip_on.contains(ErrorClass::Transient));

    SECTION("two rate-limit failures open it") {
        CHECK_FALSE(fail_once(b, ErrorClass::RateLimit).has_value());
        CHECK_FALSE(fail_once(b, ErrorClass::Transient).has_value());
        CHECK(fail_once(b, ErrorClass::RateLimit) == opened);
    }

    SECTION("class-threshold failures also count toward failure_threshold") {
        CircuitBreaker c{{.failure_threshold = 3,
                          .trip_on = {ErrorClass::Transient},
                          .class_thresholds = {{ErrorClass::RateLimit, 5}},
                          .clock = clock}};
        CHECK_FALSE(fail_once(c, ErrorClass::RateLimit).has_value());
        CHECK_FALSE(fail_once(c, ErrorClass::RateLimit).has_value());
        CHECK(fail_once(c, ErrorClass::Transient) == opened);
    }

    SECTION("the class count obeys the window too") {
        CHECK_FALSE(fail_once(b, ErrorClass::RateLimit).has_value());
        clock.advance(60s);
        CHECK_FALSE(fail_once(b, ErrorClass::RateLimit).has_value());
        CHECK(b.state() == CircuitState::Closed);
    }
}

TEST_CASE("a rejection is not recorded and late reports from before the opening are ignored") {
    ManualClock clock;
    CircuitBreaker b{{.failure_threshold = 2, .recovery_timeout = 10s, .clock = clock}};
    const auto early1 = b.allow();
    const auto early2 = b.allow();
    open_with(b, 2);

    const auto rejected = b.allow();
    REQUIRE_FALSE(rejected.allowed);
    CHECK_FALSE(b.record_failure(ErrorClass::Transient, rejected).has_value());
    CHECK_FALSE(b.record_success(rejected).has_value());
    CHECK_FALSE(b.record_cancel(rejected).has_value());

    // Calls admitted before the opening finish now: nothing changes.
    CHECK_FALSE(b.record_failure(ErrorClass::Transient, early1).has_value());
    CHECK_FALSE(b.record_success(early2).has_value());
    CHECK(b.state() == CircuitState::Open);

    clock.advance(10s);
    const auto probe = b.allow();
    CHECK(probe.probe);
    CHECK(b.record_success(probe) == closed);
}

TEST_CASE("copies of a breaker share one state") {
    ManualClock clock;
    CircuitBreaker a{{.failure_threshold = 2, .clock = clock}};
    CircuitBreaker b = a;
    CHECK_FALSE(fail_once(a).has_value());
    CHECK(fail_once(b) == opened);
    CHECK(a.state() == CircuitState::Open);
    CircuitBreaker moved = std::move(b);
    CHECK(moved.state() == CircuitState::Open);
    CHECK(b.state() == CircuitState::Open);  // NOLINT(bugprone-use-after-move): a moved handle stays valid
}

TEST_CASE("isolate forces the breaker open until reset") {
    ManualClock clock;
    CircuitBreaker b{{.failure_threshold = 2, .recovery_timeout = 1s, .clock = clock}};

    SECTION("from closed") {
        b.isolate();
        CHECK(b.state() == CircuitState::Open);
        clock.advance(1h);
        const auto p = b.allow();
        CHECK_FALSE(p.allowed);
        CHECK(p.transition == rejected_open);
        b.reset();
        CHECK(b.state() == CircuitState::Closed);
        CHECK(b.allow().allowed);
    }

    SECTION("a probe reported after isolate cannot close it") {
        open_with(b, 2);
        clock.advance(1s);
        const auto probe = b.allow();
        REQUIRE(probe.probe);
        b.isolate();
        CHECK_FALSE(b.record_success(probe).has_value());
        CHECK(b.state() == CircuitState::Open);
        CHECK_FALSE(b.allow().allowed);
    }

    SECTION("a stale probe cannot free the slot of a newer probe") {
        open_with(b, 2);
        clock.advance(1s);
        const auto old_probe = b.allow();
        REQUIRE(old_probe.probe);
        b.reset();
        open_with(b, 2);
        clock.advance(1s);
        const auto new_probe = b.allow();
        REQUIRE(new_probe.probe);
        CHECK_FALSE(b.record_cancel(old_probe).has_value());
        CHECK_FALSE(b.allow().allowed);  // the new probe still holds the slot
        CHECK(b.record_success(new_probe) == closed);
    }
}

TEST_CASE("reset closes the breaker and clears the counts") {
    ManualClock clock;
    CircuitBreaker b{{.failure_threshold = 3, .clock = clock}};
    CHECK_FALSE(fail_once(b).has_value());
    CHECK_FALSE(fail_once(b).has_value());
    b.reset();
    CHECK_FALSE(fail_once(b).has_value());
    CHECK_FALSE(fail_once(b).has_value());
    CHECK(fail_once(b) == opened);
    b.reset();
    CHECK(b.state() == CircuitState::Closed);
    CHECK(b.allow().allowed);
}

TEST_CASE("ratio mode opens at the failure ratio once minimum throughput is reached") {
    ManualClock clock;
    CircuitBreaker b{{.window = 10s, .failure_ratio = 0.5, .minimum_throughput = 4, .clock = clock}};

    SECTION("below the minimum throughput nothing opens, even at 100 % failures") {
        CHECK_FALSE(fail_once(b).has_value());
        CHECK_FALSE(fail_once(b).has_value());
        CHECK_FALSE(fail_once(b).has_value());
        CHECK(b.state() == CircuitState::Closed);
        CHECK(fail_once(b) == opened);  // 4 calls, 4 failures
    }

    SECTION("successes and non-trip_on failures count as calls") {
        for (int i = 0; i < 3; ++i) {
            const auto p = b.allow();
            CHECK_FALSE(b.record_success(p).has_value());
        }
        CHECK_FALSE(fail_once(b, ErrorClass::Permanent).has_value());  // a call, not a failure
        CHECK_FALSE(fail_once(b).has_value());                         // 1 of 5
        CHECK_FALSE(fail_once(b).has_value());                         // 2 of 6
        CHECK_FALSE(fail_once(b).has_value());                         // 3 of 7
        CHECK(fail_once(b) == opened);                                 // 4 of 8 = 0.5
    }

    SECTION("failure_threshold does not apply in ratio mode") {
        for (int i = 0; i < 20; ++i) {
            const auto p = b.allow();
            (void)b.record_success(p);
        }
        for (int i = 0; i < 10; ++i) CHECK_FALSE(fail_once(b).has_value());  // 10 of 30
        CHECK(b.state() == CircuitState::Closed);
    }

    SECTION("old calls leave the window") {
        for (int i = 0; i < 10; ++i) {
            const auto p = b.allow();
            (void)b.record_success(p);
        }
        clock.advance(11s);
        for (int i = 0; i < 3; ++i) CHECK_FALSE(fail_once(b).has_value());
        CHECK(fail_once(b) == opened);  // the 10 successes are forgotten: 4 of 4
    }

    SECTION("the probe and the counts after closing behave as in count mode") {
        for (int i = 0; i < 3; ++i) (void)fail_once(b);
        REQUIRE(fail_once(b) == opened);
        clock.advance(30s);
        const auto probe = b.allow();
        REQUIRE(probe.probe);
        CHECK(b.record_success(probe) == closed);
        CHECK_FALSE(fail_once(b).has_value());  // counts cleared: 1 of 1 is below the minimum
    }
}
