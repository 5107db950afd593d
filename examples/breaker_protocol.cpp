// Driving a CircuitBreaker by hand, as a custom driver (a queue consumer, a connection pool)
// would: ask allow() once per operation, run it only if allowed, report exactly one result.
// A ManualClock drives the recovery timeout in virtual time.
#include <redress/redress.hpp>
#include <redress/testing.hpp>

#include <cstdio>
#include <optional>
#include <string>

using namespace std::chrono_literals;

int main() {
    redress::testing::ManualClock clock;
    redress::CircuitBreaker breaker{{.failure_threshold = 2, .recovery_timeout = 30s, .clock = clock}};

    std::string events;  // the transitions a policy would emit as events
    auto emit = [&](const std::optional<redress::BreakerTransition>& t) {
        if (t) events += std::string(redress::to_string(t->name)) + " ";
    };

    bool healthy = false;
    auto send = [&] {
        if (!healthy) throw redress::ServerError("503 Service Unavailable");
    };

    // One operation through the breaker; answers "rejected", "failed" or "ok".
    auto guarded_send = [&]() -> std::string {
        // snippet-begin: circuit_breaker-2
        auto permit = breaker.allow();
        emit(permit.transition);
        if (!permit.allowed) return "rejected";  // fail fast: run nothing, report nothing
        try {
            send();
        } catch (...) {
            const auto klass = redress::default_classifier(std::current_exception()).klass;
            emit(breaker.record_failure(klass, permit));
            return "failed";
        }
        auto t = breaker.record_success(permit);  // a probe's success closes the breaker
        emit(t);
        // snippet-end: circuit_breaker-2
        return "ok";
    };

    std::string seen;
    for (int i = 0; i < 3; ++i) seen += guarded_send() + " ";  // two failures open it; then rejected
    clock.advance(30s);  // recovery timeout: the next operation is the half-open probe
    healthy = true;
    seen += guarded_send();

    std::printf("%s| %s| breaker %s\n", seen.c_str(), events.c_str(),
                std::string(redress::to_string(breaker.state())).c_str());
    return seen == "failed failed rejected ok" &&
                   events == "circuit_opened circuit_rejected circuit_half_open circuit_closed " &&
                   breaker.state() == redress::CircuitState::Closed
               ? 0
               : 1;
}
