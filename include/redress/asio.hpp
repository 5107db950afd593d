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
//   * a `std::stop_token` passed in the options also cancels a backoff at once;
//   * a policy with a `Hedge` waits for a hedge's delay on a steady timer while the attempt
//     runs, and starts each hedge with `asio::co_spawn` on the current executor; the first
//     success wins, the losers are cancelled (Asio cancellation and their stop token) and
//     awaited before the operation ends. The attempts run on the caller's executor: one thread
//     runs it, or it is a strand.
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
#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/co_spawn.hpp>
#include <asio/error.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <redress/redress.hpp>

namespace redress {
namespace detail {

/// The race of a hedged round on `asio::awaitable` (engine/hedge_driver.hpp): each attempt is
/// a thread of execution of its own (`asio::co_spawn` on the caller's executor, with a
/// cancellation signal), and the round waits on one steady timer that expires when the next
/// hedge is due and is cancelled to wake the round when an attempt answers or the caller is
/// cancelled. Not thread-safe: the caller's executor runs one handler at a time (one thread
/// runs the io_context, or a strand).
template <class Executor>
class AsioHedgeRace {
public:
    template <class U>
    using task = asio::awaitable<U, Executor>;
    using handle = asio::cancellation_signal;
    static constexpr bool reports_from_attempt = false;

    AsioHedgeRace() = default;
    AsioHedgeRace(const AsioHedgeRace&) = delete;
    AsioHedgeRace& operator=(const AsioHedgeRace&) = delete;

    /// Binds the race to the caller's executor. Until `close()`, cancellation of the caller is
    /// reported by `take_cancellation()` rather than thrown: the round still awaits its attempts.
    template <class Hooks>
    task<void> attach(const Hooks&) {
        executor_.emplace(co_await asio::this_coro::executor);
        timer_.emplace(*executor_, timer_type::time_point::max());
        throw_if_cancelled_ = co_await asio::this_coro::throw_if_cancelled();
        co_await asio::this_coro::throw_if_cancelled(false);
    }
    task<void> close() { co_await asio::this_coro::throw_if_cancelled(throw_if_cancelled_); }

    /// Spawns the attempt of `slot`; it answers when its thread of execution has ended.
    template <class T, class Op>
    void launch(HedgeSlot<T, handle>& slot, Op& op) {
        slot.handle.emplace();
        asio::co_spawn(*executor_, run_hedged_attempt<T>(op, slot, *this),
                       asio::bind_cancellation_slot(slot.handle->slot(), [this, &slot](const std::exception_ptr&) {
                           slot.answered = true;
                           ++answers_;
                           if (waiting_) timer_->cancel();
                       }));
    }
    /// Asks the attempt of `slot` to stop: its stop token, and terminal cancellation of whatever
    /// it awaits.
    template <class T>
    static void cancel(HedgeSlot<T, handle>& slot) {
        slot.stop.request_stop();
        slot.handle->emit(asio::cancellation_type::terminal);
    }

    /// The round waits: returns at once when an answer, the timer or the caller's cancellation
    /// is pending.
    task<void> next() {
        const auto state = co_await asio::this_coro::cancellation_state;
        const auto newly_cancelled = [&] { return !cancelled_ && state.cancelled() != asio::cancellation_type::none; };
        if (answers_ == 0 && !fired_ && !newly_cancelled()) {
            asio::error_code ec;
            waiting_ = true;
            co_await timer_->async_wait(asio::redirect_error(asio::use_awaitable_t<Executor>{}, ec));
            waiting_ = false;
            if (!ec && armed_) {
                fired_ = true;
                disarm_timer();
            }
        }
        if (newly_cancelled()) cancelled_ = cancellation_pending_ = true;
    }

    /// Fires `delay` from now (replacing an armed timer).
    void arm(Duration delay) {
        fired_ = false;
        armed_ = true;
        timer_->expires_after(std::chrono::duration_cast<typename timer_type::duration>(delay));
    }
    void disarm() {
        fired_ = false;
        if (armed_) disarm_timer();
    }
    [[nodiscard]] bool take_timer() noexcept { return std::exchange(fired_, false); }
    void took_answer() noexcept { --answers_; }
    /// True once, when the round learns that the caller was cancelled.
    [[nodiscard]] bool take_cancellation() noexcept { return std::exchange(cancellation_pending_, false); }
    [[nodiscard]] bool caller_cancelled() const noexcept { return cancelled_; }

private:
    using timer_type = asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, Executor>;

    void disarm_timer() {
        armed_ = false;
        timer_->expires_at(timer_type::time_point::max());
    }

    std::optional<Executor> executor_{};
    std::optional<timer_type> timer_{};
    int answers_ = 0;
    bool waiting_ = false;
    bool armed_ = false;
    bool fired_ = false;
    bool cancelled_ = false;
    bool cancellation_pending_ = false;
    bool throw_if_cancelled_ = true;
};

}  // namespace detail

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

    /// The steady timer used for backoff sleeps, attempt timeouts and hedge delays, on `Executor`.
    using timer_type = asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, Executor>;
    /// A hedged round spawns its attempts on the current executor and waits on a steady timer.
    using hedge_race = detail::AsioHedgeRace<Executor>;

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
