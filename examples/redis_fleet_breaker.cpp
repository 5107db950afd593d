// A circuit breaker shared by every process that names the same Redis key: run this program
// twice; the first run's failures open the breaker for the fleet, and the second run's calls
// are rejected without reaching the downstream.
//   redress_example_redis_fleet_breaker [port] [key]      (a Redis on 127.0.0.1, default 6379)
#include <redress/contrib/redis.hpp>
#include <redress/redress.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

using namespace std::chrono_literals;

int main(int argc, char** argv) {
    const int port = argc > 1 ? std::atoi(argv[1]) : 6379;
    const std::string key = argc > 2 ? argv[2] : "example:payments-breaker";

    // snippet-begin: redis-breaker
    using redress::contrib::RedisBreakerStoreOptions;
    auto store = std::make_shared<redress::contrib::RedisCircuitBreakerStore>(RedisBreakerStoreOptions{
        .host = "127.0.0.1",
        .port = port,
        .key = key,       // every process naming this key shares one breaker
        .timeout = 50ms,  // per call, connecting included; no answer: the breaker decides locally
    });
    redress::CircuitBreaker breaker{{
        .failure_threshold = 3,
        .window = 60s,
        .recovery_timeout = 30s,
        .store = store,
        .store_refresh = 1s,  // how stale this process's view of the fleet may grow
        .store_lease = 10s,   // a probe holder that dies holds the fleet's probe this long at most
    }};
    redress::Policy policy{redress::Retry{.strategy = redress::constant(10ms), .max_attempts = 1}, breaker};
    // snippet-end: redis-breaker

    int reached = 0;
    auto always_down = [&]() -> int {
        ++reached;
        throw redress::ServerError("503");
    };
    int rejected = 0;
    for (int i = 0; i < 5; ++i) {
        try {
            (void)policy.call(always_down);
        } catch (const redress::CircuitOpenError&) {
            ++rejected;
        } catch (const redress::ServerError&) {
        }
    }
    const auto s = breaker.snapshot();
    std::printf("downstream_calls=%d rejected=%d state=%s shared=%d\n", reached, rejected,
                std::string(redress::to_string(breaker.state())).c_str(), s.fleet ? 1 : 0);
    return breaker.state() == redress::CircuitState::Open ? 0 : 1;
}
