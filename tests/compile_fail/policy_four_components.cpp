// expect: a Policy takes at most three components
// A budget given as a fourth component.
#include <redress/redress.hpp>

void build() {
    redress::Policy p{redress::Retry{.strategy = redress::constant(std::chrono::milliseconds(1))}, redress::CircuitBreaker{},
                      redress::Hedge{.delay = std::chrono::milliseconds(5)}, redress::Budget{10, std::chrono::seconds(60)}};
    (void)p;
}
