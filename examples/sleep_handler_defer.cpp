// Pluggable sleep handler: persist the retry time and leave the loop instead of blocking.
// Defer stops the operation with StopReason::Scheduled; Abort stops it with Aborted.
#include <redress/redress.hpp>

#include <cstdio>
#include <vector>

using namespace std::chrono_literals;

struct Scheduled {
    int attempt;
    redress::ErrorClass klass;
    redress::Duration delay;
};
std::vector<Scheduled> job_queue;

void save_next_attempt(int attempt, redress::Duration delay, redress::ErrorClass klass) {
    job_queue.push_back({attempt, klass, delay});
}

int main() {
    redress::RetryPolicy policy{redress::Retry{
        .classifier = redress::default_classifier,
        .strategy = redress::decorrelated_jitter({.max = 5s}),
    }};

    // snippet-begin: usage-patterns-9
    auto schedule = [](const redress::BackoffContext& ctx, redress::Duration sleep) {
        save_next_attempt(ctx.attempt, sleep, ctx.classification.klass);
        return redress::SleepDecision::Defer;
    };
    // snippet-end: usage-patterns-9

    auto do_work = []() -> int { throw redress::ServerError("503"); };
    // snippet-begin: usage-patterns-10
    auto outcome = policy.execute(do_work, {.sleep = schedule});
    if (outcome.stop_reason == redress::StopReason::Scheduled) {
    // snippet-end: usage-patterns-10
        std::printf("deferred after attempt %d; retry in %lldms\n", outcome.attempts,
                    static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(*outcome.next_sleep).count()));
    }

    const bool as_expected = outcome.stop_reason == redress::StopReason::Scheduled && outcome.attempts == 1 &&
                             outcome.next_sleep.has_value() && job_queue.size() == 1 &&
                             job_queue[0].klass == redress::ErrorClass::ServerError;
    return as_expected ? 0 : 1;
}
