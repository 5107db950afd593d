// Classification context: a classifier may return a Classification with a hint such as
// Retry-After; context-aware strategies read it from the BackoffContext.
#include <redress/extras/http.hpp>
#include <redress/redress.hpp>

#include <cstdio>
#include <vector>

using namespace std::chrono_literals;

// A strategy in the legacy form (attempt, class, previous sleep) is accepted too.
// snippet-begin: usage-patterns-16
redress::Duration legacy(int attempt, redress::ErrorClass, std::optional<redress::Duration>) {
    return attempt * 100ms;
}
// snippet-end: usage-patterns-16

int main() {
    // snippet-begin: usage-patterns-15
    redress::RetryPolicy policy{redress::Retry{
        .classifier = redress::extras::http_retry_after_classifier,
        .strategy = redress::retry_after_or(redress::decorrelated_jitter({.max = 10s})),
    }};
    // snippet-end: usage-patterns-15

    int calls = 0;
    std::vector<redress::Duration> sleeps;
    auto outcome = policy.execute(
        [&] {
            if (++calls == 1) throw redress::extras::HttpError(429, "2");  // Retry-After: 2
            return calls;
        },
        {.sleeper = [&](redress::Duration d) { sleeps.push_back(d); }});

    // retry_after_or sleeps for Retry-After plus up to 250ms of jitter.
    const bool honoured = sleeps.size() == 1 && sleeps[0] >= 2s && sleeps[0] <= 2250ms;
    std::printf("ok=%d slept=%lldms\n", outcome.ok,
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(sleeps.at(0)).count()));

    redress::RetryPolicy legacy_policy{redress::Retry{.strategy = legacy}};
    std::vector<redress::Duration> legacy_sleeps;
    int n = 0;
    legacy_policy.execute([&] { return ++n < 3 ? throw redress::ServerError("500") : n; },
                          {.sleeper = [&](redress::Duration d) { legacy_sleeps.push_back(d); }});

    return outcome.ok && honoured && legacy_sleeps == std::vector<redress::Duration>{100ms, 200ms} ? 0 : 1;
}
