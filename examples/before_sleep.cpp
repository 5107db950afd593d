// before_sleep: a side effect right before each sleep (metrics, logs); it only observes.
#include <redress/redress.hpp>

#include <cstdio>
#include <string>
#include <vector>

using namespace std::chrono_literals;

std::vector<std::string> log_lines;

void log_retry_delay(int attempt, redress::ErrorClass klass, redress::Duration sleep) {
    log_lines.push_back("attempt " + std::to_string(attempt) + " " + std::string(redress::to_string(klass)) + " sleep " +
                        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(sleep).count()) + "ms");
}

int main() {
    redress::RetryPolicy policy{redress::Retry{.strategy = redress::constant(1ms)}};

    // snippet-begin: usage-patterns-11
    auto before_sleep = [](const redress::BackoffContext& ctx, redress::Duration sleep) {
        log_retry_delay(ctx.attempt, ctx.classification.klass, sleep);
    };
    // snippet-end: usage-patterns-11

    int calls = 0;
    auto do_work = [&] {
        if (++calls < 3) throw redress::ConcurrencyError("409 Conflict");
        return calls;
    };
    // snippet-begin: usage-patterns-12
    policy.execute(do_work, {.before_sleep = before_sleep});
    // snippet-end: usage-patterns-12

    for (const auto& line : log_lines) std::printf("%s\n", line.c_str());
    return log_lines == std::vector<std::string>{"attempt 1 CONCURRENCY sleep 1ms", "attempt 2 CONCURRENCY sleep 1ms"} ? 0 : 1;
}
