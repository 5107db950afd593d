// docs/getting-started.md, as one program: a service's client calls a flaky inventory
// service under a policy with retries and a circuit breaker, logs every decision, and reads
// why an operation stopped. Production code: the real clock, real (short) sleeps.
#include <redress/redress.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

// snippet-begin: client
// What a real client throws: a status code the default classifier reads (StatusError), or a
// network error (std::system_error with a connection code).
struct Inventory {
    int calls = 0;

    int stock(const std::string& sku) {
        ++calls;
        if (sku == "gone") throw redress::StatusError(404, "no such item: " + sku);
        if (calls % 3 != 0) throw redress::StatusError(503, "inventory overloaded");
        return 42;
    }
};
// snippet-end: client

// snippet-begin: policy
// One policy per downstream, shared by every thread that calls it.
const redress::Policy inventory_policy{
    redress::Retry{
        .classifier = redress::default_classifier,
        .strategy = redress::decorrelated_jitter({.base = 10ms, .max = 200ms}),
        .deadline = 2s,
        .max_attempts = 4,
        // Every decision, one line each (with <redress/fmt.hpp>, `fmt::print("{}\n", e)`).
        .on_log =
            [](const redress::Event& e) {
                std::printf("  %s attempt=%d", std::string(redress::to_string(e.name)).c_str(), e.attempt);
                if (e.error_class) std::printf(" class=%s", std::string(redress::to_string(*e.error_class)).c_str());
                std::printf("\n");
            },
    },
    redress::CircuitBreaker{{.failure_threshold = 5, .window = 60s, .recovery_timeout = 30s}},
};
// snippet-end: policy

int main() {
    Inventory inventory;

    // snippet-begin: call
    // call(): the value, or the last exception itself once the policy stops.
    const int stock = inventory_policy.call([&] { return inventory.stock("sku-1"); }, {.operation = "stock"});
    std::printf("stock: %d after %d calls\n", stock, inventory.calls);
    // snippet-end: call

    // snippet-begin: execute
    // execute(): never throws for the operation's failures; the outcome says what happened.
    auto outcome = inventory_policy.execute([&] { return inventory.stock("gone"); }, {.operation = "stock"});
    if (!outcome.ok) {
        std::printf("gave up: %s after %d attempt(s), class %s\n",
                    std::string(redress::to_string(*outcome.stop_reason)).c_str(), outcome.attempts,
                    std::string(redress::to_string(*outcome.last_class)).c_str());
    }
    // snippet-end: execute

    // snippet-begin: catch
    try {
        (void)inventory_policy.call([&] { return inventory.stock("gone"); });
    } catch (const redress::StatusError& e) {  // the operation's own exception, rethrown
        std::printf("caught: %d %s\n", e.status(), e.what());
    } catch (const redress::CircuitOpenError&) {  // the breaker rejected the call
        std::printf("the inventory service is failing; try later\n");
    }
    // snippet-end: catch

    const bool ok = stock == 42 && outcome.stop_reason == redress::StopReason::NonRetryableClass &&
                    outcome.attempts == 1 && outcome.last_class == redress::ErrorClass::Permanent;
    return ok ? 0 : 1;
}
