// See ops.hpp: kept out of the measured translation units on purpose.
#include "ops.hpp"

namespace redress_bench {

const char* ConnectionReset::what() const noexcept { return "connection reset"; }

int succeed() { return 42; }

int fail_twice(int& calls) {
    if (calls++ % 3 < 2) throw ConnectionReset();
    return 42;
}

}  // namespace redress_bench
