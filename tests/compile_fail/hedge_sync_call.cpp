// expect: a Policy with a Hedge needs an executor to run a sync call.. or execute... .*hedge_on.executor.
// A sync call() on a hedged policy without an executor: the calling thread waits, and the
// attempts need another thread to run on.
#include <redress/redress.hpp>

int run() {
    redress::Policy p{redress::Retry{.strategy = redress::constant(std::chrono::milliseconds(1))},
                      redress::Hedge{.delay = std::chrono::milliseconds(5)}};
    return p.call([] { return 1; });
}
