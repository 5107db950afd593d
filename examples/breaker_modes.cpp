// Circuit breaker modes: the default ratio mode on a busy service, consecutive failures,
// several half-open probes with a growing recovery timeout, and a breaker's state kept across
// a restart. A ManualClock runs everything in virtual time.
#include <redress/redress.hpp>
#include <redress/testing.hpp>

#include <cstdio>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

// One call through `breaker`: `fails` says how it ends. Returns false when rejected.
bool call(redress::CircuitBreaker& breaker, bool fails) {
    const auto permit = breaker.allow();
    if (!permit.allowed) return false;
    if (fails) {
        (void)breaker.record_failure(redress::ErrorClass::ServerError, permit);
    } else {
        (void)breaker.record_success(permit);
    }
    return true;
}

std::string state(const redress::CircuitBreaker& b) { return std::string(redress::to_string(b.state())); }

}  // namespace

int main() {
    redress::testing::ManualClock clock;
    bool ok = true;

    // 1. The default: ratio mode. 10,000 calls a second with one failure in 10,000 stay closed.
    // snippet-begin: breaker-modes-default
    redress::CircuitBreaker busy{{
        // failure_ratio 0.5 over at least 100 calls in 60 s: no mode option set
        // snippet-hide
        .clock = clock,
        // snippet-show
    }};
    // snippet-end: breaker-modes-default
    for (int i = 0; i < 10'000; ++i) {
        call(busy, i == 5'000);
        clock.advance(100us);
    }
    std::printf("default, 1 failure in 10000 calls: %s\n", state(busy).c_str());
    ok = ok && busy.state() == redress::CircuitState::Closed;
    clock.advance(60s);  // a minute later (the window) the downstream fails half the calls
    int calls = 0;
    while (busy.state() == redress::CircuitState::Closed && calls < 1'000) call(busy, calls++ % 2 == 0);
    std::printf("default, then half of the calls failing: %s after %d calls\n", state(busy).c_str(), calls);
    ok = ok && busy.state() == redress::CircuitState::Open && calls == 101;

    // 2. Consecutive failures: the classic mode.
    // snippet-begin: breaker-modes-consecutive
    redress::CircuitBreaker simple{{
        .consecutive_failures = 3,  // three in a row open it; any success starts again
        .recovery_timeout = 10s,
        // snippet-hide
        .clock = clock,
        // snippet-show
    }};
    // snippet-end: breaker-modes-consecutive
    for (const bool fails : {true, true, false, true, true}) call(simple, fails);
    std::printf("consecutive, fail fail ok fail fail: %s\n", state(simple).c_str());
    ok = ok && simple.state() == redress::CircuitState::Closed;
    call(simple, true);
    std::printf("consecutive, a third failure in a row: %s\n", state(simple).c_str());
    ok = ok && simple.state() == redress::CircuitState::Open;

    // 3. Several probes, a recovery timeout that grows while the downstream stays down, and
    //    a hook that logs every change.
    std::vector<std::string> log;
    // snippet-begin: breaker-modes-probes
    redress::CircuitBreaker careful{{
        .failure_threshold = 5,
        .recovery_timeout = 30s,
        .half_open_probes = 3,  // three calls find out at once...
        .close_after = 2,       // ...two successes close it; the first failure reopens it
        .recovery_backoff = redress::exponential({.base = 60s, .max = 10min}),
        .max_recovery_timeout = 10min,  // 30 s, 60 s, 120 s, ... 10 min while it stays down
        // snippet-hide
        .on_state_change = [&log](const redress::BreakerStateChange& c) {
            log.push_back(std::string(redress::to_string(c.to)) + "(" + std::string(redress::to_string(c.reason)) + ")");
        },
        .clock = clock,
        // snippet-show
    }};
    // snippet-end: breaker-modes-probes
    for (int i = 0; i < 5; ++i) call(careful, true);
    for (int reopen = 0; reopen < 3; ++reopen) {  // still down: each probe fails
        clock.advance(careful.snapshot().recovery_timeout);
        call(careful, true);
    }
    const auto grown = careful.snapshot().recovery_timeout;
    std::printf("after 4 openings the breaker waits %llds before probing\n",
                static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(grown).count()));
    ok = ok && grown == 240s;

    // 4. Keep the state across a restart: an open breaker stays open in the new process.
    // snippet-begin: breaker-modes-restore
    const redress::BreakerSnapshot saved = careful.snapshot();
    const std::string json = redress::to_json(saved);  // for a file, a key-value store, a log
    // ... the process restarts, builds its breaker with the same options, and:
    redress::CircuitBreaker restarted{careful.options()};
    restarted.restore(saved);
    // snippet-end: breaker-modes-restore
    std::printf("saved %s\n", json.c_str());
    std::printf("restarted breaker: %s, rejects: %s\n", state(restarted).c_str(), call(restarted, false) ? "no" : "yes");
    ok = ok && restarted.state() == redress::CircuitState::Open;

    clock.advance(grown);  // the downstream is back: three probes, two successes close it
    call(restarted, false);
    call(restarted, false);
    std::printf("after two probe successes: %s\n", state(restarted).c_str());
    ok = ok && restarted.state() == redress::CircuitState::Closed;

    // 5. A hook that hears every change of state.
    // snippet-begin: breaker-modes-hook
    redress::CircuitBreaker watched{{
        .consecutive_failures = 1,
        .on_state_change =
            [](const redress::BreakerStateChange& c) {
                std::printf("breaker %s -> %s (%s)\n", std::string(redress::to_string(c.from)).c_str(),
                            std::string(redress::to_string(c.to)).c_str(), std::string(redress::to_string(c.reason)).c_str());
            },
        // snippet-hide
        .clock = clock,
        // snippet-show
    }};
    // snippet-end: breaker-modes-hook
    call(watched, true);  // breaker closed -> open (failures)
    ok = ok && watched.state() == redress::CircuitState::Open;

    std::string changes;
    for (const auto& entry : log) changes += entry + " ";
    std::printf("on_state_change heard: %s\n", changes.c_str());
    // careful: opened, then 3 x (half-open, reopened); restarted: restored, half-open, closed
    ok = ok && log.size() == 10;
    return ok ? 0 : 1;
}
