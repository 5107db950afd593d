// expect: a Policy takes the Retry first, then the CircuitBreaker: Policy.retry, breaker.
// The components in the wrong order: deduction succeeds into a policy that cannot be used,
// so the compiler reports the fix instead of a failed class template argument deduction.
#include <redress/redress.hpp>

void build() {
    redress::Policy p{redress::CircuitBreaker{}, redress::Retry{.strategy = redress::constant(std::chrono::milliseconds(1))}};
    (void)p;
}
