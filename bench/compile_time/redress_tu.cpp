// Compile-time subject: <redress/redress.hpp> and one Policy<Retry, CircuitBreaker> call with
// options, as a user's translation unit would have them. Compared with hand_loop_tu.cpp by
// scripts/bench.sh.
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
