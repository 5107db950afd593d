// A user's translation unit for the separate-compilation check (check_compiled_symbols.cmake):
// a policy with a retry, a budget and a circuit breaker, called with options and without (the
// quiet path), and an invalid option.
#include <redress/redress.hpp>

using namespace std::chrono_literals;

int compiled_call(int (*fn)()) {
    static const redress::Policy policy{
        redress::Retry{
            .classifier = redress::default_classifier,
            .strategy = redress::decorrelated_jitter({.max = 5s}),
            .deadline = 30s,
            .max_attempts = 5,
            .budget = redress::Budget({.max_retries = 10, .window = 10s}),
        },
        redress::CircuitBreaker{{.failure_threshold = 5, .window = 60s, .recovery_timeout = 30s}},
    };
    return policy.call([fn] { return fn(); }, {.operation = "fetch"}) + policy.call([fn] { return fn(); });
}

redress::Budget ratio_budget() { return redress::Budget(redress::RatioBudgetOptions{}); }
