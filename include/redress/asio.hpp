// <redress/asio.hpp>: the policy on Asio coroutines (docs/coroutines.md). The only header that
// includes Asio (standalone, 1.22+). Link the `redress::asio` CMake target.
//
// When the operation returns `asio::awaitable<T, Executor>`, `policy.async_call(fn)` and
// `policy.async_execute(fn)` return `asio::awaitable` too:
//   * backoff sleeps use a steady timer on the current executor (the loop is never blocked);
//   * Asio cancellation of the calling coroutine (for example through a bound cancellation
//     slot) ends the operation as `Aborted`, is never retried, and a breaker is told "cancel";
//   * `attempt_timeout` really cancels the running attempt (the attempt races a timer) and the
//     attempt counts as `AttemptTimeoutError`, class `Transient`;
//   * a `std::stop_token` passed in the options also cancels a backoff at once.
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <utility>
#include <variant>

#include <asio/awaitable.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/error.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <redress/redress.hpp>

namespace redress {

/// Coroutine traits for `asio::awaitable`: selected automatically by `async_call` and
/// `async_execute` when the operation returns one.
template <class T, class Executor>
struct AsyncTraits<asio::awaitable<T, Executor>> {
    /// The coroutine type the driver returns and awaits: `asio::awaitable` on the same executor.
    template <class U>
    using task = asio::awaitable<U, Executor>;
    /// The async sleep hooks, as `asio::awaitable`s (`AsyncSleepHooks<task>`).
    using hooks = AsyncSleepHooks<task>;
    /// `attempt_timeout` cancels the running attempt (it races a timer), not only its stop token.
    static constexpr bool native_timeout = true;
    /// Asio cancellation of the calling coroutine ends the operation as `Aborted`.
    static constexpr bool native_cancellation = true;

    /// The steady timer used for backoff sleeps and attempt timeouts, on `Executor`.
    using timer_type = asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, Executor>;

    /// Waits `d` on a timer of the current executor. A stop request on `token` (from any
    /// thread) cancels the wait at once; so does Asio cancellation. Either throws
    /// `asio::system_error(operation_aborted)`, which the driver reports as `Aborted`.
    static task<void> default_sleep(Duration d, std::stop_token token) {
        auto executor = co_await asio::this_coro::executor;
        if (!token.stop_possible()) {
            timer_type timer(executor, d);
            co_await timer.async_wait(asio::use_awaitable_t<Executor>{});
            co_return;
        }
        // The timer is shared with the stop callback, which may fire on another thread and
        // must post the cancel to the timer's executor.
        auto timer = std::make_shared<timer_type>(executor, d);
        std::stop_callback cancel_on_stop(token, [weak = std::weak_ptr<timer_type>(timer), executor] {
            asio::post(executor, [weak] {
                if (auto t = weak.lock()) t->cancel();
            });
        });
        if (token.stop_requested()) throw asio::system_error(asio::error::operation_aborted);
        co_await timer->async_wait(asio::use_awaitable_t<Executor>{});
    }

    /// Runs one attempt racing a timer; when the timer wins, the attempt is cancelled (Asio
    /// terminal cancellation reaches whatever it awaits) and `AttemptTimeoutError` is thrown.
    /// The operation receives `token` when it takes a `std::stop_token`.
    template <class U, class F>
    static task<U> with_timeout(F& fn, Duration timeout, std::stop_token token) {
        using namespace asio::experimental::awaitable_operators;
        auto executor = co_await asio::this_coro::executor;
        timer_type timer(executor, timeout);
        auto raced = co_await (detail::invoke_operation(fn, token) || timer.async_wait(asio::use_awaitable_t<Executor>{}));
        if (raced.index() == 1) throw AttemptTimeoutError();
        if constexpr (!std::is_void_v<U>) co_return std::get<0>(std::move(raced));
    }

    /// What the driver awaits to learn whether the calling coroutine was cancelled through
    /// Asio (awaiting it never throws, unlike awaiting an operation after cancellation).
    static constexpr auto cancellation_probe() noexcept { return asio::this_coro::cancellation_state; }
    /// True when it was: the failure is then an abort, never retried.
    template <class State>
    static bool is_cancelled(const State& state) noexcept {
        return state.cancelled() != asio::cancellation_type::none;
    }
};

}  // namespace redress
