// An operation that takes its attempt's view: the attempt number, the time left before the
// deadline (passed on as the downstream's own timeout), and an idempotency key that is the
// same on every attempt, so the server can tell a retry from a new payment.
#include <cstdio>
#include <map>
#include <string>

#include <redress/redress.hpp>

using namespace std::chrono_literals;

// Stands in for a payment API that applies each idempotency key once, and fails the first
// two requests it sees with a 503.
struct PaymentApi {
    std::map<std::string, int> applied;  // key -> amount
    int requests = 0;

    std::string charge(int amount, const std::string& idempotency_key, redress::Duration timeout) {
        ++requests;
        if (timeout <= 0s) throw redress::PermanentError("no time left");
        if (requests <= 2) throw redress::ServerError("503 Service Unavailable");
        applied.emplace(idempotency_key, amount);  // a replayed key is not applied twice
        return "charged " + std::to_string(amount);
    }
};

int main() {
    PaymentApi api;
    redress::Policy policy{redress::Retry{
        .strategy = redress::constant(1ms),
        .deadline = 10s,
        .max_attempts = 5,
    }};

    // snippet-begin: attempt-view
    std::string first_key;
    const std::string receipt = policy.call(
        [&](const redress::Attempt& attempt) {
            std::printf("attempt %d of '%.*s', %lld ms left, key %.*s\n", attempt.number,
                        static_cast<int>(attempt.operation.size()), attempt.operation.data(),
                        static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(attempt.time_left).count()),
                        static_cast<int>(attempt.idempotency_key.size()), attempt.idempotency_key.data());
            if (attempt.number == 1) first_key = std::string(attempt.idempotency_key);
            // The same key on every attempt: the API applies the charge once.
            return api.charge(42, std::string(attempt.idempotency_key), attempt.time_left);
        },
        {.operation = "charge"});
    // snippet-end: attempt-view

    std::printf("%s after %d requests\n", receipt.c_str(), api.requests);
    const bool ok = receipt == "charged 42" && api.requests == 3 && api.applied.size() == 1 &&
                    api.applied.begin()->first == first_key && first_key.size() == 36;
    return ok ? 0 : 1;
}
