// <redress/fmt.hpp>: enum formatters, the one-line event format, classification, durations.
#include <redress/fmt.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <string_view>

using namespace std::chrono_literals;

namespace {

template <class E>
void check_enum_formats_as_wire_value() {
    for (const E value : redress::all_values<E>()) {
        CAPTURE(redress::to_string(value));
        CHECK(fmt::format("{}", value) == redress::to_string(value));
    }
}

std::string duration_text(redress::Duration d) {
    std::string out;
    redress::detail::format_duration_to(std::back_inserter(out), d);
    return out;
}

}  // namespace

TEST_CASE("every enum formats as its wire value") {
    check_enum_formats_as_wire_value<redress::ErrorClass>();
    check_enum_formats_as_wire_value<redress::StopReason>();
    check_enum_formats_as_wire_value<redress::EventName>();
    check_enum_formats_as_wire_value<redress::FailureCause>();
    check_enum_formats_as_wire_value<redress::AttemptDecision>();
    check_enum_formats_as_wire_value<redress::SleepDecision>();
    check_enum_formats_as_wire_value<redress::CircuitState>();
    CHECK(fmt::format("{}", redress::ErrorClass::RateLimit) == "RATE_LIMIT");
    CHECK(fmt::format("{}", redress::CircuitState::HalfOpen) == "half_open");
}

TEST_CASE("enum formatters accept string width and alignment") {
    CHECK(fmt::format("[{:>6}]", redress::CircuitState::Open) == "[  open]");
    CHECK(fmt::format("[{:<6}]", redress::FailureCause::Result) == "[result]");
    CHECK(fmt::format("[{:*^9}]", redress::AttemptDecision::Retry) == "[**retry**]");
}

TEST_CASE("a retry event is one line with its sleep and only the tags that are set") {
    redress::Event e{.name = redress::EventName::Retry, .attempt = 2, .sleep = 250ms};
    e.error_class = redress::ErrorClass::Transient;
    e.error_type = "std::runtime_error";
    e.operation = "fetch";
    CHECK(fmt::format("{}", e) ==
          "retry attempt=2 sleep=250ms error_class=TRANSIENT error_type=std::runtime_error operation=fetch");

    e.cause = redress::FailureCause::Exception;
    e.retry_after = 2s;
    CHECK(redress::format_event(e) ==
          "retry attempt=2 sleep=250ms error_class=TRANSIENT error_type=std::runtime_error cause=exception "
          "operation=fetch retry_after=2s");
}

TEST_CASE("a retry event shows a zero sleep; other events show sleep only when non-zero") {
    CHECK(redress::format_event({.name = redress::EventName::Retry, .attempt = 1}) == "retry attempt=1 sleep=0ms");
    CHECK(redress::format_event({.name = redress::EventName::Success, .attempt = 3}) == "success attempt=3");
    CHECK(redress::format_event({.name = redress::EventName::Scheduled, .attempt = 1, .sleep = 5s}) ==
          "scheduled attempt=1 sleep=5s");
}

TEST_CASE("terminal and breaker events carry their stop reason and state") {
    redress::Event stop{.name = redress::EventName::MaxAttemptsExceeded, .attempt = 6};
    stop.error_class = redress::ErrorClass::ServerError;
    stop.stop_reason = redress::StopReason::MaxAttemptsGlobal;
    stop.cause = redress::FailureCause::Result;
    CHECK(redress::format_event(stop) ==
          "max_attempts_exceeded attempt=6 error_class=SERVER_ERROR stop_reason=MAX_ATTEMPTS_GLOBAL cause=result");

    redress::Event breaker{.name = redress::EventName::CircuitOpened};
    breaker.state = redress::CircuitState::Open;
    breaker.operation = "charge";
    CHECK(redress::format_event(breaker) == "circuit_opened attempt=0 operation=charge state=open");
}

TEST_CASE("free-text tag values with spaces, quotes or '=' are quoted and escaped") {
    redress::Event e{.name = redress::EventName::PermanentFail, .attempt = 1};
    e.operation = "GET /users";
    e.error_type = R"(my::Error<"a=b">)";
    CHECK(redress::format_event(e) ==
          R"(permanent_fail attempt=1 error_type="my::Error<\"a=b\">" operation="GET /users")");

    e.error_type = {};
    e.operation = R"(C:\path)";
    CHECK(redress::format_event(e) == R"(permanent_fail attempt=1 operation="C:\\path")");
}

TEST_CASE("classifications format as class, then retry_after and details when present") {
    CHECK(fmt::format("{}", redress::Classification{redress::ErrorClass::Auth}) == "AUTH");
    CHECK(fmt::format("{}", redress::Classification{redress::ErrorClass::RateLimit, 1500ms, "quota exceeded"}) ==
          R"(RATE_LIMIT retry_after=1500ms details="quota exceeded")");
    CHECK(fmt::format("{}", redress::Classification{redress::ErrorClass::ServerError, std::nullopt, "503"}) ==
          "SERVER_ERROR details=503");
}

TEST_CASE("durations use the largest exact unit, else milliseconds to the microsecond") {
    CHECK(duration_text(0ns) == "0ms");
    CHECK(duration_text(3s) == "3s");
    CHECK(duration_text(120s) == "120s");
    CHECK(duration_text(250ms) == "250ms");
    CHECK(duration_text(1500ms) == "1500ms");
    CHECK(duration_text(40us) == "40us");
    CHECK(duration_text(7ns) == "7ns");
    CHECK(duration_text(1500ns) == "1500ns");
    CHECK(duration_text(312'456'789ns) == "312.457ms");
    CHECK(duration_text(1'500'500'000ns) == "1500.5ms");
    CHECK(duration_text(2'000'000'400ns) == "2000ms");  // rounds to a whole millisecond
    CHECK(duration_text(-250ms) == "-250ms");
    CHECK(duration_text(-1'500'500ns) == "-1.501ms");
    CHECK_FALSE(duration_text(redress::Duration::max()).empty());
    CHECK_FALSE(duration_text(redress::Duration::min()).empty());
}

TEST_CASE("event and classification formatters reject a format spec") {
    const redress::Event e{};
    CHECK_THROWS_AS(fmt::format(fmt::runtime("{:>10}"), e), fmt::format_error);
    CHECK_THROWS_AS(fmt::format(fmt::runtime("{:x}"), redress::Classification{}), fmt::format_error);
}

TEST_CASE("outcomes, optional enums and timelines format readably") {
    redress::Outcome<int> ok;
    ok.ok = true;
    ok.attempts = 1;
    ok.elapsed = std::chrono::milliseconds(2);
    CHECK(fmt::format("{}", ok) == "ok attempts=1 elapsed=2ms");

    redress::Outcome<void> failed;
    failed.stop_reason = redress::StopReason::Scheduled;
    failed.attempts = 2;
    failed.last_class = redress::ErrorClass::RateLimit;
    failed.cause = redress::FailureCause::Exception;
    failed.elapsed = std::chrono::seconds(1);
    failed.next_sleep = std::chrono::milliseconds(1500);
    CHECK(fmt::format("{}", failed) ==
          "failed stop_reason=SCHEDULED attempts=2 last_class=RATE_LIMIT cause=exception elapsed=1s next_sleep=1500ms");

    std::optional<redress::StopReason> none;
    CHECK(fmt::format("{} after {} attempts", failed.stop_reason, failed.attempts) == "SCHEDULED after 2 attempts");
    CHECK(fmt::format("{}", none) == "none");

    redress::RetryTimeline timeline;
    redress::Event retry;
    retry.name = redress::EventName::Retry;
    retry.attempt = 1;
    retry.sleep = std::chrono::milliseconds(250);
    retry.error_class = redress::ErrorClass::Transient;
    timeline.record(retry, std::chrono::milliseconds(10));
    redress::Event success;
    success.name = redress::EventName::Success;
    success.attempt = 2;
    timeline.record(success, std::chrono::milliseconds(260));
    CHECK(fmt::format("{}", timeline) ==
          "+10ms retry attempt=1 sleep=250ms error_class=TRANSIENT\n+260ms success attempt=2");
}
