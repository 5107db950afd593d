// The breaker's modes and options beyond the Python original's count mode: the default ratio
// mode, consecutive failures, several half-open probes, recovery growth, snapshot/restore and
// the on_state_change hook.
#include <redress/redress.hpp>
#include <redress/testing/manual_clock.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using redress::BreakerMode;
using redress::BreakerPermit;
using redress::BreakerSnapshot;
using redress::BreakerStateChange;
using redress::BreakerTransition;
using redress::CircuitBreaker;
using redress::CircuitBreakerOptions;
using redress::CircuitState;
using redress::Duration;
using redress::ErrorClass;
using redress::EventName;
using redress::TransitionReason;
using redress::testing::ManualClock;

namespace {

const BreakerTransition opened{EventName::CircuitOpened, CircuitState::Open};
const BreakerTransition half_open{EventName::CircuitHalfOpen, CircuitState::HalfOpen};
const BreakerTransition closed{EventName::CircuitClosed, CircuitState::Closed};
const BreakerTransition rejected_open{EventName::CircuitRejected, CircuitState::Open};
const BreakerTransition rejected_half_open{EventName::CircuitRejected, CircuitState::HalfOpen};

std::optional<BreakerTransition> fail_once(CircuitBreaker& b, ErrorClass klass = ErrorClass::Transient) {
    const auto permit = b.allow();
    REQUIRE(permit.allowed);
    REQUIRE_FALSE(permit.probe);
    return b.record_failure(klass, permit);
}

void succeed(CircuitBreaker& b, int n = 1) {
    for (int i = 0; i < n; ++i) {
        const auto permit = b.allow();
        REQUIRE(permit.allowed);
        REQUIRE_FALSE(b.record_success(permit).has_value());
    }
}

// The option an InvalidOption names, or "" when the options are accepted.
std::string invalid_option(const CircuitBreakerOptions& o) {
    try {
        CircuitBreaker b{o};
    } catch (const redress::InvalidOption& e) {
        CHECK(e.component() == "CircuitBreakerOptions");
        return std::string(e.option());
    }
    return "";
}

// Records every change the hook hears.
struct Changes {
    std::vector<BreakerStateChange> seen;
    std::function<void(const BreakerStateChange&)> hook() {
        return [this](const BreakerStateChange& c) { seen.push_back(c); };
    }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// The default: ratio mode

TEST_CASE("the default breaker stays closed at 10,000 calls with 0.01 % failures") {
    ManualClock clock;
    CircuitBreaker b{{.clock = clock}};
    for (int i = 0; i < 10'000; ++i) {
        if (i % 10'000 == 5'000) {
            CHECK_FALSE(fail_once(b).has_value());
        } else {
            succeed(b);
        }
    }
    CHECK(b.state() == CircuitState::Closed);
    const auto s = b.snapshot();
    CHECK(s.calls == 10'000u);
    CHECK(s.failures == 1);
}

TEST_CASE("the default breaker stays closed through the issue's 5 failures among 80,000 successes, count mode opens") {
    ManualClock clock;
    CircuitBreaker ratio{{.clock = clock}};
    CircuitBreaker count{{.failure_threshold = 5, .clock = clock}};
    for (int i = 0; i < 80'005; ++i) {
        if (i % 16'001 == 0) {  // 5 failures, 80,000 successes
            (void)fail_once(ratio);
            (void)fail_once(count);
        } else {
            succeed(ratio);
            if (count.state() == CircuitState::Closed) succeed(count);
        }
        clock.advance(500us);  // 2,000 calls a second: 40 s in all, inside one window
    }
    CHECK(ratio.state() == CircuitState::Closed);
    CHECK(count.state() == CircuitState::Open);
}

TEST_CASE("the default breaker opens at 50 % failures once the minimum throughput of 100 calls is reached") {
    ManualClock clock;
    CircuitBreaker b{{.clock = clock}};

    SECTION("half the calls failing: opens on the failure that makes it 50 of 100") {
        for (int i = 0; i < 49; ++i) {
            succeed(b);
            REQUIRE_FALSE(fail_once(b).has_value());
        }
        succeed(b);                     // 49 of 99
        CHECK(fail_once(b) == opened);  // 50 of 100
    }

    SECTION("below the minimum throughput even 100 % failures keep it closed") {
        for (int i = 0; i < 99; ++i) REQUIRE_FALSE(fail_once(b).has_value());
        CHECK(b.state() == CircuitState::Closed);
        CHECK(fail_once(b) == opened);  // the 100th call
    }

    SECTION("49 % over the minimum throughput keeps it closed") {
        succeed(b, 51);
        for (int i = 0; i < 49; ++i) REQUIRE_FALSE(fail_once(b).has_value());  // 49 of 100
        CHECK_FALSE(fail_once(b).has_value());                                 // 50 of 101
        CHECK(b.state() == CircuitState::Closed);
        CHECK(fail_once(b) == opened);  // 51 of 102: half
    }
}

TEST_CASE("setting failure_threshold alone gives count mode, modes cannot be combined") {
    CHECK(invalid_option({.failure_threshold = 5, .consecutive_failures = 3}) == "consecutive_failures");
    CHECK(invalid_option({.failure_threshold = 5, .failure_ratio = 0.5}) == "failure_ratio");
    CHECK(invalid_option({.consecutive_failures = 3, .failure_ratio = 0.5}) == "failure_ratio");
    CHECK(invalid_option({.consecutive_failures = 0}) == "consecutive_failures");
    CHECK(invalid_option({.consecutive_failures = CircuitBreakerOptions::max_threshold + 1}) == "consecutive_failures");
    CHECK(invalid_option({.half_open_probes = 0}) == "half_open_probes");
    CHECK(invalid_option({.half_open_probes = CircuitBreakerOptions::max_threshold + 1}) == "half_open_probes");
    CHECK(invalid_option({.close_after = 0}) == "close_after");
    CHECK(invalid_option({.recovery_timeout = 2min,
                          .recovery_backoff = redress::exponential({.base = 1min, .max = 5min}),
                          .max_recovery_timeout = 1min}) == "max_recovery_timeout");
    // Without recovery_backoff the cap is not read, so it is not checked against the timeout.
    CHECK(invalid_option({.recovery_timeout = 2h}).empty());
    CHECK(invalid_option({.consecutive_failures = CircuitBreakerOptions::max_threshold,
                          .half_open_probes = CircuitBreakerOptions::max_threshold,
                          .close_after = CircuitBreakerOptions::max_threshold})
              .empty());
    CHECK_THROWS_AS(CircuitBreaker({.failure_threshold = 5, .failure_ratio = 0.5}), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// Consecutive mode

TEST_CASE("consecutive mode opens after n trip_on failures in a row, a success starts again") {
    ManualClock clock;
    CircuitBreaker b{{.consecutive_failures = 3, .recovery_timeout = 10s, .clock = clock}};
    CHECK(b.mode() == BreakerMode::Consecutive);

    SECTION("a success resets the streak") {
        CHECK_FALSE(fail_once(b).has_value());
        CHECK_FALSE(fail_once(b).has_value());
        succeed(b);
        CHECK_FALSE(fail_once(b).has_value());
        CHECK_FALSE(fail_once(b).has_value());
        CHECK(b.snapshot().failures == 2);
        CHECK(fail_once(b) == opened);
    }

    SECTION("a failure of another class resets it too: the downstream answered") {
        CHECK_FALSE(fail_once(b).has_value());
        CHECK_FALSE(fail_once(b).has_value());
        CHECK_FALSE(fail_once(b, ErrorClass::Auth).has_value());
        CHECK_FALSE(fail_once(b).has_value());
        CHECK_FALSE(fail_once(b).has_value());
        CHECK(fail_once(b, ErrorClass::ServerError) == opened);
    }

    SECTION("there is no window: failures hours apart are still in a row") {
        CHECK_FALSE(fail_once(b).has_value());
        clock.advance(5h);
        CHECK_FALSE(fail_once(b).has_value());
        clock.advance(5h);
        CHECK(fail_once(b) == opened);
    }

    SECTION("the probe closes it and the streak starts from zero") {
        for (int i = 0; i < 2; ++i) (void)fail_once(b);
        REQUIRE(fail_once(b) == opened);
        clock.advance(10s);
        const auto probe = b.allow();
        REQUIRE(probe.probe);
        CHECK(b.record_success(probe) == closed);
        CHECK(b.snapshot().failures == 0);
        CHECK_FALSE(fail_once(b).has_value());
        CHECK_FALSE(fail_once(b).has_value());
        CHECK(fail_once(b) == opened);
    }

    SECTION("class thresholds still open it on their own count in the window") {
        CircuitBreaker c{{.consecutive_failures = 10, .class_thresholds = {{ErrorClass::RateLimit, 2}}, .clock = clock}};
        CHECK_FALSE(fail_once(c, ErrorClass::RateLimit).has_value());
        succeed(c);
        CHECK(fail_once(c, ErrorClass::RateLimit) == opened);
    }
}

// ---------------------------------------------------------------------------------------------
// Half-open with several probes

TEST_CASE("half-open admits half_open_probes at once and closes after close_after successes") {
    ManualClock clock;
    CircuitBreaker b{{.failure_threshold = 1, .recovery_timeout = 10s, .half_open_probes = 3, .close_after = 2, .clock = clock}};
    REQUIRE(fail_once(b) == opened);
    clock.advance(10s);

    const auto p1 = b.allow();
    const auto p2 = b.allow();
    const auto p3 = b.allow();
    CHECK(p1.probe);
    CHECK(p1.transition == half_open);  // only the first reports the change
    CHECK(p2.probe);
    CHECK_FALSE(p2.transition.has_value());
    CHECK(p3.probe);
    CHECK(b.allow().transition == rejected_half_open);  // three in flight
    CHECK(b.snapshot().probes_in_flight == 3);

    SECTION("a success below close_after frees its slot; the second closes") {
        CHECK_FALSE(b.record_success(p1).has_value());
        CHECK(b.state() == CircuitState::HalfOpen);
        CHECK(b.snapshot().probe_successes == 1);
        const auto p4 = b.allow();
        CHECK(p4.probe);
        CHECK_FALSE(b.allow().allowed);
        CHECK(b.record_success(p2) == closed);
        // The other probes' reports now belong to the closed breaker: ordinary calls.
        // (threshold 1: p3's failure is a closed-state failure, and opens it again)
        CHECK(b.record_failure(ErrorClass::Transient, p3) == opened);
        (void)p4;
    }

    SECTION("the first trip_on failure reopens; the others' reports are ignored") {
        CHECK_FALSE(b.record_success(p1).has_value());
        CHECK(b.record_failure(ErrorClass::ServerError, p2) == opened);
        CHECK_FALSE(b.record_success(p3).has_value());
        CHECK(b.state() == CircuitState::Open);
        CHECK(b.allow().transition == rejected_open);
        clock.advance(10s);
        const auto again = b.allow();
        CHECK(again.transition == half_open);
        CHECK(b.snapshot().probe_successes == 0);  // a new half-open period counts afresh
    }

    SECTION("a failure outside trip_on counts as a success") {
        CHECK_FALSE(b.record_failure(ErrorClass::Auth, p1).has_value());
        CHECK(b.record_failure(ErrorClass::Permanent, p2) == closed);
    }

    SECTION("a cancel frees the slot and counts nothing") {
        CHECK_FALSE(b.record_cancel(p1).has_value());
        CHECK(b.snapshot().probes_in_flight == 2);
        CHECK(b.snapshot().probe_successes == 0);
        const auto p4 = b.allow();
        CHECK(p4.probe);
        CHECK_FALSE(p4.transition.has_value());
        CHECK_FALSE(b.record_success(p2).has_value());
        CHECK(b.record_success(p4) == closed);
    }
}

TEST_CASE("close_after above half_open_probes asks for successes one after another") {
    ManualClock clock;
    CircuitBreaker b{{.failure_threshold = 1, .recovery_timeout = 1s, .close_after = 3, .clock = clock}};
    REQUIRE(fail_once(b) == opened);
    clock.advance(1s);
    for (int i = 0; i < 2; ++i) {
        const auto p = b.allow();
        REQUIRE(p.probe);
        CHECK_FALSE(b.allow().allowed);
        CHECK_FALSE(b.record_success(p).has_value());
    }
    const auto last = b.allow();
    CHECK(b.record_success(last) == closed);
}

// ---------------------------------------------------------------------------------------------
// Break duration growth

TEST_CASE("recovery_backoff lengthens each reopening's recovery timeout up to the cap, a close resets it") {
    ManualClock clock;
    CircuitBreaker b{{.failure_threshold = 1,
                      .recovery_timeout = 30s,
                      .recovery_backoff = redress::exponential({.base = 60s, .max = 1h}),
                      .max_recovery_timeout = 5min,
                      .clock = clock}};
    REQUIRE(fail_once(b) == opened);
    // Openings 1..6: 30 s, then the strategy for attempts 1.. (60 s, 120 s, 240 s), capped at 5 min.
    const std::vector<Duration> expected{30s, 60s, 120s, 240s, 300s, 300s};
    for (std::size_t i = 0; i < expected.size(); ++i) {
        INFO("opening " << i + 1);
        const auto s = b.snapshot();
        CHECK(s.openings == static_cast<int>(i + 1));
        CHECK(s.recovery_timeout == expected[i]);
        clock.advance(expected[i] - 1ns);
        CHECK(b.allow().transition == rejected_open);
        clock.advance(1ns);
        const auto probe = b.allow();
        REQUIRE(probe.probe);
        if (i + 1 < expected.size()) REQUIRE(b.record_failure(ErrorClass::Transient, probe) == opened);
        else REQUIRE(b.record_success(probe) == closed);
    }
    CHECK(b.snapshot().openings == 0);
    CHECK(b.snapshot().recovery_timeout == 30s);
    REQUIRE(fail_once(b) == opened);
    clock.advance(30s);
    CHECK(b.allow().probe);

    SECTION("reset() also forgets the growth") {
        (void)b.record_failure(ErrorClass::Transient, BreakerPermit{});  // ignored: not the probe, breaker half-open
        b.reset();
        CHECK(b.snapshot().recovery_timeout == 30s);
        CHECK(b.snapshot().openings == 0);
    }
}

TEST_CASE("without recovery_backoff every opening waits recovery_timeout") {
    ManualClock clock;
    CircuitBreaker b{{.failure_threshold = 1, .recovery_timeout = 30s, .clock = clock}};
    for (int i = 0; i < 4; ++i) {
        if (i == 0) REQUIRE(fail_once(b) == opened);
        CHECK(b.snapshot().recovery_timeout == 30s);
        clock.advance(30s);
        const auto probe = b.allow();
        REQUIRE(probe.probe);
        REQUIRE(b.record_failure(ErrorClass::Transient, probe) == opened);
    }
    CHECK(b.snapshot().openings == 5);
}

// ---------------------------------------------------------------------------------------------
// Snapshot, JSON, restore

TEST_CASE("snapshot reports the state, since when, and the counts of each mode") {
    ManualClock clock;
    const auto t0 = clock.now();

    SECTION("ratio") {
        CircuitBreaker b{{.window = 10s, .failure_ratio = 0.5, .minimum_throughput = 10, .clock = clock}};
        succeed(b, 3);
        (void)fail_once(b);
        (void)fail_once(b, ErrorClass::Auth);  // a call, not a failure
        const auto s = b.snapshot();
        CHECK(s == BreakerSnapshot{.state = CircuitState::Closed,
                                   .since = t0,
                                   .mode = BreakerMode::Ratio,
                                   .failures = 1,
                                   .calls = 5,
                                   .failure_ratio = 0.2,
                                   .recovery_timeout = 30s});
        clock.advance(11s);
        CHECK(b.snapshot().calls == 0u);  // the window has passed
        CHECK_FALSE(b.snapshot().failure_ratio.has_value());
    }

    SECTION("count") {
        CircuitBreaker b{{.failure_threshold = 5, .window = 10s, .clock = clock}};
        (void)fail_once(b);
        clock.advance(5s);
        (void)fail_once(b);
        (void)fail_once(b);
        auto s = b.snapshot();
        CHECK(s.mode == BreakerMode::Count);
        CHECK(s.failures == 3);
        CHECK_FALSE(s.calls.has_value());
        CHECK_FALSE(s.failure_ratio.has_value());
        clock.advance(5s);  // the first is a window old
        CHECK(b.snapshot().failures == 2);
    }

    SECTION("open, then half-open") {
        CircuitBreaker b{{.consecutive_failures = 1, .recovery_timeout = 10s, .half_open_probes = 2, .clock = clock}};
        clock.advance(1s);
        REQUIRE(fail_once(b) == opened);
        auto s = b.snapshot();
        CHECK(s.state == CircuitState::Open);
        CHECK(s.since == t0 + 1s);
        CHECK(s.failures == 0);
        CHECK(s.openings == 1);
        clock.advance(10s);
        (void)b.allow();
        s = b.snapshot();
        CHECK(s.state == CircuitState::HalfOpen);
        CHECK(s.since == t0 + 11s);
        CHECK(s.probes_in_flight == 1);
        b.isolate();
        s = b.snapshot();
        CHECK(s.state == CircuitState::Open);
        CHECK(s.isolated);
        CHECK(s.probes_in_flight == 0);
    }
}

TEST_CASE("to_json writes every field, with null for the empty ones") {
    BreakerSnapshot s{.state = CircuitState::HalfOpen,
                      .since = redress::TimePoint{Duration{123'456'789}},
                      .mode = BreakerMode::Ratio,
                      .failures = 7,
                      .calls = 20,
                      .failure_ratio = 0.35,
                      .probes_in_flight = 2,
                      .probe_successes = 1,
                      .openings = 3,
                      .recovery_timeout = 90s};
    CHECK(redress::to_json(s) ==
          R"({"state":"half_open","isolated":false,"since_ns":123456789,"mode":"ratio","failures":7,"calls":20,)"
          R"("failure_ratio":0.35,"probes_in_flight":2,"probe_successes":1,"openings":3,"recovery_timeout_ns":90000000000})");
    s = BreakerSnapshot{.state = CircuitState::Open, .isolated = true, .mode = BreakerMode::Consecutive};
    CHECK(redress::to_json(s) ==
          R"({"state":"open","isolated":true,"since_ns":0,"mode":"consecutive","failures":0,"calls":null,)"
          R"("failure_ratio":null,"probes_in_flight":0,"probe_successes":0,"openings":0,"recovery_timeout_ns":0})");
}

TEST_CASE("restore brings an open breaker back in a new process: still open until its recovery timeout") {
    ManualClock clock;
    const auto options = CircuitBreakerOptions{.failure_threshold = 1,
                                               .recovery_timeout = 30s,
                                               .recovery_backoff = redress::exponential({.base = 60s, .max = 1h}),
                                               .clock = clock};
    CircuitBreaker before{options};
    REQUIRE(fail_once(before) == opened);
    clock.advance(30s);
    auto probe = before.allow();
    REQUIRE(before.record_failure(ErrorClass::Transient, probe) == opened);  // second opening: 60 s
    clock.advance(20s);
    const auto saved = before.snapshot();

    CircuitBreaker after{options};  // the restarted process
    after.restore(saved);
    CHECK(after.snapshot() == saved);  // the round trip
    CHECK(after.state() == CircuitState::Open);
    clock.advance(40s - 1ns);
    CHECK(after.allow().transition == rejected_open);
    clock.advance(1ns);
    probe = after.allow();
    CHECK(probe.transition == half_open);
    REQUIRE(after.record_failure(ErrorClass::Transient, probe) == opened);
    CHECK(after.snapshot().recovery_timeout == 120s);  // the growth continues where it was
}

TEST_CASE("restore round-trips every state, and forgets what died with the old process") {
    ManualClock clock;
    const CircuitBreakerOptions options{.consecutive_failures = 3, .recovery_timeout = 10s, .half_open_probes = 2,
                                        .close_after = 2, .clock = clock};

    SECTION("closed, with the streak of consecutive mode") {
        CircuitBreaker a{options};
        (void)fail_once(a);
        (void)fail_once(a);
        CircuitBreaker b{options};
        b.restore(a.snapshot());
        CHECK(b.snapshot() == a.snapshot());
        CHECK(fail_once(b) == opened);
    }

    SECTION("half-open: probe successes kept, probes in flight not") {
        CircuitBreaker a{options};
        for (int i = 0; i < 3; ++i) (void)fail_once(a);
        clock.advance(10s);
        const auto p1 = a.allow();
        const auto p2 = a.allow();
        REQUIRE_FALSE(a.record_success(p1).has_value());
        const auto saved = a.snapshot();
        CHECK(saved.probes_in_flight == 1);
        CircuitBreaker b{options};
        b.restore(saved);
        auto expected = saved;
        expected.probes_in_flight = 0;
        CHECK(b.snapshot() == expected);
        const auto p = b.allow();
        CHECK(p.probe);
        CHECK_FALSE(p.transition.has_value());  // already half-open
        CHECK(b.record_success(p) == closed);   // the second success
        // The old process's permit means nothing here.
        CHECK_FALSE(b.record_success(p2).has_value());
    }

    SECTION("isolated") {
        CircuitBreaker a{options};
        a.isolate();
        CircuitBreaker b{options};
        b.restore(a.snapshot());
        CHECK(b.snapshot() == a.snapshot());
        clock.advance(1h);
        CHECK(b.allow().transition == rejected_open);
    }

    SECTION("a permit taken before restore cannot settle the restored period") {
        CircuitBreaker a{options};
        for (int i = 0; i < 3; ++i) (void)fail_once(a);
        clock.advance(10s);
        const auto old_probe = a.allow();
        REQUIRE(old_probe.probe);
        a.restore(a.snapshot());
        CHECK_FALSE(a.record_success(old_probe).has_value());
        CHECK(a.snapshot().probe_successes == 0);
    }

    SECTION("a since ahead of the clock is taken as now") {
        CircuitBreaker a{options};
        for (int i = 0; i < 3; ++i) (void)fail_once(a);
        auto saved = a.snapshot();
        saved.since = clock.now() + 24h;  // another boot's steady clock
        CircuitBreaker b{options};
        b.restore(saved);
        CHECK(b.snapshot().since == clock.now());
        clock.advance(10s - 1ns);
        CHECK_FALSE(b.allow().allowed);
        clock.advance(1ns);
        CHECK(b.allow().probe);
    }

    SECTION("restoring into a breaker of another mode keeps its own mode and counts afresh") {
        CircuitBreaker a{options};
        (void)fail_once(a);
        (void)fail_once(a);
        CircuitBreaker ratio{{.clock = clock}};
        ratio.restore(a.snapshot());
        const auto s = ratio.snapshot();
        CHECK(s.mode == BreakerMode::Ratio);
        CHECK(s.state == CircuitState::Closed);
        CHECK(s.failures == 0);
    }
}

// ---------------------------------------------------------------------------------------------
// on_state_change

TEST_CASE("on_state_change hears every change with its reason and time, and nothing else") {
    ManualClock clock;
    Changes changes;
    CircuitBreaker b{{.failure_threshold = 2, .recovery_timeout = 10s, .on_state_change = changes.hook(), .clock = clock}};
    const auto t0 = clock.now();
    (void)fail_once(b);
    CHECK(changes.seen.empty());
    REQUIRE(fail_once(b) == opened);
    (void)b.allow();  // rejected: no change
    clock.advance(10s);
    auto probe = b.allow();
    (void)b.allow();  // rejected half-open
    REQUIRE(b.record_failure(ErrorClass::Transient, probe) == opened);
    clock.advance(10s);
    probe = b.allow();
    REQUIRE(b.record_cancel(probe) == std::nullopt);  // no change
    probe = b.allow();
    REQUIRE(b.record_success(probe) == closed);
    b.reset();  // closed already: no change
    b.isolate();
    b.reset();
    auto saved = b.snapshot();
    saved.state = CircuitState::Open;
    b.restore(saved);
    b.restore(saved);  // open already: no change

    using C = CircuitState;
    using R = TransitionReason;
    const std::vector<BreakerStateChange> expected{
        {C::Closed, C::Open, R::Failures, t0},
        {C::Open, C::HalfOpen, R::RecoveryElapsed, t0 + 10s},
        {C::HalfOpen, C::Open, R::ProbeFailed, t0 + 10s},
        {C::Open, C::HalfOpen, R::RecoveryElapsed, t0 + 20s},
        {C::HalfOpen, C::Closed, R::ProbesSucceeded, t0 + 20s},
        {C::Closed, C::Open, R::Isolated, t0 + 20s},
        {C::Open, C::Closed, R::Reset, t0 + 20s},
        {C::Closed, C::Open, R::Restored, t0 + 20s},
    };
    CHECK(changes.seen == expected);
}

TEST_CASE("on_state_change may read the breaker, and what it throws is swallowed") {
    ManualClock clock;
    std::vector<CircuitState> seen_inside;
    CircuitBreaker* self = nullptr;
    CircuitBreaker b{{.consecutive_failures = 1,
                      .recovery_timeout = 0s,
                      .on_state_change =
                          [&](const BreakerStateChange& c) {
                              seen_inside.push_back(self->snapshot().state);  // no deadlock: called outside the lock
                              if (c.to == CircuitState::Open) throw std::runtime_error("hook failed");
                          },
                      .clock = clock}};
    self = &b;
    CHECK(fail_once(b) == opened);
    const auto probe = b.allow();
    CHECK(probe.transition == half_open);
    CHECK(b.record_success(probe) == closed);
    CHECK(seen_inside == std::vector<CircuitState>{CircuitState::Open, CircuitState::HalfOpen, CircuitState::Closed});
}

// ---------------------------------------------------------------------------------------------
// Ratio mode on the steady clock: the fast paths of a success

TEST_CASE("on the steady clock a default breaker counts every success, through a policy and by hand") {
    // No sleeping: the steady clock runs, and all calls fall well within the 60 s window.
    redress::CircuitBreaker breaker;
    redress::Policy policy{redress::Retry{.strategy = redress::constant(0ms), .max_attempts = 1}, breaker};
    for (int i = 0; i < 500; ++i) CHECK(policy.call([] { return 1; }) == 1);  // the quiet path: counted at its start
    CHECK(breaker.snapshot().calls == 500u);
    for (int i = 0; i < 500; ++i) {
        const auto p = breaker.allow();
        (void)breaker.record_success(p);  // by hand: the coarse clock tells the bucket
    }
    (void)policy.execute([]() -> int { throw redress::ServerError("503"); });
    const auto s = breaker.snapshot();
    CHECK(s.calls == 1001u);
    CHECK(s.failures == 1u);
    CHECK(breaker.state() == CircuitState::Closed);
}

TEST_CASE("on the steady clock a quiet policy's success does what each mode says") {
    // The quiet path picks what a success records from one precomputed byte: every mode, and
    // the failures around the successes, so that a wrong pick shows in the counts.
    const auto fail = [](const auto& policy) { (void)policy.execute([]() -> int { throw redress::ServerError("503"); }); };
    // One attempt per call, so that each call is one report to the breaker.
    const auto one_attempt = [] { return redress::Retry{.strategy = redress::constant(0ms), .max_attempts = 1}; };
    SECTION("count mode: a success changes nothing, failures keep counting") {
        redress::CircuitBreaker breaker{{.failure_threshold = 3}};
        redress::Policy policy{one_attempt(), breaker};
        fail(policy);
        fail(policy);
        CHECK(policy.call([] { return 1; }) == 1);
        CHECK(breaker.snapshot().failures == 2u);
        CHECK_FALSE(breaker.snapshot().calls.has_value());
        fail(policy);
        CHECK(breaker.state() == CircuitState::Open);
    }
    SECTION("consecutive mode: a success ends the streak") {
        redress::CircuitBreaker breaker{{.consecutive_failures = 3}};
        redress::Policy policy{one_attempt(), breaker};
        fail(policy);
        fail(policy);
        CHECK(policy.call([] { return 1; }) == 1);
        CHECK(breaker.snapshot().failures == 0u);
        fail(policy);
        fail(policy);
        CHECK(breaker.state() == CircuitState::Closed);
        fail(policy);
        CHECK(breaker.state() == CircuitState::Open);
    }
    SECTION("ratio mode: a success is one more call in the window") {
        redress::CircuitBreaker breaker{{.failure_ratio = 0.5, .minimum_throughput = 4}};
        redress::Policy policy{one_attempt(), breaker};
        fail(policy);
        for (int i = 0; i < 3; ++i) CHECK(policy.call([] { return 1; }) == 1);
        CHECK(breaker.snapshot().calls == 4u);
        CHECK(breaker.snapshot().failures == 1u);
        fail(policy);
        CHECK(breaker.state() == CircuitState::Closed);  // 2 of 5
    }
}

TEST_CASE("a quiet success that started a window before the hot bucket is counted there, where it ended") {
    // The quiet path compares its steady start with the hot bucket's end only: a call that
    // started earlier ran into the hot bucket, and is counted in it (as a failure is counted
    // when it is reported), never after it was reported.
    redress::CircuitBreaker breaker;
    auto& core = redress::detail::BreakerAccess::core(breaker);
    const auto now = std::chrono::steady_clock::now();
    for (const auto start : {now, now, now - 60s, now - 1h}) {
        REQUIRE(core.admits(start));
        core.record_admitted_success();
    }
    CHECK(breaker.snapshot().calls == 4u);
}

/// A ratio breaker on a manual clock, and its core: `record_call_at(t)` counts one success
/// read at `t`, as `record_success` does at the clock's reading.
struct RatioAt {
    explicit RatioAt(ManualClock c, Duration window = 32s)
        : clock(c), breaker({.window = window, .failure_ratio = 1.0, .minimum_throughput = 1'000'000, .clock = c}),
          core(redress::detail::BreakerAccess::core(breaker)) {}
    ManualClock clock;
    CircuitBreaker breaker;
    redress::detail::BreakerCore& core;
    void success_at(Duration t) { core.record_call_at((redress::TimePoint{} + t).time_since_epoch().count()); }
    std::uint64_t calls_at(Duration t) {
        clock.advance_to(redress::TimePoint{} + t);
        return breaker.snapshot().calls.value_or(0);
    }
};

TEST_CASE("a success at a bucket's first instant is counted in that bucket, one a nanosecond earlier in the one before") {
    // Window 32 s: 1 s buckets. A bucket ends where the next begins, at every origin.
    for (const Duration origin : {Duration{0}, Duration{std::chrono::hours(24 * 365)}, -Duration{std::chrono::hours(24 * 365 * 200)},
                                  Duration{std::chrono::hours(24 * 365 * 290)}}) {
        INFO("origin " << origin.count());
        RatioAt r(ManualClock(redress::TimePoint{} + origin));
        r.success_at(origin + 10s - 1ns);  // bucket 9 from the origin: it becomes the hot bucket
        r.success_at(origin + 10s);        // bucket 10: at the hot bucket's end, it starts the next
        r.success_at(origin + 10s - 1ns);  // before the hot bucket: counted in it (see above)
        CHECK(r.calls_at(origin + 40s + 999ms) == 3u);  // buckets 9-40
        CHECK(r.calls_at(origin + 41s) == 2u);          // buckets 10-41: the first success left
        CHECK(r.calls_at(origin + 42s) == 0u);
    }
}

TEST_CASE("ratio mode counts only successes for thousands of windows: each bucket leaves the window on time") {
    // Long uptime: 100 windows of 32 buckets, successes only, at random times, some buckets
    // empty; after each bucket the window holds exactly the last 32 buckets' successes. At
    // several origins, the last one near the end of the clock's range (there the buckets are
    // counted under the lock: their end is not representable for the fast path).
    std::mt19937_64 rng(7);
    const Duration width = 5ms;  // window 160 ms
    for (const Duration near : {Duration{std::chrono::hours(24 * 365)}, -Duration{std::chrono::hours(24 * 365 * 290)},
                                Duration::max() - Duration{std::chrono::hours(1)} * 3}) {
        const auto origin = near / width * width;  // a bucket's start: buckets are aligned to the epoch
        INFO("origin " << origin.count());
        RatioAt r(ManualClock(redress::TimePoint{} + origin), 32 * width);
        std::vector<std::uint64_t> per_bucket;
        std::string failure;
        for (int b = 0; b < 100 * 32 && failure.empty(); ++b) {
            const auto n = rng() % 4 == 0 ? 0 : rng() % 20;
            std::vector<Duration> times;
            for (std::uint64_t i = 0; i < n; ++i) times.push_back(origin + b * width + Duration{static_cast<Duration::rep>(rng() % width.count())});
            std::sort(times.begin(), times.end());  // one clock: readings in order
            for (const auto t : times) r.success_at(t);
            per_bucket.push_back(n);
            std::uint64_t expected = 0;
            for (std::size_t i = per_bucket.size() > 32 ? per_bucket.size() - 32 : 0; i < per_bucket.size(); ++i) expected += per_bucket[i];
            const auto got = r.calls_at(origin + b * width + width - 1ns);
            if (got != expected) failure = "bucket " + std::to_string(b) + ": " + std::to_string(got) + " calls, expected " + std::to_string(expected);
        }
        INFO(failure);
        CHECK(failure.empty());
    }
}

TEST_CASE("a success reported after the breaker left closed is not counted, in this period or the next") {
    ManualClock clock;
    CircuitBreaker breaker{{.window = 32s, .recovery_timeout = 10s, .failure_ratio = 0.5, .minimum_throughput = 4, .clock = clock}};
    auto& core = redress::detail::BreakerAccess::core(breaker);
    const auto early = breaker.allow();  // admitted while closed, reported while open
    for (int i = 0; i < 2; ++i) (void)breaker.record_success(breaker.allow());
    (void)fail_once(breaker);
    CHECK(fail_once(breaker) == opened);  // 2 failures in 4 calls
    (void)breaker.record_success(early);
    core.record_call_at(clock.now().time_since_epoch().count());
    core.record_admitted_success();  // (the quiet path's report of a call admitted before)
    CHECK(breaker.snapshot().calls == 0u);  // not closed: no counts to show
    clock.advance(10s);
    const auto probe = breaker.allow();
    (void)breaker.record_success(early);  // still half-open
    CHECK(breaker.record_success(probe) == closed);
    CHECK(breaker.snapshot().calls == 0u);  // the closed period starts empty
    (void)breaker.record_success(breaker.allow());
    CHECK(breaker.snapshot().calls == 1u);
}

TEST_CASE("on the steady clock a quiet success after the breaker opened is not counted, and the gate rejects") {
    CircuitBreaker breaker{{.failure_ratio = 0.5, .minimum_throughput = 2}};
    auto& core = redress::detail::BreakerAccess::core(breaker);
    const auto start = std::chrono::steady_clock::now();
    REQUIRE(core.admits(start));  // admitted while closed...
    (void)breaker.record_success(breaker.allow());
    CHECK(fail_once(breaker) == opened);
    core.record_admitted_success();  // ...reported while open
    CHECK_FALSE(core.admits(std::chrono::steady_clock::now()));
    breaker.reset();
    CHECK(breaker.snapshot().calls == 0u);
    REQUIRE(core.admits(std::chrono::steady_clock::now()));
    core.record_admitted_success();
    CHECK(breaker.snapshot().calls == 1u);
}
