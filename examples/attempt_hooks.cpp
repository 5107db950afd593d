// Attempt lifecycle hooks: on_attempt_start and on_attempt_end run around every attempt;
// on_attempt_end sees the decision taken.
#include <redress/redress.hpp>

#include <cstdio>
#include <vector>

using namespace std::chrono_literals;

struct RetryRecord {
    int attempt;
    redress::ErrorClass klass;
    redress::Duration sleep;
};
std::vector<RetryRecord> retries;

void record_retry(int attempt, redress::ErrorClass klass, redress::Duration sleep) {
    retries.push_back({attempt, klass, sleep});
}

int main() {
    redress::RetryPolicy policy{redress::Retry{.strategy = redress::constant(1ms)}};

    // snippet-begin: observability-3
    // snippet-begin: usage-patterns-28
    auto on_attempt_end = [](const redress::AttemptContext& ctx) {
        if (ctx.decision == redress::AttemptDecision::Retry) {
            record_retry(ctx.attempt, ctx.classification->klass, *ctx.sleep);
        }
    };
    // snippet-end: usage-patterns-28
    // snippet-end: observability-3

    int started = 0;
    int calls = 0;
    auto do_work = [&] {
        if (++calls < 3) throw redress::ServerError("500");
        return calls;
    };
    policy.call([&] { return do_work(); },
                {.operation = "sync_account",
                 .on_attempt_start = [&](const redress::AttemptContext&) { ++started; },
                 .on_attempt_end = on_attempt_end});

    for (const auto& r : retries)
        std::printf("retry after attempt %d (%s)\n", r.attempt, std::string(redress::to_string(r.klass)).c_str());
    return started == 3 && retries.size() == 2 && retries[1].attempt == 2 && retries[1].sleep == 1ms ? 0 : 1;
}
