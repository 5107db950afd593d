// expect: a Policy takes at most two components, then a Hedge
// A budget given as a third component instead of in Retry::budget.
#include <redress/redress.hpp>

void build() {
    redress::Policy p{redress::Retry{.strategy = redress::constant(std::chrono::milliseconds(1))},
                      redress::CircuitBreaker{}, redress::Budget{10, std::chrono::seconds(60)}};
    (void)p;
}
