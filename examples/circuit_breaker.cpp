// Circuit breakers: a breaker in the policy fails fast while a downstream is unhealthy.
// A ManualClock drives the breaker's recovery timeout in virtual time.
#include <redress/redress.hpp>
#include <redress/testing.hpp>

#include <cstdio>
#include <string>

using namespace std::chrono_literals;

int main() {
    redress::testing::ManualClock clock;

    // snippet-begin: circuit_breaker-1
    // snippet-begin: usage-patterns-3
    redress::CircuitBreaker breaker{{
        .failure_threshold = 2,
        .window = 60s,
        .recovery_timeout = 30s,
        // snippet-hide: usage-patterns-3
        // snippet-hide: circuit_breaker-1
        // snippet-show: usage-patterns-3
        .trip_on = {redress::ErrorClass::Transient, redress::ErrorClass::ServerError},
        .clock = clock,
        // snippet-hide: usage-patterns-3
        // snippet-show: circuit_breaker-1
        // snippet-show: usage-patterns-3
    }};
    // snippet-end: usage-patterns-3

    redress::Policy policy{
        redress::Retry{
            // snippet-hide: circuit_breaker-1
            .classifier = redress::default_classifier,
            .strategy = redress::decorrelated_jitter({.max = 5s}),
            .max_attempts = 2,
            .sleeper = redress::testing::AdvancingSleeper(clock),
            .clock = clock,
            // snippet-show: circuit_breaker-1
        },
        breaker,
    };
    // snippet-end: circuit_breaker-1

    bool healthy = false;
    auto call_downstream = [&] {
        if (!healthy) throw redress::ServerError("503 Service Unavailable");
        return std::string("ok");
    };

    std::string seen;
    for (int i = 0; i < 3; ++i) {  // two failed operations open the breaker; the third is rejected
        try {
            policy.call(call_downstream);
        } catch (const redress::CircuitOpenError& e) {
            seen += "rejected(" + std::string(redress::to_string(e.state())) + ") ";
        } catch (const redress::ServerError&) {
            seen += "failed ";
        }
    }
    // snippet-begin: testing-5
    clock.advance(30s);  // recovery timeout: the next call is the half-open probe
    // snippet-end: testing-5
    healthy = true;
    seen += policy.call(call_downstream);

    std::printf("%s, breaker %s\n", seen.c_str(), std::string(redress::to_string(breaker.state())).c_str());
    return seen == "failed failed rejected(open) ok" && breaker.state() == redress::CircuitState::Closed ? 0 : 1;
}
