// Async usage: the same policy on Asio coroutines. Backoff sleeps on a timer of the
// io_context, so the one thread keeps serving other work while an operation waits.
#include <redress/asio.hpp>
#include <redress/fmt.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <fmt/core.h>

#include <string>

using namespace std::chrono_literals;

int main() {
    redress::Policy policy{redress::Retry{
        .classifier = redress::default_classifier,
        .strategy = redress::decorrelated_jitter({.base = 10ms, .max = 2s}),
        .strategies = {{redress::ErrorClass::RateLimit, redress::decorrelated_jitter({.base = 1s, .max = 8s})}},
        .deadline = 10s,
        .max_attempts = 5,
    }};

    asio::io_context io;
    std::string user;
    int calls = 0;
    int batch_done = 0;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            // A user service that answers 503 once, then the user.
            auto fetch_user = [&]() -> asio::awaitable<std::string> {
                if (calls++ == 0) throw redress::ServerError("503 Service Unavailable");
                co_return std::string("ada");
            };
            // snippet-begin: coroutines-1
            user = co_await policy.async_call(fetch_user, {
                .operation = "fetch_user",
                .on_log = [](const redress::Event& e) { fmt::print("{}\n", e); },
            });
            // snippet-end: coroutines-1

            // Bind the operation name and hooks once for a batch of coroutine calls.
            auto batch = policy.context({.operation = "batch"});
            auto work = [&]() -> asio::awaitable<void> {
                ++batch_done;
                co_return;
            };
            co_await batch.async_call(work);
            co_await batch.async_call(work);
        },
        asio::detached);
    io.run();

    fmt::print("user={} after {} attempts\n", user, calls);
    return user == "ada" && calls == 2 && batch_done == 2 ? 0 : 1;
}
