#include <redress/testing/fake_circuit_breaker.hpp>

#include <catch2/catch.hpp>

#include <optional>

using redress::BreakerTransition;
using redress::CircuitState;
using redress::ErrorClass;
using redress::EventName;
using redress::testing::BreakerDecision;
using redress::testing::FakeCircuitBreaker;

namespace {

// The members a policy calls, with the real breaker's signatures.
template <class B>
concept SameShapeAsCircuitBreaker = requires(B& b, const B& cb, const redress::BreakerPermit& p, ErrorClass k) {
    { b.allow() } -> std::same_as<redress::BreakerPermit>;
    { b.record_success(p) } -> std::same_as<std::optional<BreakerTransition>>;
    { b.record_failure(k, p) } -> std::same_as<std::optional<BreakerTransition>>;
    { b.record_cancel(p) } -> std::same_as<std::optional<BreakerTransition>>;
    { cb.state() } -> std::same_as<CircuitState>;
    b.isolate();
    b.reset();
    { cb.options() } -> std::same_as<const redress::CircuitBreakerOptions&>;
    { cb.snapshot() } -> std::same_as<redress::BreakerSnapshot>;
    b.restore(cb.snapshot());
    { cb.mode() } -> std::same_as<redress::BreakerMode>;
};

}  // namespace

TEST_CASE("fake breaker has the real breaker's members") {
    STATIC_REQUIRE(SameShapeAsCircuitBreaker<redress::CircuitBreaker>);
    STATIC_REQUIRE(SameShapeAsCircuitBreaker<FakeCircuitBreaker>);
}

TEST_CASE("fake breaker answers its script in order, then the fallback") {
    FakeCircuitBreaker fake;
    fake.script({BreakerDecision::Allow, BreakerDecision::Reject, BreakerDecision::Probe});
    CHECK(fake.pending() == 3);

    auto p = fake.allow();
    CHECK(p.allowed);
    CHECK_FALSE(p.probe);
    CHECK_FALSE(p.transition.has_value());

    p = fake.allow();
    CHECK_FALSE(p.allowed);
    CHECK(p.transition == BreakerTransition{EventName::CircuitRejected, CircuitState::Open});
    CHECK(fake.state() == CircuitState::Open);

    p = fake.allow();
    CHECK(p.allowed);
    CHECK(p.probe);
    CHECK(p.transition == BreakerTransition{EventName::CircuitHalfOpen, CircuitState::HalfOpen});
    CHECK(fake.state() == CircuitState::HalfOpen);

    CHECK(fake.allow().allowed);  // script exhausted: Allow
    CHECK(fake.allow_calls() == 4);
    CHECK(fake.rejections() == 1);
    CHECK(fake.pending() == 0);
}

TEST_CASE("fake breaker always() answers one decision forever") {
    FakeCircuitBreaker fake{BreakerDecision::Allow};
    fake.always(BreakerDecision::Reject);
    for (int i = 0; i < 5; ++i) CHECK_FALSE(fake.allow().allowed);
    CHECK(fake.rejections() == 5);
}

TEST_CASE("fake breaker counts reports and answers probe outcomes like the real one") {
    FakeCircuitBreaker fake;
    FakeCircuitBreaker observer = fake;  // the test keeps a copy while the policy holds another

    const auto plain = fake.allow();
    CHECK_FALSE(fake.record_success(plain).has_value());
    CHECK_FALSE(fake.record_failure(ErrorClass::Transient, plain).has_value());
    CHECK_FALSE(fake.record_cancel(plain).has_value());

    fake.always(BreakerDecision::Probe);
    SECTION("probe success closes") {
        CHECK(fake.record_success(fake.allow()) == BreakerTransition{EventName::CircuitClosed, CircuitState::Closed});
        CHECK(observer.state() == CircuitState::Closed);
    }
    SECTION("probe trip_on failure reopens") {
        CHECK(fake.record_failure(ErrorClass::ServerError, fake.allow()) ==
              BreakerTransition{EventName::CircuitOpened, CircuitState::Open});
        CHECK(observer.last_failure_class() == ErrorClass::ServerError);
    }
    SECTION("probe failure outside trip_on closes") {
        CHECK(fake.record_failure(ErrorClass::Auth, fake.allow()) ==
              BreakerTransition{EventName::CircuitClosed, CircuitState::Closed});
    }
    SECTION("set_trip_on changes what a probe failure means") {
        fake.set_trip_on({ErrorClass::Auth});
        CHECK(fake.record_failure(ErrorClass::Auth, fake.allow()) ==
              BreakerTransition{EventName::CircuitOpened, CircuitState::Open});
    }

    CHECK(observer.allow_calls() == 2);
    CHECK(observer.successes() + observer.failures() == 3);
    CHECK(observer.cancels() == 1);
}

TEST_CASE("fake breaker isolate rejects until reset, keeping the script") {
    FakeCircuitBreaker fake{BreakerDecision::Probe};
    fake.isolate();
    CHECK(fake.state() == CircuitState::Open);
    CHECK_FALSE(fake.allow().allowed);
    CHECK(fake.pending() == 1);
    fake.reset();
    CHECK(fake.state() == CircuitState::Closed);
    CHECK(fake.allow().probe);
    CHECK(fake.isolate_calls() == 1);
    CHECK(fake.reset_calls() == 1);
}

TEST_CASE("fake breaker set_state sets what state() reports") {
    FakeCircuitBreaker fake;
    fake.set_state(CircuitState::HalfOpen);
    CHECK(fake.state() == CircuitState::HalfOpen);
    CHECK(fake.allow().state == CircuitState::HalfOpen);
}

TEST_CASE("fake breaker snapshots its state and restores a snapshot's state, counting restores") {
    FakeCircuitBreaker fake;
    CHECK(fake.options().failure_ratio == redress::CircuitBreakerOptions::default_failure_ratio);
    CHECK(fake.mode() == redress::BreakerMode::Ratio);
    auto s = fake.snapshot();
    CHECK(s.state == CircuitState::Closed);
    CHECK_FALSE(s.isolated);
    CHECK(s.recovery_timeout == redress::CircuitBreakerOptions{}.recovery_timeout);
    fake.isolate();
    s = fake.snapshot();
    CHECK(s.state == CircuitState::Open);
    CHECK(s.isolated);

    FakeCircuitBreaker restarted;
    restarted.restore(s);
    CHECK(restarted.restore_calls() == 1);
    CHECK(restarted.state() == CircuitState::Open);
    CHECK_FALSE(restarted.allow().allowed);  // isolated: rejects
    restarted.reset();
    CHECK(restarted.allow().allowed);
}
