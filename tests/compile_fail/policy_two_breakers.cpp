// expect: a Policy takes one circuit breaker
// Two breakers and no Retry.
#include <redress/redress.hpp>

void build() {
    redress::Policy p{redress::CircuitBreaker{}, redress::CircuitBreaker{}};
    (void)p;
}
