// expect: a Hedge comes last, after a Retry
// A Hedge before the Retry.
#include <redress/redress.hpp>

void build() {
    redress::Policy p{redress::Hedge{.delay = std::chrono::milliseconds(5)},
                      redress::Retry{.strategy = redress::constant(std::chrono::milliseconds(1))}};
    (void)p;
}
