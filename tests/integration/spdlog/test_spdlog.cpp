// <redress/contrib/spdlog.hpp> against the real spdlog: a scripted run (virtual time) logged
// through an spdlog logger with an ostream sink and the pattern "%l %v", checked line by
// line; the levels per event; the quoting that keeps every line parseable.
#include <redress/contrib/spdlog.hpp>
#include <redress/redress.hpp>
#include <redress/testing.hpp>

#include "every_event.hpp"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/ringbuffer_sink.h>

#include <catch2/catch.hpp>

#include "catch_runner.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using redress::EventName;
using redress::contrib::SpdlogHook;
using redress::contrib::SpdlogOptions;
namespace level = spdlog::level;

namespace {

// A permanent failure whose demangled type has a space in it: error_type must be quoted.
struct Rejected : redress::PermanentError {
    using redress::PermanentError::PermanentError;
};

// A logger writing "<level> <message>" lines into a string.
struct CapturedLog {
    std::ostringstream text;
    std::shared_ptr<spdlog::logger> logger;

    explicit CapturedLog(level::level_enum at = level::trace)
        : logger(std::make_shared<spdlog::logger>("redress-test", std::make_shared<spdlog::sinks::ostream_sink_st>(text))) {
        logger->set_pattern("%l %v");
        logger->set_level(at);
    }

    [[nodiscard]] std::vector<std::string> lines() const {
        std::vector<std::string> out;
        std::istringstream in(text.str());
        for (std::string line; std::getline(in, line);) out.push_back(line);
        return out;
    }
};

void check_lines(const std::vector<std::string>& actual, const std::vector<std::string>& expected) {
    for (std::size_t i = 0; i < std::max(actual.size(), expected.size()); ++i) {
        CAPTURE(i);
        CHECK((i < actual.size() ? actual[i] : "<missing>") == (i < expected.size() ? expected[i] : "<none expected>"));
    }
}

// The shared script (support/every_event.hpp): every kind of event.
void run_script(const redress::EventHook& on_log) {
    redress::it::run_every_event(
        on_log, redress::it::Hook::Log, [](const redress::BackoffContext& ctx) { return ctx.attempt * 100ms + 500us; },
        [] { throw Rejected("schema"); });
}

// ---- a logfmt reader, to show the lines parse back ------------------------------------

using Fields = std::vector<std::pair<std::string, std::string>>;

std::optional<Fields> parse_logfmt(const std::string& line) {
    Fields fields;
    std::size_t i = 0;
    while (i < line.size()) {
        const auto eq = line.find('=', i);
        if (eq == std::string::npos) return std::nullopt;
        std::string key = line.substr(i, eq - i);
        if (key.empty() || key.find(' ') != std::string::npos) return std::nullopt;
        i = eq + 1;
        std::string value;
        if (i < line.size() && line[i] == '"') {
            ++i;
            for (;; ++i) {
                if (i >= line.size()) return std::nullopt;
                const char c = line[i];
                if (c == '"') break;
                if (c != '\\') {
                    value += c;
                    continue;
                }
                if (++i >= line.size()) return std::nullopt;
                switch (line[i]) {
                    case '"': value += '"'; break;
                    case '\\': value += '\\'; break;
                    case 'n': value += '\n'; break;
                    case 'r': value += '\r'; break;
                    case 't': value += '\t'; break;
                    case 'x':
                        if (i + 2 >= line.size()) return std::nullopt;
                        value += static_cast<char>(std::stoi(line.substr(i + 1, 2), nullptr, 16));
                        i += 2;
                        break;
                    default: return std::nullopt;
                }
            }
            ++i;  // the closing quote
        } else {
            const auto end = line.find(' ', i);
            value = line.substr(i, end == std::string::npos ? std::string::npos : end - i);
            if (value.empty() || value.find('"') != std::string::npos) return std::nullopt;
            i += value.size();
        }
        fields.emplace_back(std::move(key), std::move(value));
        if (i == line.size()) break;
        if (line[i] != ' ') return std::nullopt;
        ++i;
    }
    return fields;
}

// "<integer>[.<digits>]" milliseconds back to nanoseconds, exactly (wider than Duration).
__extension__ typedef __int128 Int128;

Int128 ms_to_ns(const std::string& text) {
    std::size_t i = 0;
    const bool negative = !text.empty() && text[0] == '-';
    if (negative) ++i;
    Int128 ns = 0;
    for (; i < text.size() && text[i] != '.'; ++i) ns = ns * 10 + (text[i] - '0');
    ns *= 1'000'000;
    if (i < text.size()) {
        Int128 scale = 100'000;
        for (++i; i < text.size(); ++i, scale /= 10) ns += (text[i] - '0') * scale;
    }
    return negative ? -ns : ns;
}

}  // namespace

TEST_CASE("a scripted run logs one line per event, at the level of its kind, with only the fields that apply") {
    CapturedLog log;
    run_script(SpdlogHook(log.logger));
    check_lines(log.lines(), {
        R"(warning event=retry attempt=1 operation="GET /users/\"1\"" class=SERVER_ERROR sleep_ms=100.5 cause=exception error_type=redress::ServerError)",
        R"(warning event=retry attempt=2 operation="GET /users/\"1\"" class=SERVER_ERROR sleep_ms=200.5 cause=exception error_type=redress::ServerError)",
        R"(info event=success attempt=3 operation="GET /users/\"1\"")",
        R"(error event=permanent_fail attempt=1 operation=save class=PERMANENT stop_reason=NON_RETRYABLE_CLASS cause=exception error_type="(anonymous namespace)::Rejected")",
        R"(warning event=retry attempt=1 operation=quota class=RATE_LIMIT sleep_ms=100.5 cause=result retry_after_ms=2000)",
        R"(info event=success attempt=2 operation=quota)",
        R"(warning event=retry attempt=1 operation="sync account" class=SERVER_ERROR sleep_ms=100.5 cause=exception error_type=redress::ServerError)",
        R"(warning event=retry attempt=2 operation="sync account" class=SERVER_ERROR sleep_ms=200.5 cause=exception error_type=redress::ServerError)",
        R"(error event=max_attempts_exceeded attempt=3 operation="sync account" class=SERVER_ERROR stop_reason=MAX_ATTEMPTS_GLOBAL cause=exception error_type=redress::ServerError)",
        R"(warning event=retry attempt=1 operation="sync account" class=SERVER_ERROR sleep_ms=100.5 cause=exception error_type=redress::ServerError)",
        R"(warning event=retry attempt=2 operation="sync account" class=SERVER_ERROR sleep_ms=200.5 cause=exception error_type=redress::ServerError)",
        R"(error event=max_attempts_exceeded attempt=3 operation="sync account" class=SERVER_ERROR stop_reason=MAX_ATTEMPTS_GLOBAL cause=exception error_type=redress::ServerError)",
        R"(warning event=circuit_opened operation="sync account" class=SERVER_ERROR state=open)",
        R"(warning event=circuit_rejected operation="sync account" state=open)",
        R"(info event=circuit_half_open operation="sync account" state=half_open)",
        R"(debug event=success attempt=1 operation="sync account")",
        R"(info event=circuit_closed operation="sync account" state=closed)",
        R"(warning event=aborted attempt=1 operation=drain stop_reason=ABORTED)",
    });
}

TEST_CASE("a budget backend that did not answer logs budget_backend_unavailable before the retry it admitted") {
    struct Unanswering final : redress::BudgetBackend {
        redress::BudgetVerdict consume(int) override { return redress::BudgetVerdict::AdmittedUnavailable; }
        [[nodiscard]] int remaining() const override { return 0; }
    };
    CapturedLog log;
    redress::testing::ManualClock clock;
    redress::Policy policy{redress::Retry{
        .strategy = redress::constant(250ms),
        .budget = redress::Budget(std::make_shared<Unanswering>()),
        .sleeper = redress::testing::AdvancingSleeper(clock),
        .clock = clock,
        .on_log = SpdlogHook(log.logger),
    }};
    int calls = 0;
    REQUIRE(policy.call(
                [&] {
                    if (++calls == 1) throw redress::ServerError("503");
                    return calls;
                },
                {.operation = "reserve"}) == 2);
    check_lines(log.lines(), {
        "warning event=budget_backend_unavailable attempt=1 operation=reserve class=SERVER_ERROR cause=exception error_type=redress::ServerError",
        "warning event=retry attempt=1 operation=reserve class=SERVER_ERROR sleep_ms=250 cause=exception error_type=redress::ServerError",
        "info event=success attempt=2 operation=reserve",
    });
}

TEST_CASE("a deferred retry logs the retry, then scheduled with the deferred sleep") {
    CapturedLog log;
    redress::testing::ManualClock clock;
    redress::Policy policy{redress::Retry{
        .strategy = redress::constant(250ms),
        .sleeper = redress::testing::AdvancingSleeper(clock),
        .clock = clock,
        .on_log = SpdlogHook(log.logger),
    }};
    int calls = 0;
    const auto flaky = [&] {
        if (++calls == 1) throw redress::RateLimitError("429");
        return calls;
    };
    REQUIRE(policy.call(flaky, {.operation = "now"}) == 2);
    calls = 0;
    const auto outcome = policy.execute(
        flaky, {.operation = "later", .sleep = [](const redress::BackoffContext&, redress::Duration) {
                    return redress::SleepDecision::Defer;
                }});
    REQUIRE(outcome.stop_reason == redress::StopReason::Scheduled);
    check_lines(log.lines(), {
        "warning event=retry attempt=1 operation=now class=RATE_LIMIT sleep_ms=250 cause=exception error_type=redress::RateLimitError",
        "info event=success attempt=2 operation=now",
        "warning event=retry attempt=1 operation=later class=RATE_LIMIT sleep_ms=250 cause=exception error_type=redress::RateLimitError",
        "info event=scheduled attempt=1 operation=later class=RATE_LIMIT sleep_ms=250 stop_reason=SCHEDULED cause=exception error_type=redress::RateLimitError",
    });
}

TEST_CASE("the policy's and the call's tags end every line, quoted like any value") {
    CapturedLog log;
    redress::testing::ManualClock clock;
    redress::Policy policy{redress::Retry{
        .strategy = redress::constant(250ms),
        .sleeper = redress::testing::AdvancingSleeper(clock),
        .clock = clock,
        .on_log = SpdlogHook(log.logger),
        .tags = {{"downstream", "billing"}},
    }};
    int calls = 0;
    REQUIRE(policy.call(
                [&] {
                    if (++calls == 1) throw redress::ServerError("503");
                    return calls;
                },
                {.operation = "charge", .tags = {{"trace_id", "4bf92f35"}, {"tenant", "acme corp"}}}) == 2);
    check_lines(log.lines(), {
        R"(warning event=retry attempt=1 operation=charge class=SERVER_ERROR sleep_ms=250 cause=exception error_type=redress::ServerError downstream=billing trace_id=4bf92f35 tenant="acme corp")",
        R"(info event=success attempt=2 operation=charge downstream=billing trace_id=4bf92f35 tenant="acme corp")",
    });
}

TEST_CASE("the logger's level filters the lines: at info, a first-attempt success is not logged") {
    CapturedLog log(level::info);
    run_script(SpdlogHook(log.logger));
    const auto lines = log.lines();
    CHECK(lines.size() == 17);
    for (const auto& line : lines) CHECK(line.rfind("debug ", 0) != 0);
}

TEST_CASE("a ring buffer sink receives the same lines (any spdlog sink works)") {
    auto ring = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
    auto logger = std::make_shared<spdlog::logger>("ring", ring);
    logger->set_level(level::trace);
    run_script(SpdlogHook(logger));
    const auto messages = ring->last_raw();
    REQUIRE(messages.size() == 18);
    CHECK(messages[13].level == level::warn);
    CHECK(std::string(messages[13].payload.data(), messages[13].payload.size()) ==
          R"(event=circuit_rejected operation="sync account" state=open)");
}

TEST_CASE("each event has its default level, and a first-attempt success its own") {
    const SpdlogHook hook(std::make_shared<spdlog::logger>("levels"));
    const std::map<EventName, level::level_enum> expected{
        {EventName::Success, level::info},           {EventName::Retry, level::warn},
        {EventName::PermanentFail, level::err},       {EventName::DeadlineExceeded, level::err},
        {EventName::MaxAttemptsExceeded, level::err}, {EventName::MaxUnknownAttemptsExceeded, level::err},
        {EventName::NoStrategyConfigured, level::err}, {EventName::BudgetExhausted, level::err},
        {EventName::Scheduled, level::info},          {EventName::Aborted, level::warn},
        {EventName::CircuitOpened, level::warn},      {EventName::CircuitHalfOpen, level::info},
        {EventName::CircuitClosed, level::info},      {EventName::CircuitRejected, level::warn},
        {EventName::BudgetBackendUnavailable, level::warn},
        {EventName::HedgeSent, level::info},          {EventName::HedgeSkipped, level::info},
    };
    REQUIRE(expected.size() == redress::all_values<EventName>().size());
    for (const EventName name : redress::all_values<EventName>()) {
        CAPTURE(redress::to_string(name));
        CHECK(hook.level_of({.name = name, .attempt = 2}) == expected.at(name));
    }
    CHECK(hook.level_of({.name = EventName::Success, .attempt = 1}) == level::debug);
}

TEST_CASE("levels are configurable per event, off silences an event") {
    CapturedLog log;
    const SpdlogHook hook(log.logger, {.levels = {{EventName::Retry, level::off}, {EventName::Success, level::critical}},
                                       .first_attempt_success = level::trace});
    hook({.name = EventName::Retry, .attempt = 1, .sleep = 1s});
    hook({.name = EventName::Success, .attempt = 2});
    hook({.name = EventName::Success, .attempt = 1});
    hook({.name = EventName::BudgetExhausted, .attempt = 4, .stop_reason = redress::StopReason::BudgetExhausted});
    check_lines(log.lines(), {
                                 "critical event=success attempt=2",
                                 "trace event=success attempt=1",
                                 "error event=budget_exhausted attempt=4 stop_reason=BUDGET_EXHAUSTED",
                             });
}

TEST_CASE("invalid options throw std::invalid_argument naming the option") {
    const auto message = [](auto make) {
        try {
            make();
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("no exception");
    };
    CHECK_THAT(message([] { static_cast<void>(SpdlogHook({}, {.levels = {{static_cast<EventName>(99), level::info}}})); }),
               Catch::StartsWith("SpdlogOptions::levels: key 99"));
    CHECK_THAT(message([] { static_cast<void>(SpdlogHook({}, {.levels = {{EventName::Retry, static_cast<level::level_enum>(42)}}})); }),
               Catch::StartsWith("SpdlogOptions::levels: 42"));
    CHECK_THAT(message([] { static_cast<void>(SpdlogHook({}, {.first_attempt_success = static_cast<level::level_enum>(-1)})); }),
               Catch::StartsWith("SpdlogOptions::first_attempt_success: -1"));
}

TEST_CASE("without a logger the hook logs to spdlog's default logger of the moment") {
    const auto previous = spdlog::default_logger();
    const SpdlogHook hook;  // made before the default logger is replaced
    CapturedLog log;
    spdlog::set_default_logger(log.logger);
    hook({.name = EventName::CircuitOpened, .operation = "db", .state = redress::CircuitState::Open});
    spdlog::set_default_logger(previous);
    check_lines(log.lines(), {"warning event=circuit_opened operation=db state=open"});
}

TEST_CASE("any operation and error type, whatever its bytes, parses back from the line unchanged") {
    std::mt19937 rng(20261201);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<int> length(0, 24);
    const auto random_text = [&] {
        std::string s(static_cast<std::size_t>(length(rng)), '\0');
        for (auto& c : s) c = static_cast<char>(byte(rng));
        return s;
    };
    std::vector<std::string> samples{"", " ", "=", "\"", "\\", "a b", "k=v", "tab\there", "new\nline", "\x7f", "é ü"};
    for (int i = 0; i < 2000; ++i) samples.push_back(random_text());
    for (const auto& text : samples) {
        const std::string operation = text;
        const std::string error_type = text + "!";
        redress::Event e{.name = EventName::PermanentFail, .attempt = 1, .error_class = redress::ErrorClass::Permanent,
                         .error_type = error_type, .stop_reason = redress::StopReason::NonRetryableClass,
                         .cause = redress::FailureCause::Exception, .operation = operation};
        const std::string line = redress::contrib::format_event_fields(e);
        CAPTURE(line);
        CHECK(line.find('\n') == std::string::npos);
        CHECK(line.find('\r') == std::string::npos);
        const auto fields = parse_logfmt(line);
        REQUIRE(fields);
        Fields expected{{"event", "permanent_fail"}, {"attempt", "1"}};
        if (!operation.empty()) expected.emplace_back("operation", operation);
        expected.insert(expected.end(), {{"class", "PERMANENT"},
                                         {"stop_reason", "NON_RETRYABLE_CLASS"},
                                         {"cause", "exception"},
                                         {"error_type", error_type}});
        CHECK(*fields == expected);
    }
}

TEST_CASE("sleep_ms and retry_after_ms are exact decimal milliseconds for any duration") {
    std::mt19937_64 rng(7);
    std::vector<redress::Duration> samples{0ns, 1ns, 999ns, 1ms, 1500us, 100ms + 500us, 312456789ns, 2s, 24h,
                                           redress::Duration::max(), redress::Duration::min(), -1ns, -1500us};
    for (int i = 0; i < 2000; ++i) samples.emplace_back(static_cast<std::int64_t>(rng()));
    for (const auto d : samples) {
        const auto line = redress::contrib::format_event_fields({.name = EventName::Retry, .attempt = 1, .sleep = d, .retry_after = d});
        CAPTURE(line);
        const auto fields = parse_logfmt(line);
        REQUIRE(fields);
        REQUIRE(fields->size() == 4);
        CHECK((*fields)[2].first == "sleep_ms");
        CHECK((*fields)[3].first == "retry_after_ms");
        CHECK(ms_to_ns((*fields)[2].second) == static_cast<Int128>(d.count()));
        CHECK((*fields)[3].second == (*fields)[2].second);
        const auto& text = (*fields)[2].second;
        CHECK((text.find('.') == std::string::npos || text.back() != '0'));  // no trailing zeros
    }
}

int main(int argc, char* argv[]) { return redress_test::run_catch(argc, argv); }
