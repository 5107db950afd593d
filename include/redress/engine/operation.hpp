// Running the user's operation: the forms it may take (nothing, the attempt's stop token, or
// the attempt's own view) and the value type it yields. Shared by the sync and coroutine
// drivers and by `Policy`'s signatures.
#pragma once

#include <concepts>
#include <functional>
#include <optional>
#include <stop_token>
#include <string_view>
#include <type_traits>
#include <utility>

#include <redress/attempt.hpp>
#include <redress/clock.hpp>
#include <redress/detail/idempotency_key.hpp>
#include <redress/engine/sync_wait.hpp>

namespace redress::detail {

/// Callables may take nothing, or the attempt's `std::stop_token`.
template <class F>
concept TakesStopToken = std::invocable<F&, std::stop_token>;

/// ... or the attempt's view (`const redress::Attempt&`). A generic callable (`auto` parameter)
/// that would accept both keeps the stop-token form it had before `Attempt` existed.
template <class F>
concept TakesAttempt = !TakesStopToken<F> && std::invocable<F&, const Attempt&>;

/// Calls `fn` in the form it accepts. The drivers hand an `Attempt`-taking operation over as
/// `WithAttempt` (a stop-token form), so `fn` never takes an `Attempt` here.
template <class F>
decltype(auto) invoke_operation(F& fn, const std::stop_token& token) {
    static_assert(!TakesAttempt<F>, "redress internal: an Attempt-taking operation runs through WithAttempt");
    if constexpr (TakesStopToken<F>) {
        return std::invoke(fn, token);
    } else {
        (void)token;
        return std::invoke(fn);
    }
}

/// The type an operation returns (for a coroutine operation: its awaitable), before decay.
template <class F>
struct OperationReturn {
    using type = decltype(invoke_operation(std::declval<F&>(), std::declval<const std::stop_token&>()));
};
template <TakesAttempt F>
struct OperationReturn<F> {
    using type = std::invoke_result_t<F&, const Attempt&>;
};

/// What an operation returns for `F`, decayed (a reference result is copied).
template <class F>
using operation_result_t = std::decay_t<typename OperationReturn<F>::type>;

/// An `Attempt`-taking operation seen as a stop-token-taking one: each call is the next
/// attempt, whose view it fills (number, time left, own deadline, token, name, key) from one
/// clock read. `Fn` is `F&` (sync: the caller's callable) or `F` (coroutines: owned by the
/// driver's frame, so the view outlives the attempt's awaitable).
template <class Fn>
class WithAttempt {
public:
    template <class G>
    WithAttempt(G&& fn, const AnyClock& clock, Duration deadline, std::optional<Duration> attempt_timeout,
                std::string_view operation)
        : fn_(std::forward<G>(fn)), clock_(clock), deadline_(deadline), attempt_timeout_(attempt_timeout) {
        view_.number = 0;
        view_.operation = operation;
    }

    /// The next attempt.
    decltype(auto) operator()(std::stop_token token) {
        fill(std::move(token));
        return std::invoke(fn_, std::as_const(view_));
    }

    /// The next attempt, its view kept in `view` (the caller's: attempts that overlap, as
    /// hedges do, each keep their own).
    decltype(auto) operator()(std::stop_token token, Attempt& view) {
        prepare(std::move(token), view);
        return run(view);
    }

    /// The next attempt's view, kept in `view`, without running it: a sync hedge prepares it
    /// on the calling thread (this object is not thread-safe) and `run`s it on an executor.
    void prepare(std::stop_token token, Attempt& view) {
        fill(std::move(token));
        view = view_;
    }

    /// Runs the operation with a view `prepare` filled; may be called from several threads.
    decltype(auto) run(const Attempt& view) { return std::invoke(fn_, view); }

private:
    void fill(std::stop_token token) {
        const TimePoint now = clock_.now();
        if (view_.number == 0) first_start_ = now;
        ++view_.number;
        const Duration elapsed = now - first_start_;
        view_.time_left = elapsed >= deadline_ ? Duration::zero() : deadline_ - elapsed;
        if (attempt_timeout_) view_.deadline = saturating_deadline(now, *attempt_timeout_);
        view_.stop_token = std::move(token);
        view_.idempotency_key = key_.get();
    }

    Fn fn_;
    const AnyClock& clock_;
    Duration deadline_;
    std::optional<Duration> attempt_timeout_;
    TimePoint first_start_{};
    Attempt view_{};
    IdempotencyKey key_{};
};

/// `WithAttempt` over `fn` for a policy's settings `cfg` and the call's `operation`.
template <class Fn, class Settings>
[[nodiscard]] WithAttempt<Fn> with_attempt(Fn&& fn, const Settings& cfg, std::string_view operation) {
    return WithAttempt<Fn>(std::forward<Fn>(fn), cfg.clock, cfg.deadline, cfg.attempt_timeout, operation);
}

}  // namespace redress::detail
