// Decorator-style retries: redress::retry wraps a function into one with the same
// parameters whose every call runs under a policy.
#include <redress/decorator.hpp>
#include <redress/redress.hpp>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

int attempts_seen = 0;

std::string fetch_user(int id) {
    if (++attempts_seen < 2) throw redress::ServerError("503");
    return "user-" + std::to_string(id);
}

struct Repository {
    int fails = 1;
    std::string load(const std::string& key) {
        if (fails-- > 0) throw redress::ConcurrencyError("409");
        return "row:" + key;
    }
};

std::vector<std::string> outbox;
int sends = 0;

// Takes its body by rvalue reference and moves it away, as a sink does; the first send fails.
void send(std::string&& body) {
    std::string message = std::move(body);
    if (++sends < 2) throw redress::ServerError("503");
    outbox.push_back(std::move(message));
}

int main() {
    // Defaults: default_classifier + decorrelated_jitter({.max = 5s}). C++ cannot see the
    // function's name, so the operation is given.
    // snippet-begin: usage-patterns-29
    auto fetch_user_retrying = redress::retry(fetch_user, "fetch_user");
    // snippet-end: usage-patterns-29

    // A Retry configures it; a member function takes the object as its first argument.
    // snippet-begin: usage-patterns-30
    auto load = redress::retry(&Repository::load, redress::Retry{.strategy = redress::constant(1ms), .max_attempts = 3});
    // snippet-end: usage-patterns-30

    const redress::CallOptions instant{.sleeper = [](redress::Duration) {}};
    auto fetch_user_quick = redress::retry(fetch_user, "fetch_user", instant);

    Repository repo;
    const std::string user = fetch_user_quick(7);
    const std::string row = load(repo, std::string("42"));
    std::printf("%s %s (operation %s)\n", user.c_str(), row.c_str(), std::string(fetch_user_retrying.operation()).c_str());

    // A T&& parameter: each attempt gets a fresh copy of the argument, so a retry never sees
    // the body an earlier attempt moved away.
    // snippet-begin: usage-patterns-31
    auto send_retrying = redress::retry(send, "send", instant);
    send_retrying(std::string("hello"));
    // snippet-end: usage-patterns-31
    std::printf("sent: %s\n", outbox.front().c_str());

    return user == "user-7" && row == "row:42" && outbox == std::vector<std::string>{"hello"} ? 0 : 1;
}
