// Unified Policy model: Policy{Retry{...}} is the container; RetryPolicy is the retry-only
// shortcut. The sleeper passed per call makes the sleeps virtual, so the program is instant.
#include <redress/redress.hpp>

#include <cstdio>

using namespace std::chrono_literals;

struct ConnectionError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

int main() {
    // snippet-begin: usage-patterns-1
    redress::Policy policy{redress::Retry{
        .classifier = redress::default_classifier,
        .strategy = redress::decorrelated_jitter({.max = 5s}),
        .deadline = 30s,
        .max_attempts = 5,
    }};
    // snippet-end: usage-patterns-1

    int calls = 0;
    redress::Duration slept{};
    auto outcome = policy.execute(
        [&] {
            if (++calls < 3) throw ConnectionError("connection refused");  // TRANSIENT, by its type name
            return 42;
        },
        {.operation = "answer", .sleeper = [&](redress::Duration d) { slept += d; }});

    std::printf("ok=%d value=%d attempts=%d slept=%lldms\n", outcome.ok, outcome.value.value_or(0), outcome.attempts,
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(slept).count()));

    // The same policy, retry-only, through the shortcut.
    // snippet-begin: usage-patterns-2
    redress::RetryPolicy retry_only{redress::Retry{.strategy = redress::decorrelated_jitter({.max = 5s})}};
    // snippet-end: usage-patterns-2
    const int v = retry_only.call([] { return 7; });

    const bool as_expected = outcome.ok && outcome.value == 42 && outcome.attempts == 3 && slept >= 500ms && v == 7;
    return as_expected ? 0 : 1;
}
