// REDRESS_RETRY: run an expression under a policy. The expression is evaluated afresh on every
// attempt, and the operation is named after the function it calls (never its arguments).
#include <redress/macros.hpp>
#include <redress/redress.hpp>

#include <cstdio>
#include <string>
#include <vector>

using namespace std::chrono_literals;

int calls = 0;

std::string fetch_user(int id) {
    if (++calls < 2) throw redress::ServerError("503");
    return "user-" + std::to_string(id);
}

struct Directory {
    std::string lookup(const std::string& url) const { return "profile at " + url; }
};

int main() {
    std::vector<std::string> operations;
    redress::RetryPolicy policy{redress::Retry{
        .strategy = redress::constant(1ms),
        .on_metric = [&](const redress::Event& e) { operations.emplace_back(e.operation); },
    }};

    const int id = 7;
    // snippet-begin: usage-patterns-32
    auto user = REDRESS_RETRY(policy, fetch_user(id));  // operation "fetch_user"
    // snippet-end: usage-patterns-32

    const Directory directory;
    // snippet-begin: usage-patterns-33
    auto profile = REDRESS_RETRY(policy, directory.lookup("https://example.org/users/7"));  // "directory.lookup"
    // snippet-end: usage-patterns-33

    // Per-call options come before the expression, as a braced list or a CallOptions value.
    std::string logged;
    // snippet-begin: usage-patterns-34
    auto again = REDRESS_RETRY_WITH(policy, {.operation = "load user", .on_log = [&](const redress::Event& e) {
                                                 logged = e.operation;
                                             }},
                                    fetch_user(id + 1));
    // snippet-end: usage-patterns-34

    redress::CallOptions quiet{.on_metric = [](const redress::Event&) {}};
    auto third = REDRESS_RETRY_WITH(policy, quiet, fetch_user(id + 2));

    std::printf("%s, %s, %s, %s\n", user.c_str(), profile.c_str(), again.c_str(), third.c_str());
    for (const auto& op : operations) std::printf("operation=%s\n", op.c_str());
    std::printf("logged operation=%s\n", logged.c_str());
    const std::vector<std::string> expected{"fetch_user", "fetch_user", "directory.lookup", "load user"};
    return user == "user-7" && again == "user-8" && third == "user-9" && calls == 4 && operations == expected &&
                   logged == "load user"
               ? 0
               : 1;
}
