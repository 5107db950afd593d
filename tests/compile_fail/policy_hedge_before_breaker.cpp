// expect: a Policy takes at most two components, then a Hedge
// A Hedge between the Retry and the breaker.
#include <redress/redress.hpp>

void build() {
    redress::Policy p{redress::Retry{.strategy = redress::constant(std::chrono::milliseconds(1))},
                      redress::Hedge{.delay = std::chrono::milliseconds(5)}, redress::CircuitBreaker{}};
    (void)p;
}
