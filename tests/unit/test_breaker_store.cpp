// CircuitBreaker with a BreakerStore: several breakers sharing one InMemoryBreakerStore stand
// in for the processes of a fleet (docs/circuit_breaker.md, "Sharing one breaker across
// processes"). One manual clock times the breakers and the store, so every time is exact.
#include <redress/circuit_breaker.hpp>
#include <redress/errors.hpp>
#include <redress/redress.hpp>
#include <redress/testing.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "recorder.hpp"

using namespace std::chrono_literals;
using redress::BreakerPermit;
using redress::BreakerStateChange;
using redress::BreakerTransition;
using redress::CircuitBreaker;
using redress::CircuitState;
using redress::Duration;
using redress::ErrorClass;
using redress::EventName;
using redress::TimePoint;
using redress::TransitionReason;
using redress::testing::InMemoryBreakerStore;
using redress::testing::ManualClock;

namespace {

const BreakerTransition opened{EventName::CircuitOpened, CircuitState::Open};
const BreakerTransition half_open{EventName::CircuitHalfOpen, CircuitState::HalfOpen};
const BreakerTransition closed{EventName::CircuitClosed, CircuitState::Closed};
const BreakerTransition rejected_open{EventName::CircuitRejected, CircuitState::Open};

using C = CircuitState;
using R = TransitionReason;

// Four breakers, one per "process", sharing a store: count mode (2 failures in 60 s), 30 s
// recovery, refreshed every second, a 10 s probe lease.
struct Fleet {
    ManualClock clock;
    TimePoint t0 = clock.now();
    std::shared_ptr<InMemoryBreakerStore> store = std::make_shared<InMemoryBreakerStore>(clock);
    std::array<std::vector<BreakerStateChange>, 4> heard;
    std::vector<CircuitBreaker> breakers;

    explicit Fleet(std::shared_ptr<InMemoryBreakerStore> shared = nullptr) {
        if (shared) store = std::move(shared);
        for (std::size_t i = 0; i < 4; ++i) breakers.emplace_back(options(heard[i]));
    }

    redress::CircuitBreakerOptions options(std::vector<BreakerStateChange>& out) {
        return {.failure_threshold = 2,
                .window = 60s,
                .recovery_timeout = 30s,
                .on_state_change = [&out](const BreakerStateChange& c) { out.push_back(c); },
                .clock = clock,
                .store = store,
                .store_refresh = 1s,
                .store_lease = 10s};
    }

    void at(Duration since_t0) { clock.advance_to(t0 + since_t0); }

    // One call on every breaker that must be admitted as a plain call, reported a success.
    void all_succeed() {
        for (auto& b : breakers) {
            const auto p = b.allow();
            REQUIRE(p.allowed);
            REQUIRE_FALSE(p.probe);
            REQUIRE_FALSE(b.record_success(p).has_value());
        }
    }

    // At t0 every breaker reads the store (closed); at t0 + 100 ms breaker 0 opens on two
    // failures and publishes the opening; at t0 + 1 s the others learn it.
    void open_from_breaker_0() {
        all_succeed();
        at(100ms);
        auto& b0 = breakers[0];
        auto p = b0.allow();
        REQUIRE_FALSE(b0.record_failure(ErrorClass::Transient, p).has_value());
        p = b0.allow();
        REQUIRE(b0.record_failure(ErrorClass::Transient, p) == opened);
        at(1s);
        for (std::size_t i = 1; i < 4; ++i) REQUIRE(breakers[i].allow().transition == opened);
    }
};

}  // namespace

TEST_CASE("fleet: failures in one process open every breaker at its next refresh, exactly one interval later") {
    Fleet f;
    f.all_succeed();  // t0: each breaker's first call reads the store
    CHECK(f.store->calls() == 4);

    f.at(100ms);
    auto& b0 = f.breakers[0];
    auto p = b0.allow();
    CHECK_FALSE(b0.record_failure(ErrorClass::Transient, p).has_value());
    p = b0.allow();
    CHECK(b0.record_failure(ErrorClass::Transient, p) == opened);
    CHECK(f.heard[0] == std::vector<BreakerStateChange>{{C::Closed, C::Open, R::Failures, f.t0 + 100ms}});
    const auto record = f.store->peek();
    CHECK(record.open);
    CHECK(record.generation == 1);
    CHECK(record.recovery_timeout == 30s);
    CHECK(b0.snapshot().fleet);

    // Until t0 + 1 s the others decide on their cache: admitted, no store call.
    const auto calls = f.store->calls();
    f.at(1s - 1ns);
    for (std::size_t i = 1; i < 4; ++i) {
        const auto q = f.breakers[i].allow();
        CHECK(q.allowed);
        CHECK_FALSE(q.transition.has_value());
        (void)f.breakers[i].record_success(q);
    }
    CHECK(f.store->calls() == calls);

    // At t0 + 1 s each refreshes once, opens (reason fleet), and rejects that very call.
    f.at(1s);
    for (std::size_t i = 1; i < 4; ++i) {
        auto& b = f.breakers[i];
        const auto q = b.allow();
        CHECK_FALSE(q.allowed);
        CHECK(q.state == C::Open);
        CHECK(q.transition == opened);
        CHECK(b.state() == C::Open);
        CHECK(f.heard[i] == std::vector<BreakerStateChange>{{C::Closed, C::Open, R::Fleet, f.t0 + 1s}});
        const auto s = b.snapshot();
        CHECK(s.since == f.t0 + 100ms);  // when the fleet opened, on the store's clock
        CHECK(s.recovery_timeout == 30s);
        CHECK(s.fleet);
        CHECK(s.store_unavailable == 0U);
        CHECK(b.allow().transition == rejected_open);  // later calls: rejected, no store call
    }
    CHECK(f.store->calls() == calls + 3);
}

TEST_CASE("fleet: after the recovery timeout exactly one probe runs across the fleet, and its success closes every breaker") {
    Fleet f;
    f.open_from_breaker_0();
    const auto due = 100ms + 30s;

    f.at(due - 1ns);
    for (auto& b : f.breakers)
        for (int k = 0; k < 3; ++k) CHECK(b.allow().transition == rejected_open);

    // At the fleet's due time every breaker is asked many times: one probe in all.
    f.at(due);
    int probes = 0;
    std::optional<BreakerPermit> probe;
    std::size_t holder = 0;
    for (int round = 0; round < 5; ++round) {
        for (std::size_t i = 0; i < 4; ++i) {
            const auto p = f.breakers[i].allow();
            if (!p.allowed) continue;
            ++probes;
            CHECK(p.probe);
            CHECK(p.transition == half_open);
            probe = p;
            holder = i;
        }
    }
    REQUIRE(probes == 1);
    CHECK(f.store->grants() == 1);
    CHECK(holder == 0);  // the first asked

    // The probe succeeds: its breaker closes, and so does the fleet's record.
    CHECK(f.breakers[holder].record_success(*probe) == closed);
    CHECK_FALSE(f.store->peek().open);

    // The others asked for the lease at `due` and were refused: they learn one interval later.
    f.at(due + 1s - 1ns);
    for (std::size_t i = 1; i < 4; ++i) CHECK(f.breakers[i].allow().transition == rejected_open);
    f.at(due + 1s);
    for (std::size_t i = 1; i < 4; ++i) {
        const auto p = f.breakers[i].allow();
        CHECK(p.allowed);
        CHECK_FALSE(p.probe);
        CHECK(p.transition == closed);
        (void)f.breakers[i].record_success(p);
        CHECK(f.heard[i].back() == BreakerStateChange{C::Open, C::Closed, R::Fleet, f.t0 + due + 1s});
        CHECK_FALSE(f.breakers[i].snapshot().fleet);
    }
    CHECK(f.heard[0] == std::vector<BreakerStateChange>{{C::Closed, C::Open, R::Failures, f.t0 + 100ms},
                                                        {C::Open, C::HalfOpen, R::RecoveryElapsed, f.t0 + due},
                                                        {C::HalfOpen, C::Closed, R::ProbesSucceeded, f.t0 + due}});
    f.all_succeed();
}

TEST_CASE("fleet: a failed probe reopens the fleet, and the next probe is again one, a recovery timeout later") {
    Fleet f;
    f.open_from_breaker_0();
    const auto due = 100ms + 30s;
    f.at(due);
    // Breaker 2 asks first this time: the probe is its.
    const auto probe = f.breakers[2].allow();
    REQUIRE(probe.probe);
    for (std::size_t i : {0U, 1U, 3U}) CHECK_FALSE(f.breakers[i].allow().allowed);

    f.at(due + 500ms);
    CHECK(f.breakers[2].record_failure(ErrorClass::ServerError, probe) == opened);
    CHECK(f.heard[2].back() == BreakerStateChange{C::HalfOpen, C::Open, R::ProbeFailed, f.t0 + due + 500ms});
    CHECK(f.store->peek().generation == 2);

    // The others stay open (no new change heard) and take the new opening's timing.
    f.at(due + 1s);
    for (std::size_t i : {0U, 1U, 3U}) {
        const auto before = f.heard[i].size();
        CHECK(f.breakers[i].allow().transition == rejected_open);
        CHECK(f.heard[i].size() == before);
        CHECK(f.breakers[i].snapshot().since == f.t0 + due + 500ms);
    }

    const auto second_due = due + 500ms + 30s;
    f.at(second_due - 1ns);
    for (auto& b : f.breakers) CHECK_FALSE(b.allow().allowed);
    f.at(second_due);
    int probes = 0;
    for (int round = 0; round < 3; ++round)
        for (auto& b : f.breakers) probes += b.allow().allowed ? 1 : 0;
    CHECK(probes == 1);
    CHECK(f.store->grants() == 2);
}

TEST_CASE("fleet: a probe holder that dies lets its lease expire, and another breaker probes") {
    Fleet f;
    f.open_from_breaker_0();
    const auto due = 100ms + 30s;
    f.at(due);
    const auto lost = f.breakers[1].allow();  // breaker 1's process dies holding the probe
    REQUIRE(lost.probe);

    // Breakers 0, 2, 3 ask for the lease at each refresh: refused while it runs (10 s).
    for (int s = 0; s < 10; ++s) {
        f.at(due + std::chrono::seconds(s));
        for (std::size_t i : {0U, 2U, 3U}) CHECK_FALSE(f.breakers[i].allow().allowed);
    }
    f.at(due + 10s - 1ns);
    for (std::size_t i : {0U, 2U, 3U}) CHECK_FALSE(f.breakers[i].allow().allowed);
    CHECK(f.store->grants() == 1);

    // At due + 10 s the lease has expired: the next asker probes, alone.
    f.at(due + 10s);
    const auto next = f.breakers[3].allow();
    CHECK(next.probe);
    CHECK(next.transition == half_open);
    CHECK_FALSE(f.breakers[0].allow().allowed);
    CHECK_FALSE(f.breakers[2].allow().allowed);
    CHECK(f.store->grants() == 2);
    CHECK(f.breakers[3].record_success(next) == closed);
    CHECK_FALSE(f.store->peek().open);
}

TEST_CASE("fleet: an unavailable store leaves each breaker to its local state, and counts the calls it missed") {
    Fleet f;
    f.store->set_available(false);
    f.all_succeed();  // the first refreshes fail: admitted on the local state
    for (auto& b : f.breakers) CHECK(b.snapshot().store_unavailable == 1U);

    f.at(100ms);
    auto& b0 = f.breakers[0];
    auto p = b0.allow();
    (void)b0.record_failure(ErrorClass::Transient, p);
    p = b0.allow();
    CHECK(b0.record_failure(ErrorClass::Transient, p) == opened);  // local evidence opens it still
    CHECK(b0.snapshot().store_unavailable == 2U);                // the publication missed
    CHECK_FALSE(b0.snapshot().fleet);

    // The others never hear of it; they keep admitting.
    f.at(5s);
    for (std::size_t i = 1; i < 4; ++i) CHECK(f.breakers[i].allow().allowed);

    // Breaker 0 probes on its own after its recovery timeout, and closes on its own.
    f.at(100ms + 30s);
    const auto probe = b0.allow();
    CHECK(probe.probe);
    CHECK(b0.record_success(probe) == closed);
    CHECK(f.store->grants() == 0);
    CHECK(f.store->unanswered() >= 8);
    CHECK(redress::to_json(b0.snapshot()).ends_with(",\"fleet\":false,\"store_unavailable\":3}"));
}

TEST_CASE("fleet: a store that never answers gives the events and state changes of a breaker without one") {
    // The same random traffic through a breaker without a store and one whose store is down.
    for (int mode = 0; mode < 3; ++mode) {
        for (std::uint32_t seed = 1; seed <= 20; ++seed) {
            ManualClock clock;
            auto store = std::make_shared<InMemoryBreakerStore>(clock);
            store->set_available(false);
            std::vector<BreakerStateChange> heard_plain;
            std::vector<BreakerStateChange> heard_stored;
            auto options = [&](std::vector<BreakerStateChange>& out) {
                redress::CircuitBreakerOptions o{.window = 10s,
                                                 .recovery_timeout = 5s,
                                                 .half_open_probes = 2,
                                                 .close_after = 2,
                                                 .on_state_change = [&out](const BreakerStateChange& c) { out.push_back(c); },
                                                 .clock = clock};
                if (mode == 0) o.failure_threshold = 3;
                if (mode == 1) o.consecutive_failures = 3;
                if (mode == 2) {
                    o.failure_ratio = 0.5;
                    o.minimum_throughput = 4;
                }
                return o;
            };
            CircuitBreaker plain{options(heard_plain)};
            auto o = options(heard_stored);
            o.store = store;
            o.store_refresh = 700ms;
            CircuitBreaker stored{o};

            std::mt19937 rng(seed);
            std::vector<BreakerPermit> held_plain;
            std::vector<BreakerPermit> held_stored;
            for (int step = 0; step < 300; ++step) {
                const auto r = rng() % 10;
                if (r < 4 || held_plain.empty()) {
                    const auto a = plain.allow();
                    const auto b = stored.allow();
                    REQUIRE(a.allowed == b.allowed);
                    REQUIRE(a.probe == b.probe);
                    REQUIRE(a.state == b.state);
                    REQUIRE(a.transition == b.transition);
                    if (a.allowed) {
                        held_plain.push_back(a);
                        held_stored.push_back(b);
                    }
                } else {
                    const auto k = rng() % held_plain.size();
                    const auto how = rng() % 3;
                    std::optional<BreakerTransition> ta;
                    std::optional<BreakerTransition> tb;
                    if (how == 0) {
                        ta = plain.record_success(held_plain[k]);
                        tb = stored.record_success(held_stored[k]);
                    } else if (how == 1) {
                        ta = plain.record_failure(ErrorClass::Transient, held_plain[k]);
                        tb = stored.record_failure(ErrorClass::Transient, held_stored[k]);
                    } else {
                        ta = plain.record_cancel(held_plain[k]);
                        tb = stored.record_cancel(held_stored[k]);
                    }
                    REQUIRE(ta == tb);
                    held_plain.erase(held_plain.begin() + static_cast<long>(k));
                    held_stored.erase(held_stored.begin() + static_cast<long>(k));
                }
                clock.advance(std::chrono::milliseconds(rng() % 400));
            }
            CHECK(heard_plain == heard_stored);
            CHECK(heard_plain.size() >= 2);
            auto a = plain.snapshot();
            auto b = stored.snapshot();
            CHECK(b.store_unavailable > 0U);
            b.store_unavailable.reset();
            CHECK(a == b);
        }
    }
}

TEST_CASE("fleet: a breaker without a store decides inline and writes no fleet fields, one with a store, while its cache is fresh") {
    ManualClock clock;
    CircuitBreaker plain{{.failure_threshold = 1, .clock = clock}};
    CHECK(redress::detail::BreakerAccess::core(plain).closed());
    const auto s = plain.snapshot();
    CHECK_FALSE(s.fleet);
    CHECK_FALSE(s.store_unavailable.has_value());
    CHECK(redress::to_json(s).ends_with("\"recovery_timeout_ns\":30000000000}"));

    // With a store, a policy's fast path is taken while the cached fleet state is fresh.
    CircuitBreaker shared{{.failure_threshold = 1, .clock = clock, .store = std::make_shared<InMemoryBreakerStore>(clock)}};
    auto& core = redress::detail::BreakerAccess::core(shared);
    CHECK_FALSE(core.closed());  // a new breaker reads the store at its first call
    CHECK(shared.allow().allowed);
    CHECK(core.closed());
    clock.advance(1s - 1ns);
    CHECK(core.closed());
    clock.advance(1ns);
    CHECK_FALSE(core.closed());
}

TEST_CASE("fleet: store_refresh and store_lease must be positive") {
    auto message = [](redress::CircuitBreakerOptions o) -> std::string {
        try {
            CircuitBreaker b{std::move(o)};
        } catch (const redress::InvalidOption& e) {
            return std::string(e.option()) + ": " + e.what();
        }
        return "";
    };
    CHECK(message({.store_refresh = 0s}) ==
          "store_refresh: redress: CircuitBreakerOptions::store_refresh must be > 0");
    CHECK(message({.store_lease = -1s}) == "store_lease: redress: CircuitBreakerOptions::store_lease must be > 0");
    CHECK(message({.store_refresh = 1ns, .store_lease = 1ns}).empty());
}

TEST_CASE("fleet: isolate ignores the fleet, reset follows only the fleet's next opening, restore re-learns it") {
    Fleet f;
    f.open_from_breaker_0();
    auto& b1 = f.breakers[1];

    b1.isolate();
    f.at(40s);  // past the fleet's due time: an isolated breaker asks nothing
    const auto calls = f.store->calls();
    CHECK(b1.allow().transition == rejected_open);
    CHECK(f.store->calls() == calls);

    b1.reset();  // the operator closes it: the opening on record is not followed again
    f.at(42s);
    CHECK(b1.allow().allowed);
    CHECK(b1.state() == C::Closed);

    // Another breaker's failed probe publishes a new opening: b1 follows that one.
    auto& b2 = f.breakers[2];
    f.at(43s);
    const auto probe = b2.allow();
    REQUIRE(probe.probe);
    CHECK(b2.record_failure(ErrorClass::Transient, probe) == opened);
    f.at(44s);
    CHECK(b1.allow().transition == opened);
    CHECK(f.heard[1].back() == BreakerStateChange{C::Closed, C::Open, R::Fleet, f.t0 + 44s});

    // A restarted process restores its snapshot, then takes the fleet's opening at its first call.
    std::vector<BreakerStateChange> heard;
    CircuitBreaker restarted{f.options(heard)};
    auto saved = b1.snapshot();
    restarted.restore(saved);
    CHECK_FALSE(restarted.snapshot().fleet);
    CHECK(restarted.allow().transition == rejected_open);
    const auto s = restarted.snapshot();
    CHECK(s.fleet);
    CHECK(s.since == f.t0 + 43s);
    CHECK(redress::to_json(s).ends_with(",\"fleet\":true,\"store_unavailable\":0}"));
}

TEST_CASE("fleet: through a Policy, another process's opening rejects the call with circuit_opened, then circuit_rejected") {
    Fleet f;
    f.open_from_breaker_0();
    std::vector<BreakerStateChange> heard;
    CircuitBreaker breaker{f.options(heard)};  // a fifth process, starting now: its first call reads the store
    redress::Policy policy{redress::Retry{.strategy = redress::testing::instant_retries, .max_attempts = 1, .clock = f.clock}, breaker};
    redress_test::Recorder events;
    int calls = 0;
    const auto first = policy.execute([&] { return ++calls; }, {.on_metric = events.hook()});
    CHECK(first.stop_reason == redress::StopReason::CircuitOpen);
    const auto second = policy.execute([&] { return ++calls; }, {.on_metric = events.hook()});
    CHECK(second.stop_reason == redress::StopReason::CircuitOpen);
    CHECK(calls == 0);
    CHECK(events.lines() == std::vector<std::string>{"circuit_opened#0 state=open", "circuit_rejected#0 state=open"});

    // A quiet call() (no hooks) takes the same decisions.
    f.at(100ms + 30s);
    (void)f.breakers[0].allow();  // breaker 0 takes the fleet's probe
    CHECK_THROWS_AS(policy.call([&] { return ++calls; }), redress::CircuitOpenError);
    CHECK(calls == 0);
}

TEST_CASE("fleet: a store that throws is a store that did not answer") {
    struct ThrowingStore final : redress::BreakerStore {
        std::optional<redress::BreakerFleetState> read() override { throw std::runtime_error("read"); }
        std::optional<redress::BreakerFleetState> publish_open(Duration) override { throw std::runtime_error("open"); }
        std::optional<redress::BreakerFleetState> acquire_probe(std::uint64_t, Duration) override {
            throw std::runtime_error("probe");
        }
        std::optional<redress::BreakerFleetState> publish_closed(std::uint64_t) override { throw std::runtime_error("closed"); }
    };
    ManualClock clock;
    CircuitBreaker b{{.consecutive_failures = 1, .recovery_timeout = 5s, .clock = clock, .store = std::make_shared<ThrowingStore>()}};
    const auto p = b.allow();
    CHECK(p.allowed);
    CHECK(b.record_failure(ErrorClass::Transient, p) == opened);
    clock.advance(5s);
    const auto probe = b.allow();
    CHECK(probe.probe);
    CHECK(b.record_success(probe) == closed);
    const auto s = b.snapshot();
    CHECK(s.store_unavailable == 3U);  // the first refresh, the publication, the probe's refresh
    CHECK_FALSE(s.fleet);
}

TEST_CASE("fleet: an opening made while the store was away stays local, the fleet follows the next one published") {
    Fleet f;
    f.store->set_available(false);
    f.all_succeed();
    f.at(100ms);
    auto& b0 = f.breakers[0];
    for (int k = 0; k < 2; ++k) (void)b0.record_failure(ErrorClass::Transient, b0.allow());
    REQUIRE(b0.state() == C::Open);

    f.store->set_available(true);
    f.at(2s);
    CHECK(f.breakers[1].allow().allowed);           // nothing on record: closed
    CHECK(b0.allow().transition == rejected_open);  // its own opening still holds it

    // Due: it probes on its own (no lease), fails, and this opening reaches the store.
    f.at(100ms + 30s);
    const auto probe = b0.allow();
    REQUIRE(probe.probe);
    CHECK(f.store->grants() == 0);
    CHECK(b0.record_failure(ErrorClass::Transient, probe) == opened);
    CHECK(b0.snapshot().fleet);
    CHECK(f.store->peek().generation == 1);
    for (std::size_t i = 1; i < 4; ++i) {
        CHECK(f.breakers[i].allow().transition == opened);
        CHECK(f.heard[i].back().reason == R::Fleet);
    }
}

TEST_CASE("fleet: while one call waits for the store, the breaker's other calls decide on its cache, the answer is timed on arrival") {
    ManualClock clock;
    const auto t0 = clock.now();
    auto store = std::make_shared<InMemoryBreakerStore>(clock);
    std::vector<BreakerStateChange> heard;
    auto options = redress::CircuitBreakerOptions{.failure_threshold = 2,
                                                  .recovery_timeout = 30s,
                                                  .on_state_change = [&](const BreakerStateChange& c) { heard.push_back(c); },
                                                  .clock = clock,
                                                  .store = store};
    CircuitBreaker a{options};
    CircuitBreaker b{options};
    (void)b.record_success(b.allow());
    clock.advance(100ms);
    for (int k = 0; k < 2; ++k) (void)a.record_failure(ErrorClass::Transient, a.allow());

    // From now on each store call takes 20 ms, during which b is called again (same thread:
    // no lock is held while the store is asked).
    std::optional<BreakerPermit> meanwhile;
    std::uint64_t calls_meanwhile = 0;
    store->before_call([&] {
        clock.advance(20ms);
        if (meanwhile) return;
        meanwhile = b.allow();
        calls_meanwhile = store->calls();
    });
    clock.advance_to(t0 + 1s);
    const auto calls = store->calls();
    const auto refreshing = b.allow();
    REQUIRE(meanwhile.has_value());
    CHECK(meanwhile->allowed);  // the cache still says closed
    CHECK_FALSE(meanwhile->transition.has_value());
    CHECK(calls_meanwhile == calls);  // and it did not ask the store
    CHECK(refreshing.transition == opened);
    CHECK(heard.back() == BreakerStateChange{C::Closed, C::Open, R::Fleet, t0 + 1s + 20ms});
    CHECK(b.snapshot().since == t0 + 100ms);  // the store's open_for, taken at the answer's arrival
    (void)b.record_success(*meanwhile);        // a late report while open: ignored
    CHECK(b.state() == C::Open);
}
