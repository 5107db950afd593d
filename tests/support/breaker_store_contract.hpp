// The contract of a `BreakerStore` (include/redress/circuit_breaker.hpp), checked on a fresh
// store: the reference InMemoryBreakerStore on a manual clock, and a real store on real time.
// `wait(d)` lets at least `d` pass on the store's clock; `slack` bounds how much more a real
// store's clock may have moved (round trips, scheduling) where the contract names a duration.
#pragma once

#include <redress/circuit_breaker.hpp>

#include <catch2/catch.hpp>

#include <chrono>

namespace redress_test {

template <class Wait>
void check_breaker_store_contract(redress::BreakerStore& store, Wait wait, redress::Duration slack) {
    using namespace std::chrono_literals;
    constexpr auto recovery = 300ms;
    constexpr auto lease = 200ms;

    const auto fresh = store.read();
    REQUIRE(fresh);
    CHECK(*fresh == redress::BreakerFleetState{});  // closed, generation 0
    const auto nothing_to_close = store.publish_closed(1);
    REQUIRE(nothing_to_close);
    CHECK_FALSE(nothing_to_close->open);

    // An opening: a new generation, timed from now, not yet due for its probe.
    const auto a = store.publish_open(recovery);
    REQUIRE(a);
    CHECK(a->open);
    CHECK(a->generation != 0);
    CHECK(a->recovery_timeout == recovery);
    CHECK(a->open_for <= slack);
    CHECK_FALSE(a->probe_granted);
    const auto early = store.acquire_probe(a->generation, lease);
    REQUIRE(early);
    CHECK_FALSE(early->probe_granted);
    CHECK(early->generation == a->generation);

    wait(recovery);
    const auto due = store.read();
    REQUIRE(due);
    CHECK(due->open_for >= recovery);
    CHECK(due->open_for <= recovery + slack);
    const auto other = store.acquire_probe(a->generation + 1, lease);  // not the opening on record
    REQUIRE(other);
    CHECK_FALSE(other->probe_granted);
    CHECK(other->generation == a->generation);

    // One lease at a time, until it expires.
    const auto first = store.acquire_probe(a->generation, lease);
    REQUIRE(first);
    CHECK(first->probe_granted);
    CHECK(first->open);
    CHECK(first->generation == a->generation);
    const auto held = store.acquire_probe(a->generation, lease);
    REQUIRE(held);
    CHECK_FALSE(held->probe_granted);
    wait(lease / 2);
    CHECK_FALSE(store.acquire_probe(a->generation, lease).value().probe_granted);
    wait(lease / 2 + 10ms);
    CHECK(store.acquire_probe(a->generation, lease).value().probe_granted);

    // A newer opening replaces it and ends its lease (recovery 0: due at once).
    const auto b = store.publish_open(0ms);
    REQUIRE(b);
    CHECK(b->generation > a->generation);
    CHECK(b->recovery_timeout == 0ms);
    CHECK(store.acquire_probe(b->generation, lease).value().probe_granted);

    // A close of an older opening leaves the newer one; its own close closes the fleet.
    const auto stale_close = store.publish_closed(a->generation);
    REQUIRE(stale_close);
    CHECK(stale_close->open);
    CHECK(stale_close->generation == b->generation);
    const auto closed = store.publish_closed(b->generation);
    REQUIRE(closed);
    CHECK(*closed == redress::BreakerFleetState{});
    CHECK(store.read().value() == redress::BreakerFleetState{});

    // The next opening never reuses a generation.
    const auto c = store.publish_open(recovery);
    REQUIRE(c);
    CHECK(c->generation > b->generation);
}

}  // namespace redress_test
