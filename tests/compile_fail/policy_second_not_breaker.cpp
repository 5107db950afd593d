// expect: the second component of a Policy must be a circuit breaker
// A second component that is neither a Retry nor a breaker.
#include <redress/redress.hpp>

void build() {
    redress::Policy p{redress::Retry{.strategy = redress::constant(std::chrono::milliseconds(1))}, 42};
    (void)p;
}
