// The coroutine driver: the same attempt-loop core as the sync driver, awaiting instead of
// blocking. It only runs the operation and waits; every decision comes from the core.
#pragma once

#include <coroutine>
#include <exception>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <type_traits>
#include <utility>

#include <redress/detail/attempt_loop.hpp>
#include <redress/detail/driver.hpp>
#include <redress/detail/sync_wait.hpp>
#include <redress/hooks.hpp>
#include <redress/outcome.hpp>
#include <redress/retry.hpp>
#include <redress/task.hpp>

namespace redress {

/// Async versions of the sleep hooks (SPEC §5: "async versions may return awaitables"),
/// in the coroutine type of the operation (`Task` for `redress::Task`, `asio::awaitable`
/// with <redress/asio.hpp>). Each, when set, wins over the sync hook of the same name.
template <template <class> class Coro>
struct AsyncSleepHooks {
    std::function<Coro<void>(Duration)> sleeper{};
    std::function<Coro<void>(const BackoffContext&, Duration)> before_sleep{};
    std::function<Coro<SleepDecision>(const BackoffContext&, Duration)> sleep{};
};

/// How the coroutine driver speaks a coroutine type. The primary template serves
/// `redress::Task` and any awaitable a `Task` can await; <redress/asio.hpp> specialises it
/// for `asio::awaitable`.
template <class Awaitable, class = void>
struct AsyncTraits {
    template <class U>
    using task = Task<U>;
    using hooks = AsyncSleepHooks<Task>;
    /// No native cancellation: attempt timeouts are cooperative (a `std::stop_token` the
    /// operation may take) plus the late-answer rule; stop tokens are polled.
    static constexpr bool native_timeout = false;
    static constexpr bool native_cancellation = false;

    /// Without an async sleeper the Task driver waits on the calling thread (documented:
    /// pass `AsyncSleepHooks::sleeper`, e.g. a scheduler's, to avoid blocking).
    static std::suspend_never default_sleep(Duration d, const std::stop_token& token) {
        detail::interruptible_sleep(d, token);
        return {};
    }
};

namespace detail {

template <class F>
concept AsyncTakesStopToken = std::invocable<F&, std::stop_token>;

template <class F>
decltype(auto) invoke_async(F& fn, const std::stop_token& token) {
    if constexpr (AsyncTakesStopToken<F>) {
        return std::invoke(fn, token);
    } else {
        (void)token;
        return std::invoke(fn);
    }
}

template <class F>
using async_awaitable_t = std::remove_cvref_t<decltype(invoke_async(std::declval<F&>(), std::declval<const std::stop_token&>()))>;

template <class F>
using async_traits_t = AsyncTraits<async_awaitable_t<F>>;

/// The value type an awaitable yields.
template <class A>
auto await_result_of(A&& a) {
    if constexpr (requires { std::forward<A>(a).operator co_await(); }) {
        return std::type_identity<decltype(std::forward<A>(a).operator co_await().await_resume())>{};
    } else if constexpr (requires { operator co_await(std::forward<A>(a)); }) {
        return std::type_identity<decltype(operator co_await(std::forward<A>(a)).await_resume())>{};
    } else {
        return std::type_identity<decltype(a.await_resume())>{};
    }
}
template <class F>
using async_result_t = std::decay_t<typename decltype(await_result_of(std::declval<async_awaitable_t<F>>()))::type>;

/// One operation under `policy`, as a coroutine in the operation's coroutine type.
/// `Throwing` gives `call()` semantics (the value, or an exception); else an `Outcome`.
template <class Traits, class T, bool Throwing, class PolicyT, class F>
auto async_run(const PolicyT& policy, F fn, CallOptions options, typename Traits::hooks async, bool measure)
    -> typename Traits::template task<std::conditional_t<Throwing, T, Outcome<T>>> {
    // The frame owns everything the operation refers to: the options and the operation name.
    const std::string operation(options.operation);
    options.operation = operation;
    Outcome<T> out;
    out.timeline = options.capture_timeline.make();
    const auto& retry = policy.retry_settings();
    const CallHooks hooks = resolve_hooks(retry, options, out.timeline.get());
    const AnyClock& clock = retry.clock;
    CircuitState rejected_state = CircuitState::Closed;
    const TimePoint retry_start = clock.now();

    using Gate = std::conditional_t<PolicyT::has_breaker, BreakerGate<typename PolicyT::breaker_type>, NoGate>;
    std::optional<Gate> gate;
    if constexpr (PolicyT::has_breaker) {
        gate.emplace(policy.circuit_breaker(), hooks, clock, retry_start);
    } else {
        gate.emplace(NoBreakerTag{}, hooks, clock, retry_start);
    }
    rejected_state = gate->state();
    if (gate->admitted(out, measure)) {
        std::exception_ptr driver_failure;
        try {
            if constexpr (!PolicyT::has_retry) {
                // Breaker-only: one attempt, default classification.
                if (hooks.abort_requested()) {
                    single_attempt_prologue_aborted(hooks, retry_start, clock, out);
                } else {
                    std::exception_ptr error;
                    bool aborted = false;
                    try {
                        if constexpr (std::is_void_v<T>) {
                            co_await invoke_async(fn, hooks.stop_token);
                        } else {
                            out.value.emplace(co_await invoke_async(fn, hooks.stop_token));
                        }
                    } catch (const AbortRetryError&) {
                        error = std::current_exception();
                        aborted = true;
                    } catch (...) {
                        error = std::current_exception();
                    }
                    // Cancellation of the caller's coroutine is never retried.
                    if constexpr (Traits::native_cancellation) {
                        if (error && !aborted) aborted = Traits::is_cancelled(co_await Traits::cancellation_probe());
                    }
                    settle_single_attempt(std::move(error), aborted, out);
                    if (measure) out.elapsed = clock.now() - retry_start;
                }
            } else {
                AttemptLoop<typename PolicyT::retry_type> loop(retry, hooks, policy.notifies_class_strategies(), retry_start);
                const SleepHandler* sleep_handler = pick(options.sleep, retry.sleep);
                const BeforeSleepHook* before_sleep = pick(options.before_sleep, retry.before_sleep);
                const Sleeper* sleeper = pick(options.sleeper, retry.sleeper);

                while (loop.begin_attempt() == Next::Run) {
                    // ---- run one attempt --------------------------------------------------
                    std::exception_ptr error;
                    bool aborted = false;
                    TimePoint attempt_start{};
                    const bool timed = retry.attempt_timeout.has_value();
                    try {
                        if (timed) attempt_start = clock.now();
                        if constexpr (Traits::native_timeout) {
                            if (retry.attempt_timeout) {
                                if constexpr (std::is_void_v<T>) {
                                    co_await Traits::template with_timeout<void>(fn, *retry.attempt_timeout);
                                } else {
                                    out.value.emplace(co_await Traits::template with_timeout<T>(fn, *retry.attempt_timeout));
                                }
                            } else if constexpr (std::is_void_v<T>) {
                                co_await invoke_async(fn, hooks.stop_token);
                            } else {
                                out.value.emplace(co_await invoke_async(fn, hooks.stop_token));
                            }
                        } else if constexpr (AsyncTakesStopToken<F>) {
                            std::optional<AttemptDeadline> deadline;
                            if (timed) deadline.emplace(*retry.attempt_timeout, hooks.stop_token);
                            const std::stop_token token = deadline ? deadline->token() : hooks.stop_token;
                            if constexpr (std::is_void_v<T>) {
                                co_await invoke_async(fn, token);
                            } else {
                                out.value.emplace(co_await invoke_async(fn, token));
                            }
                        } else if constexpr (std::is_void_v<T>) {
                            // No stop token to request: the late-answer rule is the whole timeout.
                            co_await invoke_async(fn, hooks.stop_token);
                        } else {
                            out.value.emplace(co_await invoke_async(fn, hooks.stop_token));
                        }
                    } catch (const AbortRetryError&) {
                        error = std::current_exception();
                        aborted = true;
                    } catch (...) {
                        error = std::current_exception();
                    }
                    // Cancellation of the caller's coroutine is never retried.
                    if constexpr (Traits::native_cancellation) {
                        if (error && !aborted) aborted = Traits::is_cancelled(co_await Traits::cancellation_probe());
                    }
                    const TimePoint* started = timed ? &attempt_start : nullptr;
                    const Next next = aborted ? settle_abort(loop, out, std::move(error))
                                              : settle_attempt(loop, retry, out, std::move(error), started);
                    if (next == Next::Stop) break;

                    // ---- the sleep (rule 12): decide, observe, wait ------------------------
                    if (async.sleep || sleep_handler != nullptr) {
                        SleepDecision decision = SleepDecision::Abort;  // a throwing handler aborts
                        try {
                            if (async.sleep) {
                                decision = co_await async.sleep(loop.backoff_context(), loop.planned_sleep());
                            } else {
                                decision = (*sleep_handler)(loop.backoff_context(), loop.planned_sleep());
                            }
                        } catch (...) {
                        }
                        if (loop.sleep_decided(decision) == Next::Stop) break;
                    }
                    if (async.before_sleep) {
                        try {
                            co_await async.before_sleep(loop.backoff_context(), loop.planned_sleep());
                        } catch (...) {
                        }
                    } else {
                        call_hook(before_sleep, loop.backoff_context(), loop.planned_sleep());
                    }
                    bool wait_failed = false;
                    try {
                        if (async.sleeper) {
                            co_await async.sleeper(loop.planned_sleep());
                        } else if (sleeper != nullptr) {
                            (*sleeper)(loop.planned_sleep());
                        } else {
                            co_await Traits::default_sleep(loop.planned_sleep(), hooks.stop_token);
                        }
                    } catch (...) {
                        wait_failed = true;  // a cancelled or broken wait ends the operation as Aborted
                    }
                    if (wait_failed && loop.sleep_decided(SleepDecision::Abort) == Next::Stop) break;
                    if (loop.slept() == Next::Stop) break;
                }
                finish_outcome(loop, out, measure);
            }
        } catch (...) {
            driver_failure = std::current_exception();
        }
        if (driver_failure) {
            gate->cancel();
        } else {
            gate->tell(out);
        }
        if (driver_failure) std::rethrow_exception(driver_failure);
    }
    if constexpr (Throwing) {
        co_return value_or_throw<T>(std::move(out), rejected_state);
    } else {
        co_return out;
    }
}

}  // namespace detail
}  // namespace redress
