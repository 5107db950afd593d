// The breaker store's contract (tests/support/breaker_store_contract.hpp) on the reference
// InMemoryBreakerStore, on a manual clock; the Redis integration test checks the same contract
// on RedisCircuitBreakerStore against a real server.
#include <redress/testing.hpp>

#include <catch2/catch.hpp>

#include "breaker_store_contract.hpp"

using namespace std::chrono_literals;

TEST_CASE("InMemoryBreakerStore keeps the breaker store's contract") {
    redress::testing::ManualClock clock;
    redress::testing::InMemoryBreakerStore store(clock);
    redress_test::check_breaker_store_contract(store, [&](redress::Duration d) { clock.advance(d); }, 0ms);
}
