// operation: a call-site name put on every event, to split dashboards per call site.
#include <redress/redress.hpp>

#include <cstdio>
#include <set>
#include <string>

using namespace std::chrono_literals;

std::string fetch_profile() { return "profile"; }

int main() {
    std::set<std::string> operations;
    redress::RetryPolicy policy{redress::Retry{
        .strategy = redress::decorrelated_jitter({.max = 5s}),
        .on_metric = [&](const redress::Event& e) { operations.emplace(e.operation); },
    }};

    // snippet-begin: usage-patterns-22
    policy.call(fetch_profile, {.operation = "fetch_profile"});
    // snippet-end: usage-patterns-22

    for (const auto& op : operations) std::printf("operation=%s\n", op.c_str());
    return operations == std::set<std::string>{"fetch_profile"} ? 0 : 1;
}
