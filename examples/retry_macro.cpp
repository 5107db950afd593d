// REDRESS_RETRY: run an expression under a policy; the operation is the expression's text,
// and the expression is evaluated afresh on every attempt.
#include <redress/macros.hpp>
#include <redress/redress.hpp>

#include <cstdio>
#include <string>

using namespace std::chrono_literals;

int calls = 0;

std::string fetch_user(int id) {
    if (++calls < 2) throw redress::ServerError("503");
    return "user-" + std::to_string(id);
}

int main() {
    std::string operation;
    redress::RetryPolicy policy{redress::Retry{
        .strategy = redress::constant(1ms),
        .on_metric = [&](const redress::Event& e) { operation = e.operation; },
    }};

    const int id = 7;
    auto user = REDRESS_RETRY(policy, fetch_user(id));

    redress::CallOptions opts{.operation = "load user"};
    auto again = REDRESS_RETRY_WITH(policy, opts, fetch_user(id + 1));

    std::printf("%s %s, last operation: %s\n", user.c_str(), again.c_str(), operation.c_str());
    return user == "user-7" && again == "user-8" && calls == 3 && operation == "load user" ? 0 : 1;
}
