// <redress/fmt.hpp>: enum formatters, the one-line event format, classification, durations.
#include <redress/fmt.hpp>

#include <fmt/ranges.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

using namespace std::chrono_literals;

namespace {

template <class E>
void check_enum_formats_as_wire_value() {
    for (const E value : redress::all_values<E>()) {
        CAPTURE(redress::to_string(value));
        CHECK(fmt::format("{}", value) == redress::to_string(value));
    }
}

std::string duration_text(redress::Duration d) { return fmt::format("{}", redress::fmt_duration(d)); }

template <class E>
void check_optional_enum_formats_as_fmt_10_does() {
    for (const E value : redress::all_values<E>()) {
        CAPTURE(redress::to_string(value));
        CHECK(fmt::format("{}", std::optional<E>(value)) == "optional(" + std::string(redress::to_string(value)) + ")");
    }
    CHECK(fmt::format("{}", std::optional<E>()) == "none");
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
    check_enum_formats_as_wire_value<redress::BreakerMode>();
    check_enum_formats_as_wire_value<redress::TransitionReason>();
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

TEST_CASE("a retry event shows a zero sleep, other events show sleep only when non-zero") {
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

TEST_CASE("an event's tags come last, as key=value, their values quoted like any free text") {
    const redress::Tags tags{{"trace_id", "4bf92f35"}, {"tenant", "acme corp"}};
    redress::Event e{.name = redress::EventName::Success, .attempt = 2};
    e.operation = "charge";
    e.tags = tags.view();
    CHECK(redress::format_event(e) == R"(success attempt=2 operation=charge trace_id=4bf92f35 tenant="acme corp")");
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
    CHECK(fmt::format("{} after {} attempts", failed.stop_reason, failed.attempts) ==
          "optional(SCHEDULED) after 2 attempts");
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

// ---- durations: redress's compact form through fmt_duration, fmt's own through `{}` ----------

TEST_CASE("fmt_duration pads and aligns like a string") {
    CHECK(fmt::format("[{:>10}]", redress::fmt_duration(std::chrono::milliseconds(250))) == "[     250ms]");
    CHECK(fmt::format("[{:<10}]", redress::fmt_duration(std::chrono::nanoseconds(312'456'789))) == "[312.457ms ]");
    CHECK(fmt::format("[{:*^7}]", redress::fmt_duration(std::chrono::seconds(2))) == "[**2s***]");
    CHECK(fmt::format("[{:3}]", redress::fmt_duration(std::chrono::seconds(120))) == "[120s]");  // never cut
}

TEST_CASE("fmt_duration prints what the outcome and event lines print, for every duration") {
    // The lines and fmt_duration must not drift apart: compare them over a sweep of durations
    // (every sign, every unit boundary, rounding edges, random values and the extremes).
    std::vector<redress::Duration> durations{redress::Duration::zero(), redress::Duration::max(),
                                             redress::Duration::min(), redress::Duration::max() - redress::Duration(1),
                                             redress::Duration::min() + redress::Duration(1)};
    for (std::int64_t unit : {1LL, 1'000LL, 1'000'000LL, 1'000'000'000LL}) {
        for (std::int64_t k : {1LL, 2LL, 7LL, 499LL, 500LL, 501LL, 999LL, 1'000LL, 1'001LL, 123'456LL}) {
            durations.emplace_back(k * unit);
            durations.emplace_back(-k * unit);
            durations.emplace_back(k * unit + 1);
            durations.emplace_back(k * unit - 1);
        }
    }
    std::mt19937_64 rng(20240611);
    std::uniform_int_distribution<std::int64_t> any(std::numeric_limits<std::int64_t>::min(),
                                                    std::numeric_limits<std::int64_t>::max());
    std::uniform_int_distribution<std::int64_t> minutes(-60'000'000'000LL, 60'000'000'000LL);
    for (int i = 0; i < 500; ++i) {
        durations.emplace_back(any(rng));
        durations.emplace_back(minutes(rng));
    }
    for (const redress::Duration d : durations) {
        CAPTURE(d.count());
        const std::string text = fmt::format("{}", redress::fmt_duration(d));
        redress::Outcome<void> outcome;
        outcome.elapsed = d;
        CHECK(fmt::format("{}", outcome) == "failed attempts=0 elapsed=" + text);
        const redress::Event event{.name = redress::EventName::Scheduled, .sleep = d};
        CHECK(redress::format_event(event) == (d == redress::Duration::zero() ? "scheduled attempt=0"
                                                                                : "scheduled attempt=0 sleep=" + text));
    }
}

TEST_CASE("fmt_duration takes any duration that converts to Duration without loss") {
    CHECK(fmt::format("{}", redress::fmt_duration(std::chrono::minutes(2))) == "120s");
    CHECK(fmt::format("{}", redress::fmt_duration(std::chrono::microseconds(40))) == "40us");
    static_assert(!std::is_convertible_v<std::chrono::duration<double>, redress::Duration>,
                  "a floating-point duration needs an explicit duration_cast");
}

TEST_CASE("an outcome's elapsed prints with fmt's chrono formatter, with no include but redress/fmt.hpp") {
    redress::Outcome<int> outcome;
    outcome.elapsed = std::chrono::nanoseconds(312'456'789);
    CHECK(fmt::format("{}", outcome.elapsed) == "312456789ns");
    CHECK(fmt::format("{:%S}", outcome.elapsed) == "00.312456789");
    CHECK(fmt::format("{}", std::chrono::milliseconds(250)) == "250ms");
    CHECK(fmt::format("{} / {}", outcome.elapsed, redress::fmt_duration(outcome.elapsed)) == "312456789ns / 312.457ms");
}

// ---- std::optional and ranges of redress enums --------------------------------------------

TEST_CASE("this fmt's version decides who formats std::optional") {
    // fmt 10.0.0 added formatter<std::optional<T>> (fmt/std.h); redress steps aside from then on.
    STATIC_REQUIRE(REDRESS_FMT_HAS_STD_OPTIONAL == (FMT_VERSION >= 100000 ? 1 : 0));
}

#if !REDRESS_FMT_HAS_STD_OPTIONAL
TEST_CASE("on fmt 9 an optional redress enum prints as fmt 10 prints any optional") {
    check_optional_enum_formats_as_fmt_10_does<redress::ErrorClass>();
    check_optional_enum_formats_as_fmt_10_does<redress::StopReason>();
    check_optional_enum_formats_as_fmt_10_does<redress::EventName>();
    check_optional_enum_formats_as_fmt_10_does<redress::FailureCause>();
    check_optional_enum_formats_as_fmt_10_does<redress::AttemptDecision>();
    check_optional_enum_formats_as_fmt_10_does<redress::SleepDecision>();
    check_optional_enum_formats_as_fmt_10_does<redress::CircuitState>();
    // The specification applies to the value, and `none` is written as is (as fmt 10 does).
    CHECK(fmt::format("[{:>8}]", std::optional(redress::CircuitState::Open)) == "[optional(    open)]");
    CHECK(fmt::format("[{:>8}]", std::optional<redress::CircuitState>()) == "[none]");
}
#endif

TEST_CASE("redress enums inside ranges print bare, not quoted as strings") {
    const std::vector<redress::ErrorClass> classes{redress::ErrorClass::Transient, redress::ErrorClass::RateLimit};
    CHECK(fmt::format("{}", classes) == "[TRANSIENT, RATE_LIMIT]");
    CHECK(fmt::format("{}", std::vector<redress::CircuitState>{redress::CircuitState::HalfOpen}) == "[half_open]");
    CHECK(fmt::format("{:?}", redress::ErrorClass::Auth) == "\"AUTH\"");  // asked for explicitly
}

TEST_CASE("a breaker snapshot and a state change format as one line") {
    using namespace std::chrono_literals;
    redress::BreakerSnapshot s{.state = redress::CircuitState::Closed,
                               .since = redress::TimePoint{12s},
                               .mode = redress::BreakerMode::Ratio,
                               .failures = 3,
                               .calls = 10,
                               .failure_ratio = 0.3,
                               .recovery_timeout = 30s};
    CHECK(fmt::format("{}", s) ==
          "closed since=12s mode=ratio failures=3 calls=10 failure_ratio=0.3 probes_in_flight=0 probe_successes=0 "
          "openings=0 recovery_timeout=30s");
    s = redress::BreakerSnapshot{.state = redress::CircuitState::Open,
                                 .isolated = true,
                                 .since = redress::TimePoint{1500ms},
                                 .mode = redress::BreakerMode::Consecutive,
                                 .openings = 2,
                                 .recovery_timeout = 1min};
    CHECK(fmt::format("{}", s) ==
          "open isolated since=1500ms mode=consecutive failures=0 probes_in_flight=0 probe_successes=0 openings=2 "
          "recovery_timeout=60s");
    s.isolated = false;
    s.fleet = true;
    s.store_unavailable = 4;
    CHECK(fmt::format("{}", s) ==
          "open since=1500ms mode=consecutive failures=0 probes_in_flight=0 probe_successes=0 openings=2 "
          "recovery_timeout=60s fleet=true store_unavailable=4");
    const redress::BreakerStateChange c{redress::CircuitState::HalfOpen, redress::CircuitState::Open,
                                        redress::TransitionReason::ProbeFailed, redress::TimePoint{90s}};
    CHECK(fmt::format("{}", c) == "half_open -> open reason=probe_failed at=90s");
}
