// Logging and metrics hooks together: both receive every event as one redress::Event.
#include <redress/redress.hpp>

#include <cstdio>
#include <map>
#include <string>

using namespace std::chrono_literals;

// Stands in for a metrics counter with labels (Prometheus, StatsD...).
std::map<std::string, int> counter;

// snippet-begin: usage-patterns-25
void log_hook(const redress::Event& e) {
    std::printf("retry_event event=%s attempt=%d operation=%s\n", std::string(redress::to_string(e.name)).c_str(),
                e.attempt, std::string(e.operation).c_str());
}
// snippet-end: usage-patterns-25

int main() {
    redress::RetryPolicy policy{redress::Retry{.strategy = redress::constant(1ms)}};

    // snippet-begin: observability-1
    // snippet-begin: usage-patterns-26
    auto metric_hook = [](const redress::Event& e) {
        std::string key(redress::to_string(e.name));
        if (e.error_class) key += "/" + std::string(redress::to_string(*e.error_class));
        ++counter[key];
    };
    // snippet-end: usage-patterns-26
    // snippet-end: observability-1

    int calls = 0;
    auto do_work = [&] {
        if (++calls < 3) throw redress::ServerError("500");
        return calls;
    };
    // snippet-begin: usage-patterns-27
    policy.call([&] { return do_work(); },
                {.operation = "sync_account", .on_metric = metric_hook, .on_log = log_hook});
    // snippet-end: usage-patterns-27

    for (const auto& [key, n] : counter) std::printf("%s %d\n", key.c_str(), n);
    return counter == std::map<std::string, int>{{"retry/SERVER_ERROR", 2}, {"success", 1}} ? 0 : 1;
}
