// expect: a Policy takes one Retry: merge the settings into one
// Two Retry components: the second slot is the circuit breaker's.
#include <redress/redress.hpp>

void build() {
    redress::Policy p{redress::Retry{.strategy = redress::constant(std::chrono::milliseconds(1))},
                      redress::Retry{.max_attempts = 3}};
    (void)p;
}
