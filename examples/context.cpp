// Bound options for repeated calls: policy.context() binds the operation and hooks once.
#include <redress/redress.hpp>

#include <cstdio>
#include <string>
#include <vector>

using namespace std::chrono_literals;

int do_thing() { return 1; }
int do_other(int a, int b) { return a + b; }

int main() {
    redress::RetryPolicy policy{redress::Retry{
        .classifier = redress::default_classifier,
        .strategy = redress::decorrelated_jitter(),
    }};

    std::vector<std::string> ops;
    // snippet-begin: usage-patterns-35
    auto retry = policy.context({.operation = "batch", .on_metric = [&](const redress::Event& e) {
                                     ops.emplace_back(e.operation);
                                 }});
    const int a = retry(do_thing);
    const int b = retry(do_other, 2, 3);
    // snippet-end: usage-patterns-35

    std::printf("%d %d, events: %zu, all named batch: %d\n", a, b, ops.size(),
                ops == std::vector<std::string>{"batch", "batch"});
    return a == 1 && b == 5 && ops == std::vector<std::string>{"batch", "batch"} ? 0 : 1;
}
