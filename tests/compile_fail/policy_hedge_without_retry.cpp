// expect: a Hedge comes last, after a Retry
// A Hedge with a breaker but no Retry.
#include <redress/redress.hpp>

void build() {
    redress::Policy p{redress::CircuitBreaker{}, redress::Hedge{.delay = std::chrono::milliseconds(5)}};
    (void)p;
}
