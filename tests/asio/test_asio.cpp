// The policy on a real Asio io_context: non-blocking backoff, cancellation, attempt timeouts,
// hedging (scripted attempts, and 1,000 operations against a loopback server with a long tail).
// Real time, bounded: every test finishes in a few seconds or fails; hedging tests assert
// orders and outcomes, never wall times (their timers differ by 10x or more).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>

#include <redress/asio.hpp>
#include <redress/testing.hpp>

#include "latency.hpp"
#include "recorder.hpp"
#include "tail_server.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using asio::awaitable;
using asio::use_awaitable;

namespace {

awaitable<void> wait_for(std::chrono::milliseconds d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    co_await timer.async_wait(use_awaitable);
}

/// Runs the io_context until it is out of work, bounded: fails the test past `limit`.
void run_bounded(asio::io_context& io, std::chrono::seconds limit = 10s) {
    const auto until = Clock::now() + limit;
    while (!io.stopped() && Clock::now() < until) {
        io.run_for(100ms);
    }
    REQUIRE(io.stopped());
}

}  // namespace

TEST_CASE("1000 concurrent operations back off on one thread without blocking the loop") {
    asio::io_context io;
    redress::Policy policy{redress::Retry{.strategy = redress::constant(50ms)}};
    int succeeded = 0;
    int wrong = 0;
    const auto start = Clock::now();
    for (int i = 0; i < 1000; ++i) {
        asio::co_spawn(
            io,
            [&]() -> awaitable<void> {
                int attempts = 0;
                auto flaky = [&attempts]() -> awaitable<int> {
                    if (attempts++ < 2) throw redress::ServerError("503");
                    co_return 7;
                };
                auto out = co_await policy.async_execute(flaky);
                if (out.ok && out.value == 7 && out.attempts == 3) {
                    ++succeeded;
                } else {
                    ++wrong;
                }
            },
            asio::detached);
    }
    run_bounded(io);
    const auto took = Clock::now() - start;
    CHECK(succeeded == 1000);
    CHECK(wrong == 0);
    // Two 50 ms backoffs per operation: about 100 ms in all (plus 3,000 attempts' CPU, over
    // 2 s in an unoptimised sanitizer build on a busy machine), not 1000 x 100 ms = 100 s.
    CHECK(took >= 100ms);
    CHECK(took < 10s);
}

TEST_CASE("async_call returns the value and rethrows the operation's exception") {
    asio::io_context io;
    redress::Policy policy{redress::Retry{.strategy = redress::constant(1ms), .max_attempts = 2}};
    int value = 0;
    bool rethrown = false;
    asio::co_spawn(
        io,
        [&]() -> awaitable<void> {
            int n = 0;
            value = co_await policy.async_call([&]() -> awaitable<int> {
                if (n++ == 0) throw redress::ServerError("503");
                co_return 5;
            });
            try {
                co_await policy.async_call([]() -> awaitable<void> {
                    throw redress::PermanentError("400");
                    co_return;
                });
            } catch (const redress::PermanentError&) {
                rethrown = true;
            }
        },
        asio::detached);
    run_bounded(io);
    CHECK(value == 5);
    CHECK(rethrown);
}

TEST_CASE("asio operations tell a ratio budget of each operation once, and take their retries from it") {
    asio::io_context io;
    const redress::Budget budget(redress::RatioBudgetOptions{.ratio = 1.0, .min_retries_per_second = 0});
    redress::Policy policy{redress::Retry{.strategy = redress::constant(1ms), .budget = budget}};
    int ok = 0;
    asio::co_spawn(
        io,
        [&]() -> awaitable<void> {
            for (int i = 0; i < 3; ++i) ok += co_await policy.async_call([]() -> awaitable<int> { co_return 1; });
            ok += (co_await policy.async_execute([]() -> awaitable<int> { co_return 1; })).ok ? 1 : 0;
            // 4 requests: 4 retries; a failing operation records 1 more and takes one
            int n = 0;
            ok += co_await policy.async_call([&]() -> awaitable<int> {
                if (n++ == 0) throw redress::ServerError("503");
                co_return 1;
            });
        },
        asio::detached);
    run_bounded(io);
    CHECK(ok == 5);
    CHECK(budget.remaining() == 4);  // 5 operations recorded, 1 retry taken
}

TEST_CASE("Asio cancellation during a backoff ends the operation as Aborted within milliseconds") {
    asio::io_context io;
    redress::testing::FakeCircuitBreaker breaker;
    redress::Policy policy{redress::Retry{.strategy = redress::constant(30s)}, breaker};
    asio::cancellation_signal cancel;
    std::optional<redress::Outcome<int>> result;
    int calls = 0;
    asio::co_spawn(
        io,
        policy.async_execute([&]() -> awaitable<int> {
            ++calls;
            throw redress::ServerError("503");
            co_return 0;
        }),
        asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, redress::Outcome<int> out) {
            REQUIRE_FALSE(e);
            result = std::move(out);
        }));
    Clock::time_point cancelled_at{};
    asio::co_spawn(
        io,
        [&]() -> awaitable<void> {
            co_await wait_for(20ms);
            cancelled_at = Clock::now();
            cancel.emit(asio::cancellation_type::terminal);
        },
        asio::detached);
    run_bounded(io);
    REQUIRE(result);
    CHECK(result->stop_reason == redress::StopReason::Aborted);
    CHECK(calls == 1);
    CHECK(Clock::now() - cancelled_at < 200ms);
    CHECK(breaker.cancels() == 1);
    CHECK(breaker.failures() == 0);
}

TEST_CASE("Asio cancellation during an attempt ends the operation as Aborted, never retried") {
    asio::io_context io;
    redress::testing::FakeCircuitBreaker breaker;
    redress::Policy policy{redress::Retry{.strategy = redress::constant(1ms)}, breaker};
    asio::cancellation_signal cancel;
    std::optional<redress::Outcome<void>> result;
    int calls = 0;
    asio::co_spawn(io, policy.async_execute([&]() -> awaitable<void> {
        ++calls;
        co_await wait_for(10s);  // a hung downstream
    }),
                   asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, redress::Outcome<void> out) {
                       REQUIRE_FALSE(e);
                       result = std::move(out);
                   }));
    const auto start = Clock::now();
    asio::co_spawn(
        io,
        [&]() -> awaitable<void> {
            co_await wait_for(20ms);
            cancel.emit(asio::cancellation_type::terminal);
        },
        asio::detached);
    run_bounded(io);
    REQUIRE(result);
    CHECK(result->stop_reason == redress::StopReason::Aborted);
    CHECK(calls == 1);
    CHECK(Clock::now() - start < 1s);
    CHECK(breaker.cancels() == 1);
}

TEST_CASE("attempt_timeout cuts a hung attempt, which is retried, and the operation succeeds") {
    asio::io_context io;
    redress_test::Recorder events;
    redress::Policy policy{redress::Retry{.strategy = redress::constant(1ms), .attempt_timeout = 50ms}};
    std::optional<redress::Outcome<int>> result;
    int calls = 0;
    const auto start = Clock::now();
    asio::co_spawn(
        io,
        policy.async_execute(
            [&]() -> awaitable<int> {
                if (calls++ == 0) co_await wait_for(10s);  // hangs; must be cut
                co_return 9;
            },
            {.on_metric = events.hook()}),
        [&](std::exception_ptr e, redress::Outcome<int> out) {
            REQUIRE_FALSE(e);
            result = std::move(out);
        });
    run_bounded(io);
    REQUIRE(result);
    CHECK(result->ok);
    CHECK(result->value == 9);
    CHECK(result->attempts == 2);
    CHECK(Clock::now() - start < 1s);
    CHECK(events.lines() == std::vector<std::string>{"retry#1 sleep=1ms class=TRANSIENT", "success#2"});
    CHECK(events.error_types().front().find("AttemptTimeoutError") != std::string::npos);
}

TEST_CASE("a stop request from another thread wakes an Asio backoff at once") {
    asio::io_context io;
    redress::Policy policy{redress::Retry{.strategy = redress::constant(30s)}};
    std::stop_source source;
    std::optional<redress::Outcome<int>> result;
    asio::co_spawn(io, policy.async_execute([]() -> awaitable<int> {
        throw redress::ServerError("503");
        co_return 0;
    },
                                            {.stop_token = source.get_token()}),
                   [&](std::exception_ptr, redress::Outcome<int> out) { result = std::move(out); });
    Clock::time_point requested{};
    std::jthread stopper([&] {
        std::this_thread::sleep_for(30ms);
        requested = Clock::now();
        source.request_stop();
    });
    run_bounded(io);
    stopper.join();
    REQUIRE(result);
    CHECK(result->stop_reason == redress::StopReason::Aborted);
    CHECK(Clock::now() - requested < 200ms);
}

TEST_CASE("redress::retry wraps an asio coroutine function into one returning asio::awaitable") {
    asio::io_context io;
    int calls = 0;
    auto lookup = [&calls](int id) -> awaitable<int> {
        if (calls++ == 0) throw redress::ServerError("503");
        co_return id * 3;
    };
    auto wrapped = redress::retry(lookup, redress::Retry{.strategy = redress::constant(1ms)});
    STATIC_REQUIRE(std::is_same_v<decltype(wrapped(1)), awaitable<int>>);
    int result = 0;
    asio::co_spawn(io, [&]() -> awaitable<void> { result = co_await wrapped(14); }, asio::detached);
    run_bounded(io);
    CHECK(result == 42);
    CHECK(calls == 2);
}

TEST_CASE("an Asio operation that takes a std::stop_token runs under attempt_timeout with the caller's token") {
    asio::io_context io;
    redress::Policy policy{redress::Retry{.strategy = redress::constant(1ms), .attempt_timeout = 50ms}};
    std::stop_source caller;
    std::optional<redress::Outcome<int>> result;
    int calls = 0;
    bool token_linked = true;
    asio::co_spawn(
        io,
        policy.async_execute(
            [&](std::stop_token token) -> awaitable<int> {
                token_linked = token_linked && token.stop_possible();
                if (calls++ == 0) co_await wait_for(10s);  // hangs; cut by the timeout
                co_return 5;
            },
            {.stop_token = caller.get_token()}),
        [&](std::exception_ptr e, redress::Outcome<int> out) {
            REQUIRE_FALSE(e);
            result = std::move(out);
        });
    run_bounded(io);
    REQUIRE(result);
    CHECK(result->ok);
    CHECK(result->value == 5);
    CHECK(result->attempts == 2);
    CHECK(token_linked);
}

TEST_CASE("a stop request ends an Asio backoff of Duration::max() under a deadline of Duration::max() within 100 ms") {
    redress::Policy policy{redress::Retry{.strategy = redress::constant(redress::Duration::max()),
                                          .deadline = redress::Duration::max()}};
    const auto latency = redress_test::best_latency(
        [&] {
            asio::io_context io;
            std::stop_source source;
            std::optional<redress::Outcome<int>> result;
            std::atomic<bool> sleeping{false};
            asio::co_spawn(io,
                           policy.async_execute(
                               [&]() -> awaitable<int> {
                                   sleeping = true;
                                   throw redress::ServerError("503");
                                   co_return 0;
                               },
                               {.stop_token = source.get_token()}),
                           [&](std::exception_ptr, redress::Outcome<int> out) { result = std::move(out); });
            Clock::time_point requested{};
            std::jthread stopper([&] {
                while (!sleeping) std::this_thread::yield();
                std::this_thread::sleep_for(20ms);  // into the backoff
                requested = Clock::now();
                source.request_stop();
            });
            run_bounded(io);
            stopper.join();
            REQUIRE(result);
            CHECK(result->stop_reason == redress::StopReason::Aborted);
            CHECK(result->attempts == 1);
            return Clock::now() - requested;
        },
        100ms);
    CHECK(latency < 100ms);
}

TEST_CASE("an Asio operation that takes redress::Attempt sees its number, deadline and one key across a timeout") {
    asio::io_context io;
    redress::Policy policy{redress::Retry{.strategy = redress::constant(1ms), .attempt_timeout = 50ms}};
    std::vector<int> numbers;
    std::vector<std::string> keys;
    std::vector<bool> deadlines_ahead;
    std::optional<redress::Outcome<int>> result;
    asio::co_spawn(
        io,
        policy.async_execute(
            [&](const redress::Attempt& a) -> awaitable<int> {
                numbers.push_back(a.number);
                keys.emplace_back(a.idempotency_key);
                deadlines_ahead.push_back(a.deadline && *a.deadline > Clock::now() &&
                                          *a.deadline <= Clock::now() + 50ms);
                if (a.number == 1) co_await wait_for(10s);  // hangs; cut by the attempt timeout
                // Read after a suspension: the view outlives the attempt's awaitable.
                co_await wait_for(1ms);
                co_return a.number * 10 + static_cast<int>(a.operation.size());
            },
            {.operation = "asio"}),
        [&](std::exception_ptr e, redress::Outcome<int> out) {
            REQUIRE_FALSE(e);
            result = std::move(out);
        });
    run_bounded(io);
    REQUIRE(result);
    CHECK(result->ok);
    CHECK(result->value == 24);
    CHECK(numbers == std::vector<int>{1, 2});
    REQUIRE(keys.size() == 2);
    CHECK(keys[0].size() == 36);
    CHECK(keys[0] == keys[1]);
    CHECK(deadlines_ahead == std::vector<bool>{true, true});
}

// ---- hedging ---------------------------------------------------------------------------------

using redress_test::AttemptLog;

namespace {

using Lines = std::vector<std::string>;

/// A scripted service: attempt n answers n after latencies[n-1]; an attempt cancelled by Asio
/// records that it saw the cancellation, and whether its stop token was requested too.
struct HedgedService {
    std::vector<std::chrono::milliseconds> latencies;
    int calls = 0;
    std::vector<int> saw_cancel{};
    std::vector<int> saw_stop{};

    auto operation() {
        return [this](std::stop_token token) -> awaitable<int> {
            const int n = ++calls;
            try {
                co_await wait_for(latencies.at(static_cast<std::size_t>(n - 1)));
            } catch (const asio::system_error&) {
                saw_cancel.push_back(n);
                if (token.stop_requested()) saw_stop.push_back(n);
                throw;
            }
            co_return n;
        };
    }
};

redress::Retry<redress::DefaultClassifier, redress::Constant> hedged_retry(int max_attempts = 4) {
    return redress::Retry{.strategy = redress::constant(1ms), .max_attempts = max_attempts};
}

/// Runs one hedged operation on its own io_context; events and attempt hooks are recorded.
template <class PolicyT>
redress::Outcome<int> run_hedged(const PolicyT& policy, HedgedService& service, redress_test::Recorder& events,
                                 AttemptLog& attempts) {
    asio::io_context io;
    redress::CallOptions options{.on_metric = events.hook()};
    attempts.wire(options);
    std::optional<redress::Outcome<int>> result;
    asio::co_spawn(io, policy.async_execute(service.operation(), options),
                   [&](std::exception_ptr e, redress::Outcome<int> out) {
                       REQUIRE_FALSE(e);
                       result = std::move(out);
                   });
    run_bounded(io);
    REQUIRE(result);
    return *result;
}

}  // namespace

TEST_CASE("Asio hedging: a slow first attempt gets a hedge at the delay, the hedge wins, the first is cancelled") {
    redress::Policy policy{hedged_retry(), redress::Hedge{.delay = 20ms}};
    HedgedService service{{5s, 10ms}};
    redress_test::Recorder events;
    AttemptLog attempts;

    const auto out = run_hedged(policy, service, events, attempts);

    CHECK(out.ok);
    CHECK(out.value == 2);
    CHECK(out.attempts == 2);
    CHECK(out.winner == 2);
    CHECK(out.in_flight == 2);
    CHECK(events.lines() == Lines{"hedge_sent#2 sleep=20ms trigger=fixed in_flight=2", "success#2 in_flight=2"});
    CHECK(attempts.lines == Lines{"start#1", "start#2", "end#2 success", "end#1 cancelled"});
    CHECK(service.saw_cancel == std::vector<int>{1});  // Asio cancellation reached its timer...
    CHECK(service.saw_stop == std::vector<int>{1});    // ...and its stop token was requested
}

TEST_CASE("Asio hedging: a fast first attempt sends no hedge") {
    redress::Policy policy{hedged_retry(), redress::Hedge{.delay = 1s}};
    HedgedService service{{1ms}};
    redress_test::Recorder events;
    AttemptLog attempts;

    const auto out = run_hedged(policy, service, events, attempts);

    CHECK(out.value == 1);
    CHECK(out.attempts == 1);
    CHECK(out.winner == 1);
    CHECK(out.in_flight == 1);
    CHECK(service.calls == 1);
    CHECK(events.lines() == Lines{"success#1 in_flight=1"});
    CHECK(attempts.lines == Lines{"start#1", "end#1 success"});
}

TEST_CASE("Asio hedging: hedges never make the attempts exceed max_attempts") {
    redress::Policy policy{hedged_retry(2), redress::Hedge{.delay = 20ms, .max_hedges = 3}};
    HedgedService service{{100ms, 5s, 5s}};
    redress_test::Recorder events;
    AttemptLog attempts;

    const auto out = run_hedged(policy, service, events, attempts);

    CHECK(out.value == 1);
    CHECK(out.attempts == 2);
    CHECK(service.calls == 2);
    CHECK(events.lines() == Lines{"hedge_sent#2 sleep=20ms trigger=fixed in_flight=2", "success#1 in_flight=2"});
    CHECK(attempts.lines == Lines{"start#1", "start#2", "end#1 success", "end#2 cancelled"});
    CHECK(service.saw_stop == std::vector<int>{2});
}

TEST_CASE("Asio hedging: max_hedges hedges run side by side, each sent a delay after the previous one") {
    redress::Policy policy{hedged_retry(6), redress::Hedge{.delay = 20ms, .max_hedges = 2}};
    HedgedService service{{150ms, 5s, 5s}};
    redress_test::Recorder events;
    AttemptLog attempts;

    const auto out = run_hedged(policy, service, events, attempts);

    CHECK(out.value == 1);
    CHECK(events.lines() == Lines{"hedge_sent#2 sleep=20ms trigger=fixed in_flight=2",
                                  "hedge_sent#3 sleep=20ms trigger=fixed in_flight=3", "success#1 in_flight=3"});
    CHECK(attempts.lines ==
          Lines{"start#1", "start#2", "start#3", "end#1 success", "end#2 cancelled", "end#3 cancelled"});
    CHECK(service.saw_stop == std::vector<int>{2, 3});
}

TEST_CASE("Asio hedging: a budget that refuses or a breaker that is not closed suppresses the hedge") {
    redress::testing::FakeCircuitBreaker breaker;
    const redress::Budget empty{0, 60s};
    HedgedService service{{60ms}};
    redress_test::Recorder events;
    AttemptLog attempts;

    SECTION("the hedge's budget is empty") {
        redress::Policy policy{hedged_retry(), redress::Hedge{.delay = 20ms, .budget = empty}};
        CHECK(run_hedged(policy, service, events, attempts).value == 1);
        CHECK(events.lines() == Lines{"hedge_skipped#2", "success#1 in_flight=1"});
    }
    SECTION("the retry's budget is empty") {
        auto retry = hedged_retry();
        retry.budget = empty;
        redress::Policy policy{retry, redress::Hedge{.delay = 20ms}};
        CHECK(run_hedged(policy, service, events, attempts).value == 1);
        CHECK(events.lines() == Lines{"hedge_skipped#2", "success#1 in_flight=1"});
    }
    SECTION("this operation is the breaker's half-open probe") {
        breaker.script({redress::testing::BreakerDecision::Probe});
        redress::Policy policy{hedged_retry(), breaker, redress::Hedge{.delay = 20ms}};
        CHECK(run_hedged(policy, service, events, attempts).value == 1);
        CHECK(events.lines() == Lines{"circuit_half_open#0 state=half_open", "hedge_skipped#2 state=half_open",
                                      "success#1 in_flight=1", "circuit_closed#0 state=closed"});
    }
    SECTION("the breaker is open") {
        redress::Policy policy{hedged_retry(), breaker, redress::Hedge{.delay = 20ms}};
        breaker.set_state(redress::CircuitState::Open);  // after admission: FakeCircuitBreaker admits as scripted
        CHECK(run_hedged(policy, service, events, attempts).value == 1);
        CHECK(events.lines() == Lines{"hedge_skipped#2 state=open", "success#1 in_flight=1"});
    }
    CHECK(service.calls == 1);
    CHECK(attempts.lines == Lines{"start#1", "end#1 success"});
}

TEST_CASE("Asio hedging: a failure while a hedge is in flight waits for it, the last failure is retried") {
    redress::Policy policy{redress::Retry{.classifier = redress_test::MessageClassifier{},
                                          .strategy = redress::constant(1ms),
                                          .max_attempts = 4},
                           redress::Hedge{.delay = 20ms}};
    int calls = 0;
    auto op = [&]() -> awaitable<int> {
        const int n = ++calls;
        co_await wait_for(n == 1 ? 60ms : n == 2 ? 100ms : 1ms);
        if (n < 3) throw std::runtime_error("TRANSIENT");
        co_return n;
    };
    redress_test::Recorder events;
    AttemptLog attempts;
    redress::CallOptions options{.on_metric = events.hook()};
    attempts.wire(options);
    asio::io_context io;
    std::optional<redress::Outcome<int>> result;
    asio::co_spawn(io, policy.async_execute(op, options), [&](std::exception_ptr, redress::Outcome<int> out) {
        result = std::move(out);
    });
    run_bounded(io);
    REQUIRE(result);
    CHECK(result->value == 3);
    CHECK(result->attempts == 3);
    CHECK(events.lines() == Lines{"hedge_sent#2 sleep=20ms trigger=fixed in_flight=2",
                                  "retry#2 sleep=1ms class=TRANSIENT", "success#3 in_flight=1"});
    CHECK(attempts.lines == Lines{"start#1", "start#2", "end#1 retry", "end#2 retry", "start#3", "end#3 success"});
}

TEST_CASE("Asio hedging: cancelling the caller aborts the operation and cancels every attempt in flight") {
    redress::testing::FakeCircuitBreaker breaker;
    redress::Policy policy{hedged_retry(), breaker, redress::Hedge{.delay = 20ms}};
    HedgedService service{{5s, 5s}};
    redress_test::Recorder events;
    AttemptLog attempts;
    redress::CallOptions options{.on_metric = events.hook()};
    attempts.wire(options);
    asio::io_context io;
    asio::cancellation_signal cancel;
    std::optional<redress::Outcome<int>> result;
    bool later_await_throws = false;
    asio::co_spawn(
        io,
        [&]() -> awaitable<void> {
            result = co_await policy.async_execute(service.operation(), options);
            try {
                co_await wait_for(1ms);  // the caller stays cancelled after the operation
            } catch (const asio::system_error&) {
                later_await_throws = true;
            }
        },
        asio::bind_cancellation_slot(cancel.slot(), asio::detached));
    asio::co_spawn(
        io,
        [&]() -> awaitable<void> {
            co_await wait_for(100ms);  // both attempts in flight
            cancel.emit(asio::cancellation_type::terminal);
        },
        asio::detached);
    run_bounded(io);
    REQUIRE(result);
    CHECK(result->stop_reason == redress::StopReason::Aborted);
    CHECK(result->attempts == 2);
    CHECK(events.lines() == Lines{"hedge_sent#2 sleep=20ms trigger=fixed in_flight=2", "aborted#1 stop=ABORTED"});
    CHECK(attempts.lines == Lines{"start#1", "start#2", "end#1 aborted", "end#2 cancelled"});
    CHECK(service.saw_cancel == std::vector<int>{1, 2});
    CHECK(service.saw_stop == std::vector<int>{1, 2});
    CHECK(breaker.cancels() == 1);
    CHECK(later_await_throws);
}

TEST_CASE("Asio hedging: async_call returns the winner's value, and each attempt sees its own Attempt") {
    redress::Policy policy{hedged_retry(), redress::Hedge{.delay = 20ms}};
    asio::io_context io;
    std::vector<int> seen;
    int value = 0;
    asio::co_spawn(
        io,
        [&]() -> awaitable<void> {
            value = co_await policy.async_call([&](const redress::Attempt& a) -> awaitable<int> {
                co_await wait_for(a.number == 1 ? 5s : 10ms);
                seen.push_back(a.number);  // read after the other attempt started
                co_return a.number * 10;
            });
        },
        asio::detached);
    run_bounded(io);
    CHECK(value == 20);
    CHECK(seen == std::vector<int>{2});
}

TEST_CASE("Asio hedging: operations on strands of an io_context run by two threads hedge and cancel their losers") {
    asio::io_context io;
    redress::Policy policy{hedged_retry(2), redress::Hedge{.delay = 50ms}};
    constexpr int operations = 200;
    std::atomic<int> won_by_hedge{0};
    std::atomic<int> won_by_first{0};
    std::atomic<int> losers_cancelled{0};
    for (int i = 0; i < operations; ++i) {
        // Every fourth operation's first attempt is stuck: its hedge wins.
        asio::co_spawn(
            asio::make_strand(io),
            [&, stuck = i % 4 == 0]() -> awaitable<void> {
                auto op = [&](const redress::Attempt& a) -> awaitable<int> {
                    if (a.number > 1 || !stuck) co_return a.number;  // answers at once
                    try {
                        co_await wait_for(5s);
                    } catch (const asio::system_error&) {
                        if (a.stop_token.stop_requested()) ++losers_cancelled;
                        throw;
                    }
                    co_return 1;
                };
                const auto out = co_await policy.async_execute(op);
                if (out.ok && out.value == 2 && out.winner == 2) ++won_by_hedge;
                if (out.ok && out.value == 1 && out.winner == 1) ++won_by_first;
            },
            asio::detached);
    }
    std::thread second([&] { io.run(); });
    run_bounded(io);
    second.join();
    CHECK(won_by_hedge == operations / 4);
    CHECK(won_by_first == operations - operations / 4);
    CHECK(losers_cancelled == operations / 4);
}

TEST_CASE("Asio hedging: 1000 concurrent operations against a long-tailed loopback server stay within the request bound") {
    redress_test::raise_open_files_limit(8192);
    redress_test::TailServer server({.base = 2ms, .tail_factor = 10, .tail_share = 0.05, .seed = 7});
    constexpr int operations = 1000;

    SECTION("hedges bounded by max_hedges and max_attempts") {
        redress::Policy policy{hedged_retry(2), redress::Hedge{.delay = 5ms, .max_hedges = 1}};
        const auto load = redress_test::run_load(policy, server.endpoint(), operations);
        CHECK(load.failed == 0);
        CHECK(load.latencies.size() == operations);
        CHECK(load.attempts > operations);  // the tail was hedged
        CHECK(load.attempts <= operations * (1 + 1));
        CHECK(server.requests() <= load.attempts);
    }
    SECTION("hedges and retries bounded by a budget of 100") {
        const redress::Budget budget{100, 60s};
        auto retry = hedged_retry(2);
        retry.budget = budget;
        redress::Policy policy{retry, redress::Hedge{.delay = 5ms, .max_hedges = 1}};
        const auto load = redress_test::run_load(policy, server.endpoint(), operations);
        CHECK(load.failed == 0);
        CHECK(load.latencies.size() == operations);
        CHECK(load.attempts <= operations + 100);
        CHECK(server.requests() <= operations + 100);
    }
}
