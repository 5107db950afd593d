// Real waiting in sync code: a stop request wakes a sleeping retry; attempt_timeout requests
// the attempt's stop token and counts a late answer as a timeout. These are the suite's only
// real-time tests; each is bounded to well under a second.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>

#include <redress/redress.hpp>
#include <redress/testing.hpp>

#include "latency.hpp"
#include "recorder.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// A thread that requests `source`'s stop after `delay` and records when in `requested`.
static std::jthread stop_after(std::chrono::milliseconds delay, std::stop_source& source,
                               Clock::time_point& requested) {
    return std::jthread([delay, &source, &requested] {
        std::this_thread::sleep_for(delay);
        requested = Clock::now();
        source.request_stop();
    });
}

TEST_CASE("a stop request during a real 30 s backoff ends the call within 100 ms") {
    redress::Policy policy{redress::Retry{.strategy = redress::constant(30s)}};
    const auto latency = redress_test::best_latency(
        [&] {
            std::stop_source source;
            Clock::time_point requested{};
            std::jthread stopper = stop_after(30ms, source, requested);
            int calls = 0;
            auto out = policy.execute(
                [&]() -> int {
                    ++calls;
                    throw redress::ServerError("503");
                },
                {.stop_token = source.get_token()});
            const auto ended = Clock::now();
            stopper.join();
            CHECK(out.stop_reason == redress::StopReason::Aborted);
            CHECK(calls == 1);
            return ended - requested;
        },
        100ms);
    CHECK(latency < 100ms);
}

TEST_CASE("attempt_timeout: a late answer is a timed-out answer, classified Transient and retried") {
    redress::testing::ManualClock clock;
    redress_test::Recorder events;
    redress::Policy policy{redress::Retry{.strategy = redress::testing::instant_retries,
                                          .attempt_timeout = 100ms,
                                          .sleeper = redress::testing::AdvancingSleeper(clock),
                                          .clock = clock}};
    int calls = 0;
    auto out = policy.execute(
        [&] {
            if (calls++ == 0) clock.advance(150ms);  // answers, but too late
            return 5;
        },
        {.on_metric = events.hook()});
    CHECK(out.ok);
    CHECK(out.value == 5);
    CHECK(out.attempts == 2);
    CHECK(events.lines() == std::vector<std::string>{"retry#1 class=TRANSIENT", "success#2"});
    CHECK(events.error_types().front().find("AttemptTimeoutError") != std::string::npos);

    auto late = policy.execute([&] {
        clock.advance(101ms);
        return 1;
    });
    CHECK_FALSE(late.ok);
    CHECK_FALSE(late.value);
    CHECK(late.last_class == redress::ErrorClass::Transient);
    CHECK_THROWS_AS(std::rethrow_exception(late.last_exception), redress::AttemptTimeoutError);
}

TEST_CASE("attempt_timeout requests the attempt's stop token when its time is up") {
    redress::Policy policy{redress::Retry{.strategy = redress::testing::instant_retries, .attempt_timeout = 50ms}};
    int calls = 0;
    bool first_was_stopped = false;
    const auto start = Clock::now();
    auto out = policy.execute([&](std::stop_token token) {
        if (calls++ > 0) return 2;
        // A cooperative operation: waits for its result or for its stop token (bounded: 2 s).
        std::mutex m;
        std::condition_variable_any cv;
        std::unique_lock lock(m);
        first_was_stopped = cv.wait_for(lock, token, 2s, [] { return false; }) || token.stop_requested();
        return 1;
    });
    CHECK(first_was_stopped);
    CHECK(out.ok);
    CHECK(out.value == 2);
    CHECK(out.attempts == 2);
    CHECK(Clock::now() - start < 1s);
}

TEST_CASE("the caller's stop token reaches an attempt running under attempt_timeout") {
    redress::Policy policy{redress::Retry{.strategy = redress::testing::instant_retries, .attempt_timeout = 10s}};
    std::stop_source source;
    bool stopped = false;
    auto out = policy.execute(
        [&](std::stop_token token) {
            source.request_stop();
            stopped = token.stop_requested();
            throw redress::AbortRetryError();
        },
        {.stop_token = source.get_token()});
    CHECK(stopped);
    CHECK(out.stop_reason == redress::StopReason::Aborted);
}

// The coroutine driver runs an attempt under attempt_timeout in a coroutine of its own; these
// are the three tests above, for a `Task` operation (the value and the void forms).
TEST_CASE("async: attempt_timeout requests the stop token of a Task attempt when its time is up") {
    redress::Policy policy{redress::Retry{.strategy = redress::testing::instant_retries, .attempt_timeout = 50ms}};
    int calls = 0;
    bool first_was_stopped = false;
    const auto wait_for_stop = [&](std::stop_token token) {
        std::mutex m;
        std::condition_variable_any cv;
        std::unique_lock lock(m);
        first_was_stopped = cv.wait_for(lock, token, 2s, [] { return false; }) || token.stop_requested();
    };
    const auto start = Clock::now();
    SECTION("a value") {
        auto out = redress::sync_wait(policy.async_execute([&](std::stop_token token) -> redress::Task<int> {
            if (calls++ > 0) co_return 2;
            wait_for_stop(std::move(token));  // a cooperative operation, bounded: 2 s
            co_return 1;
        }));
        CHECK(out.value == 2);
        CHECK(out.attempts == 2);
        CHECK(out.ok);
    }
    SECTION("void") {
        auto out = redress::sync_wait(policy.async_execute([&](std::stop_token token) -> redress::Task<void> {
            if (calls++ > 0) co_return;
            wait_for_stop(std::move(token));
        }));
        CHECK(out.attempts == 2);
        CHECK(out.ok);
    }
    CHECK(first_was_stopped);
    CHECK(Clock::now() - start < 1s);
}

TEST_CASE("async: the caller's stop token reaches a Task attempt, with and without attempt_timeout") {
    const auto timeout = GENERATE(std::optional<redress::Duration>{}, std::optional<redress::Duration>{10s});
    redress::Policy policy{redress::Retry{.strategy = redress::testing::instant_retries, .attempt_timeout = timeout}};
    std::stop_source source;
    bool possible = false;
    bool stopped = false;
    auto out = redress::sync_wait(policy.async_execute(
        [&](std::stop_token token) -> redress::Task<int> {
            possible = token.stop_possible();
            source.request_stop();
            stopped = token.stop_requested();
            throw redress::AbortRetryError();
            co_return 0;
        },
        {.stop_token = source.get_token()}));
    CHECK(possible);
    CHECK(stopped);
    CHECK(out.stop_reason == redress::StopReason::Aborted);
}

// ---- waits of Duration::max(): "forever", until a stop request ---------------------------

TEST_CASE("a stop request ends a backoff of Duration::max() under a deadline of Duration::max() within 100 ms") {
    redress::Policy policy{redress::Retry{.strategy = redress::constant(redress::Duration::max()),
                                          .deadline = redress::Duration::max()}};
    const auto latency = redress_test::best_latency(
        [&] {
            std::stop_source source;
            Clock::time_point requested{};
            // Read before the stopper starts its 30 ms: a thread that starts sleeping before
            // this reading would let the wait look shorter than 30 ms on a busy machine.
            const auto start = Clock::now();
            std::jthread stopper = stop_after(30ms, source, requested);
            int calls = 0;
            auto out = policy.execute(
                [&]() -> int {
                    ++calls;
                    throw redress::ServerError("503");
                },
                {.stop_token = source.get_token()});
            const auto ended = Clock::now();
            stopper.join();
            CHECK(out.stop_reason == redress::StopReason::Aborted);
            CHECK(calls == 1);
            CHECK(ended - start >= 30ms);  // it did sleep: now + Duration::max() did not wrap into the past
            return ended - requested;
        },
        100ms);
    CHECK(latency < 100ms);
}

TEST_CASE("interruptible_sleep(Duration::max()) sleeps until the stop request, then wakes within 100 ms") {
    const auto latency = redress_test::best_latency(
        [] {
            std::stop_source source;
            Clock::time_point requested{};
            // Read before the stopper starts its 30 ms: a thread that starts sleeping before
            // this reading would let the wait look shorter than 30 ms on a busy machine.
            const auto start = Clock::now();
            std::jthread stopper = stop_after(30ms, source, requested);
            redress::detail::interruptible_sleep(redress::Duration::max(), source.get_token());
            const auto ended = Clock::now();
            stopper.join();
            CHECK(ended - start >= 30ms);
            return ended - requested;
        },
        100ms);
    CHECK(latency < 100ms);
}

TEST_CASE("an attempt timeout of Duration::max() never fires") {
    // The watchdog fires deadlines in due order: once a 1 ns deadline scheduled after it has
    // fired, a Duration::max() deadline that had wrapped into the past would have fired too.
    const std::stop_source outer;
    redress::detail::AttemptDeadline forever(redress::Duration::max(), outer.get_token());
    redress::detail::AttemptDeadline soon(1ns, outer.get_token());
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    const auto token = soon.token();
    cv.wait(lock, token, [] { return false; });  // returns when `soon` fires
    CHECK(soon.token().stop_requested());
    CHECK_FALSE(forever.token().stop_requested());
}

TEST_CASE("AnyClock reads steady_clock and CoarseClock directly, and tells which it holds") {
    const redress::AnyClock steady;
    CHECK(steady.is_steady());
    CHECK_FALSE(steady.is_coarse());
    const redress::AnyClock coarse{redress::CoarseClock{}};
    CHECK(coarse.is_coarse());
    CHECK_FALSE(coarse.is_steady());
    // Both count CLOCK_MONOTONIC time: a coarse reading is behind a steady one by at most its lag.
    const auto c = coarse.now();
    const auto s = steady.now();
    CHECK(s - c <= redress::detail::CoarseClock::lag_bound() + 1s);
    CHECK(redress::CoarseClock::resolution() > redress::Duration::zero());
    const redress::AnyClock manual{redress::testing::ManualClock{}};
    CHECK_FALSE(manual.is_steady());
    CHECK_FALSE(manual.is_coarse());
}

// What std::chrono::is_clock_v checks (libc++ 19 does not have it yet).
static_assert(requires {
    typename redress::CoarseClock::rep;
    typename redress::CoarseClock::period;
    typename redress::CoarseClock::duration;
    typename redress::CoarseClock::time_point;
    redress::CoarseClock::is_steady;
    redress::CoarseClock::now();
}, "CoarseClock is a standard Clock");

TEST_CASE("a policy on CoarseClock runs the same attempts through call() and execute()") {
    // call() and execute() without options take a fast path of their own on this clock.
    const redress::Policy policy{redress::Retry{.classifier = [](const std::exception_ptr&) {
                                                    return redress::ErrorClass::Transient;
                                                },
                                                .strategy = redress::constant(0ms),
                                                .deadline = 60s,
                                                .max_attempts = 4,
                                                .clock = redress::CoarseClock{}}};
    CHECK(policy.call([] { return 7; }) == 7);
    const auto ok = policy.execute([] { return 8; });
    CHECK(ok.ok);
    CHECK(ok.attempts == 1);
    CHECK(ok.elapsed >= redress::Duration::zero());

    int calls = 0;
    const auto flaky = [&calls] {
        if (++calls < 3) throw std::runtime_error("flaky");
        return calls;
    };
    CHECK(policy.call(flaky) == 3);
    calls = 0;
    const auto out = policy.execute(flaky);
    CHECK(out.ok);
    CHECK(out.attempts == 3);
    CHECK(*out.value == 3);
    calls = -10;
    const auto gave_up = policy.execute(flaky);
    CHECK_FALSE(gave_up.ok);
    CHECK(gave_up.attempts == 4);
    CHECK(gave_up.stop_reason == redress::StopReason::MaxAttemptsGlobal);
}

namespace {

// A quiet policy's call keeps its start as the kernel wrote it and converts it only when a
// path needs it; whatever the path, the start must be a reading of the policy's clock taken
// inside the call. Checked through execute(): its elapsed is measured from that start.
template <class ClockT, class PolicyT>
void check_quiet_start(const PolicyT& policy) {
    int calls = 0;
    const auto flaky = [&calls](int failures) {
        return [&calls, failures] {
            if (++calls <= failures) throw std::runtime_error("flaky");
            return calls;
        };
    };
    for (const int failures : {0, 1, 3}) {  // success at once; after a failure; exhausted
        calls = 0;
        const auto before = ClockT::now();
        const auto out = policy.execute(flaky(failures));
        const auto after = ClockT::now();
        INFO("failures before success: " << failures);
        CHECK(out.ok == (failures < 3));
        CHECK(out.attempts == std::min(failures + 1, 3));
        // A start read before the call, or not from this clock (another epoch, a conversion
        // gone wrong), puts elapsed outside [0, after - before].
        CHECK(out.elapsed >= redress::Duration::zero());
        CHECK(out.elapsed <= after - before);
        calls = 0;
        if (failures < 3) CHECK(policy.call(flaky(failures)) == failures + 1);
    }
}

}  // namespace

TEST_CASE("a quiet call's start is a reading of its clock on every path: steady and coarse, with and without a breaker") {
    const auto transient = [](const std::exception_ptr&) { return redress::ErrorClass::Transient; };
    const auto retry = [&](redress::AnyClock clock) {
        return redress::Retry{.classifier = transient,
                              .strategy = redress::constant(0ms),
                              .deadline = 1h,
                              .max_attempts = 3,
                              .clock = std::move(clock)};
    };
    SECTION("steady clock") {
        check_quiet_start<Clock>(redress::Policy{retry({})});
        check_quiet_start<Clock>(redress::Policy{retry({}), redress::CircuitBreaker{}});
    }
    SECTION("coarse clock") {
        check_quiet_start<redress::CoarseClock>(redress::Policy{retry(redress::CoarseClock{})});
        check_quiet_start<redress::CoarseClock>(redress::Policy{retry(redress::CoarseClock{}), redress::CircuitBreaker{}});
    }
}
