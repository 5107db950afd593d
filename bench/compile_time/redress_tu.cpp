// Compile-time subject (issue 8): includes <redress/redress.hpp> and instantiates one
// Policy<Retry, CircuitBreaker>, as a user's translation unit would. scripts/bench.sh
// compares the time to compile this file with baseline_tu.cpp.
#include <redress/redress.hpp>

using namespace std::chrono_literals;

int redress_call(int (*fn)()) {
    static const redress::Policy policy{
        redress::Retry{
            .classifier = redress::default_classifier,
            .strategy = redress::decorrelated_jitter({.max = 5s}),
            .deadline = 30s,
            .max_attempts = 5,
        },
        redress::CircuitBreaker{{.failure_threshold = 5, .window = 60s, .recovery_timeout = 30s}},
    };
    return policy.call([fn] { return fn(); }, {.operation = "fetch"});
}
