// Every retry decision in the service's spdlog log: one key=value line per event, at a level
// chosen by what happened (a retry warns, an exhausted operation is an error).
#include <redress/contrib/spdlog.hpp>
#include <redress/redress.hpp>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;

int main() {
    // The service's logger: stdout, plus a ring buffer this example reads back to check itself.
    auto recent = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
    auto logger = std::make_shared<spdlog::logger>(
        "payments", spdlog::sinks_init_list{std::make_shared<spdlog::sinks::stdout_sink_mt>(), recent});
    logger->set_pattern("[%l] %v");

    // snippet-begin: spdlog-1
    redress::Policy policy{redress::Retry{
        .strategy = redress::constant(5ms),
        .max_attempts = 3,
        .on_log = redress::contrib::SpdlogHook(logger),  // no argument: spdlog's default logger
    }};
    // snippet-end: spdlog-1

    int calls = 0;
    const int receipt = policy.call(
        [&] {
            if (++calls < 3) throw redress::ServerError("503 Service Unavailable");
            return 1042;
        },
        {.operation = "charge card"});

    try {
        policy.call([]() -> int { throw redress::PermanentError("card declined"); }, {.operation = "charge card"});
    } catch (const redress::PermanentError&) {
    }

    // snippet-begin: spdlog-2
    // Retries at debug, first-attempt successes not at all, a breaker rejection as an error.
    redress::contrib::SpdlogHook quieter(logger, {
        .levels = {{redress::EventName::Retry, spdlog::level::debug},
                   {redress::EventName::CircuitRejected, spdlog::level::err}},
        .first_attempt_success = spdlog::level::off,
    });
    // snippet-end: spdlog-2
    quieter({.name = redress::EventName::Success, .attempt = 1, .operation = "charge card"});  // not logged

    std::vector<std::string> lines;
    for (const auto& line : recent->last_formatted()) lines.push_back(line.substr(0, line.find_last_not_of("\r\n") + 1));
    const std::vector<std::string> expected{
        R"([warning] event=retry attempt=1 operation="charge card" class=SERVER_ERROR sleep_ms=5 cause=exception error_type=redress::ServerError)",
        R"([warning] event=retry attempt=2 operation="charge card" class=SERVER_ERROR sleep_ms=5 cause=exception error_type=redress::ServerError)",
        R"([info] event=success attempt=3 operation="charge card")",
        R"([error] event=permanent_fail attempt=1 operation="charge card" class=PERMANENT stop_reason=NON_RETRYABLE_CLASS cause=exception error_type=redress::PermanentError)",
    };
    std::printf("receipt %d after %d calls; %zu lines logged\n", receipt, calls, lines.size());
    return receipt == 1042 && lines == expected ? 0 : 1;
}
