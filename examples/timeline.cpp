// Timelines: capture_timeline records every event with its elapsed time, for debugging.
#include <redress/redress.hpp>

#include <cstdio>
#include <memory>
#include <string>

using namespace std::chrono_literals;

int main() {
    redress::RetryPolicy policy{redress::Retry{.strategy = redress::constant(1ms), .max_attempts = 3}};
    int calls = 0;
    auto do_work = [&] {
        if (++calls < 2) throw redress::ServerError("500");
        return calls;
    };

    // snippet-begin: observability-4
    // snippet-begin: usage-patterns-37
    auto outcome = policy.execute(do_work, {.capture_timeline = true});

    if (outcome.timeline != nullptr) {
        for (const auto& event : outcome.timeline->events) {
            std::printf("%d %s %s\n", event.attempt, std::string(redress::to_string(event.event)).c_str(),
                        event.stop_reason ? std::string(redress::to_string(*event.stop_reason)).c_str() : "-");
        }
    // snippet-end: usage-patterns-37
    // snippet-end: observability-4
    }

    // An explicit collector, reused across operations.
    // snippet-begin: usage-patterns-38
    auto timeline = std::make_shared<redress::RetryTimeline>();
    outcome = policy.execute(do_work, {.capture_timeline = timeline});
    // snippet-end: usage-patterns-38
    outcome = policy.execute(do_work, {.capture_timeline = timeline});

    return outcome.ok && outcome.timeline == timeline && timeline->events.size() == 2 ? 0 : 1;
}
