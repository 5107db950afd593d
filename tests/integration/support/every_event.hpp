// One fixed script that makes a policy (retry + breaker, virtual time) emit every kind of
// event, shared by the observability integrations' tests (spdlog's lines, Prometheus's
// counters), so both are checked against the same run.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <optional>

#include <redress/redress.hpp>
#include <redress/testing.hpp>

namespace redress::it {

/// Where the script's events go.
enum class Hook { Metric, Log };

/// Runs, in order: 503, 503, success ("GET /users/\"1\""); a permanent failure thrown by
/// `throw_permanent` ("save"); a rejected result (-1, RateLimit, Retry-After 2 s) then a
/// success ("quota"); two exhausted operations that open the breaker, a rejection, the
/// half-open probe closing it ("sync account"); an abort ("drain"). Sleeps by `strategy`.
inline void run_every_event(const EventHook& hook, Hook where, AnyStrategy strategy,
                            const std::function<void()>& throw_permanent) {
    using namespace std::chrono_literals;
    testing::ManualClock clock;
    CircuitBreaker breaker{{.failure_threshold = 2, .window = 60s, .recovery_timeout = 30s, .clock = clock}};
    Retry<DefaultClassifier, AnyStrategy, std::function<std::optional<Classification>(const int&)>> retry{
        .result_classifier = [](const int& v) -> std::optional<Classification> {
            if (v >= 0) return std::nullopt;
            return Classification{.klass = ErrorClass::RateLimit, .retry_after = 2s};
        },
        .strategy = std::move(strategy),
        .max_attempts = 3,
        .sleeper = testing::AdvancingSleeper(clock),
        .clock = clock,
    };
    (where == Hook::Metric ? retry.on_metric : retry.on_log) = hook;
    Policy policy{retry, breaker};

    int calls = 0;
    REQUIRE(policy.call(
                [&] {
                    if (++calls < 3) throw ServerError("503");
                    return calls;
                },
                {.operation = "GET /users/\"1\""}) == 3);
    bool permanent_thrown = false;
    try {
        policy.call([&]() -> int { throw_permanent(); return 0; }, {.operation = "save"});
    } catch (const PermanentError&) {
        permanent_thrown = true;
    }
    REQUIRE(permanent_thrown);
    calls = 0;
    REQUIRE(policy.call([&] { return ++calls == 1 ? -1 : 7; }, {.operation = "quota"}) == 7);
    for (int i = 0; i < 2; ++i)  // two exhausted operations open the breaker
        REQUIRE_THROWS_AS(policy.call([]() -> int { throw ServerError("502"); }, {.operation = "sync account"}),
                          ServerError);
    REQUIRE_THROWS_AS(policy.call([] { return 1; }, {.operation = "sync account"}), CircuitOpenError);
    clock.advance(30s);
    REQUIRE(policy.call([] { return 1; }, {.operation = "sync account"}) == 1);  // the probe closes it
    bool stop = false;
    REQUIRE_THROWS_AS(policy.call(
                          [&]() -> int {
                              stop = true;
                              throw ServerError("504");
                          },
                          {.operation = "drain", .abort_if = [&] { return stop; }}),
                      AbortRetryError);
}

}  // namespace redress::it
