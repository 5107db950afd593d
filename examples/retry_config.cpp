// RetryConfig: settings to share (or load from configuration), without the classifier.
#include <redress/redress.hpp>

#include <cstdio>

using namespace std::chrono_literals;
using redress::ErrorClass;

int main() {
    // snippet-begin: usage-patterns-23
    redress::RetryConfig cfg{
        .strategy = redress::decorrelated_jitter({.max = 5s}),
        .deadline = 45s,
        .max_attempts = 6,
        .per_class_max_attempts = {
            {ErrorClass::RateLimit, 2},
            {ErrorClass::ServerError, 4},
        },
    };
    // snippet-end: usage-patterns-23

    // snippet-begin: usage-patterns-24
    auto policy = redress::RetryPolicy<>::from_config(cfg, redress::default_classifier);
    // snippet-end: usage-patterns-24

    auto outcome = policy.execute([]() -> int { throw redress::RateLimitError("429"); },
                                  {.sleeper = [](redress::Duration) {}});
    std::printf("attempts=%d stop_reason=%s\n", outcome.attempts,
                std::string(redress::to_string(*outcome.stop_reason)).c_str());
    return outcome.attempts == 2 && outcome.stop_reason == redress::StopReason::MaxAttemptsPerClass ? 0 : 1;
}
