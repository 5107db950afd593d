// Per-class strategies and limits: the class of a failure picks its backoff and its cap.
#include <redress/redress.hpp>

#include <cstdio>
#include <vector>

using namespace std::chrono_literals;
using redress::ErrorClass;

int main() {
    // snippet-begin: usage-patterns-4
    redress::RetryPolicy policy{redress::Retry{
        .classifier = redress::default_classifier,
        .strategy = redress::decorrelated_jitter({.max = 10s}),  // default for most classes
        .strategies = {
            {ErrorClass::Concurrency, redress::decorrelated_jitter({.max = 1s})},
            {ErrorClass::RateLimit, redress::decorrelated_jitter({.max = 60s})},
            {ErrorClass::ServerError, redress::equal_jitter({.max = 30s})},
        },
        .per_class_max_attempts = {
            {ErrorClass::RateLimit, 3},
            {ErrorClass::ServerError, 5},
        },
    }};
    // snippet-end: usage-patterns-4

    // A rate-limited operation stops when its third RATE_LIMIT failure is counted.
    int calls = 0;
    std::vector<redress::Duration> sleeps;
    auto outcome = policy.execute(
        [&]() -> int {
            ++calls;
            throw redress::RateLimitError("429 Too Many Requests");
        },
        {.sleeper = [&](redress::Duration d) { sleeps.push_back(d); }});

    std::printf("attempts=%d stop_reason=%s sleeps=%zu\n", outcome.attempts,
                std::string(redress::to_string(*outcome.stop_reason)).c_str(), sleeps.size());
    // per_class_max_attempts counts total attempts of that class: 3 means at most 2 retries.
    return outcome.attempts == 3 && outcome.stop_reason == redress::StopReason::MaxAttemptsPerClass && sleeps.size() == 2
               ? 0
               : 1;
}
