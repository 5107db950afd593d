// Structured outcomes: execute() reports what happened instead of throwing.
#include <redress/redress.hpp>

#include <cstdio>
#include <string>

using namespace std::chrono_literals;

int main() {
    redress::RetryPolicy policy{redress::Retry{.strategy = redress::constant(1ms), .max_attempts = 3}};

    auto do_work = [] { return 42; };
    // snippet-begin: usage-patterns-36
    auto outcome = policy.execute(do_work, {.operation = "sync_task"});
    if (outcome.ok) {
        std::printf("%d %d\n", *outcome.value, outcome.attempts);
    } else {
    // snippet-end: usage-patterns-36
        std::printf("%s %s\n", std::string(redress::to_string(*outcome.stop_reason)).c_str(),
                    std::string(redress::to_string(*outcome.last_class)).c_str());
    }

    auto failing = policy.execute([]() -> int { throw redress::PermanentError("400 Bad Request"); });
    std::printf("%s %s after %d attempt(s)\n", std::string(redress::to_string(*failing.stop_reason)).c_str(),
                std::string(redress::to_string(*failing.last_class)).c_str(), failing.attempts);

    return outcome.ok && outcome.value == 42 && outcome.attempts == 1 && !failing.ok &&
                   failing.stop_reason == redress::StopReason::NonRetryableClass &&
                   failing.last_class == redress::ErrorClass::Permanent && failing.last_exception != nullptr
               ? 0
               : 1;
}
