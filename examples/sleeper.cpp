// sleeper: keep the policy's decisions, replace the wait itself (deterministic tests, a
// custom scheduler). It is called for every retry, also for a zero sleep.
#include <redress/redress.hpp>

#include <cstdio>
#include <vector>

using namespace std::chrono_literals;

std::vector<redress::Duration> recorded;

void record_sleep(redress::Duration d) { recorded.push_back(d); }

int main() {
    redress::RetryPolicy policy{redress::Retry{
        .classifier = redress::default_classifier,
        .strategy = redress::decorrelated_jitter({.max = 5s}),
    }};

    // snippet-begin: usage-patterns-13
    auto fake_sleep = [](redress::Duration d) { record_sleep(d); };
    // snippet-end: usage-patterns-13

    int calls = 0;
    auto do_work = [&] {
        if (++calls < 4) throw redress::ServerError("502");
        return calls;
    };
    // snippet-begin: usage-patterns-14
    auto outcome = policy.execute(do_work, {.sleeper = fake_sleep});
    // snippet-end: usage-patterns-14

    for (auto d : recorded)
        std::printf("slept %lldms\n", static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()));
    // decorrelated_jitter: each sleep is in [250ms, 5s].
    bool in_range = recorded.size() == 3;
    for (auto d : recorded) in_range = in_range && d >= 250ms && d <= 5s;
    return outcome.ok && in_range ? 0 : 1;
}
