// expect: a Policy with a Hedge runs on the coroutine API only
// A sync call() on a hedged policy: it has no thread to send a hedge from.
#include <redress/redress.hpp>

int run() {
    redress::Policy p{redress::Retry{.strategy = redress::constant(std::chrono::milliseconds(1))},
                      redress::Hedge{.delay = std::chrono::milliseconds(5)}};
    return p.call([] { return 1; });
}
