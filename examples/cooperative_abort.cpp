// Cooperative abort (shutdown, drain): abort_if, a std::stop_token, or AbortRetryError thrown
// by the callable stop the retries; call() then throws AbortRetryError.
#include <redress/redress.hpp>

#include <atomic>
#include <cstdio>
#include <stop_token>

using namespace std::chrono_literals;

std::atomic<bool> shutdown{false};

int main() {
    redress::RetryPolicy policy{redress::Retry{
        .classifier = redress::default_classifier,
        .strategy = redress::decorrelated_jitter({.max = 5s}),
    }};

    // snippet-begin: usage-patterns-39
    auto abort_if = [] { return shutdown.load(); };
    // snippet-end: usage-patterns-39

    int calls = 0;
    auto do_work = [&]() -> int {
        if (++calls == 2) shutdown = true;  // the process is asked to stop while we retry
        throw redress::ServerError("503");
    };
    const redress::CallOptions instant{.sleeper = [](redress::Duration) {}};

    bool aborted = false;
    // snippet-begin: usage-patterns-40
    try {
        policy.call(do_work, {.abort_if = abort_if, .sleeper = instant.sleeper});
    } catch (const redress::AbortRetryError&) {
    // snippet-end: usage-patterns-40
        aborted = true;
    }

    // The same with a std::stop_source: a stop request also wakes a sleeping retry.
    std::stop_source stop;
    stop.request_stop();
    auto outcome = policy.execute([] { return 1; }, {.stop_token = stop.get_token()});

    std::printf("aborted=%d after %d calls; stop token: %s\n", aborted, calls,
                std::string(redress::to_string(*outcome.stop_reason)).c_str());
    return aborted && calls == 2 && outcome.stop_reason == redress::StopReason::Aborted && outcome.attempts == 0 ? 0 : 1;
}
