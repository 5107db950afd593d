// Hedging on Asio: when an attempt is slower than usual, send another on the same io_context
// and take whichever answers first. The replica's first answer is stuck (400 ms); the hedge,
// sent 50 ms in, answers in 30 ms, and the stuck attempt is cancelled.
#include <redress/asio.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <string>

using namespace std::chrono_literals;

namespace {

// A lookup whose first call is stuck behind a slow replica; the next takes 30 ms. Awaiting an
// Asio timer, a lookup that lost the race is cancelled at once (Asio cancellation).
int calls = 0;
asio::awaitable<std::string> lookup() {
    const int call = ++calls;
    asio::steady_timer replica(co_await asio::this_coro::executor, call == 1 ? 400ms : 30ms);
    try {
        co_await replica.async_wait(asio::use_awaitable);
    } catch (const asio::system_error&) {
        std::printf("call %d cancelled: another attempt answered\n", call);
        throw;
    }
    co_return "user 42 (from call " + std::to_string(call) + ")";
}

}  // namespace

int main() {
    redress::Policy policy{
        redress::Retry{.strategy = redress::decorrelated_jitter({.max = 1s}), .max_attempts = 4},
        redress::Hedge{.delay = 50ms, .max_hedges = 1},
    };

    asio::io_context io;
    redress::Outcome<std::string> outcome;
    const auto start = std::chrono::steady_clock::now();
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            // snippet-begin: call
            // No sleeper to pass: the hedge's delay is a steady timer on this coroutine's
            // executor, and each hedge is co_spawn'ed on it.
            outcome = co_await policy.async_execute(lookup, {
                .operation = "lookup",
                .on_log = [](const redress::Event& e) {
                    std::printf("%s attempt=%d\n", redress::to_string(e.name).data(), e.attempt);
                },
            });
            // snippet-end: call
        },
        asio::detached);
    io.run();

    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    std::printf("%s: attempt %d won, %d in flight, %d attempts in all, %s\n", outcome.value->c_str(),
                int{outcome.winner}, int{outcome.in_flight}, outcome.attempts,
                took < 400ms ? "before the stuck call would have answered" : "late");
    return outcome.ok && outcome.winner == 2 ? 0 : 1;
}
