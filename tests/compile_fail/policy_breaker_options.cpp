// expect: a Policy is built from a redress::Retry....., a redress::CircuitBreaker....., or both
// The breaker's options without the breaker.
#include <redress/redress.hpp>

void build() {
    redress::Policy p{redress::CircuitBreakerOptions{.failure_threshold = 3}};
    (void)p;
}
