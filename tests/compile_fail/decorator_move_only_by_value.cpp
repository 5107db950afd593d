// expect: redress::retry: the function takes a move-only argument by value or by rvalue reference
// Every attempt needs its own argument, and a move-only one cannot be copied for it.
#include <memory>

#include <redress/redress.hpp>

int consume(std::unique_ptr<int> p) { return *p; }

int run() {
    auto retrying = redress::retry(consume);
    return retrying(std::make_unique<int>(1));
}
