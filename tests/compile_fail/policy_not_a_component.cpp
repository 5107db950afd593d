// expect: a Policy is built from a redress::Retry....., a redress::CircuitBreaker....., or both
// A strategy given where the Retry belongs.
#include <redress/redress.hpp>

void build() {
    redress::Policy p{redress::decorrelated_jitter({.max = std::chrono::seconds(5)})};
    (void)p;
}
