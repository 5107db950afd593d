// Policy: the face users call — Policy<Retry>, Policy<Retry, CircuitBreaker>,
// Policy<CircuitBreaker>, and with a Hedge last — with call / execute / async_call / async_execute / context. It
// validates its components and delegates every operation to the drivers in engine/.
#pragma once

#include <type_traits>
#include <utility>

#include <redress/circuit_breaker.hpp>
#include <redress/detail/attributes.hpp>
#include <redress/classify.hpp>
#include <redress/engine/async_driver.hpp>
#include <redress/engine/gate.hpp>
#include <redress/engine/operation.hpp>
#include <redress/engine/quiet_path.hpp>
#include <redress/engine/sync_driver.hpp>
#include <redress/engine/sync_hedge.hpp>
#include <redress/executor.hpp>
#include <redress/hedge.hpp>
#include <redress/outcome.hpp>
#include <redress/policy_context.hpp>
#include <redress/retry.hpp>
#include <redress/strategies.hpp>

namespace redress {

/// The component slot of a policy that has no retry (`NoBreaker`, no breaker: engine/gate.hpp).
struct NoRetry {};

namespace detail {
/// The settings a breaker-only policy runs its single attempt with: the default classifier,
/// one attempt, and the breaker's clock (so `elapsed` is measured in the breaker's time).
using SingleAttemptRetry = Retry<DefaultClassifier, NoStrategy>;

/// A hedged policy's sync `call()` / `execute()` needs an executor: a hedge must start while
/// the first attempt still runs, and a sync call has one thread, busy waiting.
template <bool Hedged>
consteval bool assert_sync_call() {
    static_assert(!Hedged,
                  "redress: a Policy with a Hedge needs an executor to run a sync call() or execute(): the calling "
                  "thread waits for the attempts, so they run elsewhere; pass one, as in "
                  "policy.call(fn, redress::hedge_on(executor)), or use async_call / async_execute");
    return true;
}
}  // namespace detail

/// The unified policy. Built from a `Retry`, a circuit breaker, or both (in that order),
/// optionally followed by a `Hedge` when there is a `Retry` (a hedged policy's sync calls
/// take an executor to run their attempts on: docs/hedging.md):
/// ```
/// redress::Policy policy{redress::Retry{...}, redress::CircuitBreaker{{...}}};
/// ```
/// `call()` returns the operation's value or throws; `execute()` returns an `Outcome`.
/// Thread-safe: one policy may serve any number of threads at once (hooks, strategies and
/// the breaker must then be thread-safe too; the library's are). On the success path a call
/// reads the clock once (twice for `execute()`, for `elapsed`) and allocates nothing.
template <class RetryT, class BreakerT = NoBreaker, class HedgeT = NoHedge>
class Policy {
public:
    /// True when the policy has a retry component.
    static constexpr bool has_retry = detail::IsRetry<RetryT>::value;
    /// True when the policy has a circuit breaker.
    static constexpr bool has_breaker = !std::is_same_v<BreakerT, NoBreaker>;
    static_assert(has_retry || std::is_same_v<RetryT, NoRetry>,
                  "redress: the first component of a Policy must be a redress::Retry");
    static_assert(!has_breaker || detail::BreakerLike<BreakerT>,
                  "redress: the second component of a Policy must be a circuit breaker (redress::CircuitBreaker or a "
                  "type with allow(), record_success(), record_failure(), record_cancel())");
    static_assert(has_retry || has_breaker, "redress: a Policy needs a Retry, a CircuitBreaker, or both");
    /// True when the policy hedges (a `Hedge` component).
    static constexpr bool has_hedge = std::is_same_v<HedgeT, Hedge>;
    static_assert(has_hedge || std::is_same_v<HedgeT, NoHedge>,
                  "redress: the last component of a hedged Policy must be a redress::Hedge");
    static_assert(!has_hedge || has_retry,
                  "redress: a Hedge needs a Retry: Policy{retry, hedge} or Policy{retry, breaker, hedge}");

    using retry_type = RetryT;      ///< the retry component (`NoRetry` when absent)
    using breaker_type = BreakerT;  ///< the breaker component (`NoBreaker` when absent)
    using hedge_type = HedgeT;      ///< the hedge component (`NoHedge` when absent)

    /// A retry-only policy. Throws `InvalidOption` naming an invalid option.
    // (The constraints read the template arguments, not `has_retry`: deduction must not
    // instantiate the class, or a wrong component order fails inside it.)
    explicit Policy(RetryT retry)
        requires(detail::IsRetry<RetryT>::value && std::is_same_v<BreakerT, NoBreaker> && std::is_same_v<HedgeT, NoHedge>)
        : retry_(std::move(retry)) {
        init();
    }

    /// Retries inside a circuit breaker. Throws `InvalidOption` naming an invalid option.
    Policy(RetryT retry, BreakerT breaker)
        requires(detail::IsRetry<RetryT>::value && !std::is_same_v<BreakerT, NoBreaker> &&
                 std::is_same_v<HedgeT, NoHedge>)
        : retry_(std::move(retry)), breaker_(std::move(breaker)) {
        init();
    }

    /// Retries with hedging. Throws `InvalidOption` naming an invalid option.
    Policy(RetryT retry, Hedge hedge)
        requires(detail::IsRetry<RetryT>::value && std::is_same_v<BreakerT, NoBreaker> && std::is_same_v<HedgeT, Hedge>)
        : retry_(std::move(retry)), hedge_(std::move(hedge)) {
        init();
    }

    /// Retries with hedging inside a circuit breaker. Throws `InvalidOption` naming an invalid
    /// option.
    Policy(RetryT retry, BreakerT breaker, Hedge hedge)
        requires(detail::IsRetry<RetryT>::value && !std::is_same_v<BreakerT, NoBreaker> &&
                 std::is_same_v<HedgeT, Hedge>)
        : retry_(std::move(retry)), breaker_(std::move(breaker)), hedge_(std::move(hedge)) {
        init();
    }

    /// A breaker-only policy: one attempt per operation, guarded by the breaker, timed on the
    /// breaker's clock.
    explicit Policy(BreakerT breaker)
        requires(std::is_same_v<RetryT, NoRetry> && !std::is_same_v<BreakerT, NoBreaker> &&
                 std::is_same_v<HedgeT, NoHedge>)
        : retry_(detail::SingleAttemptRetry{.max_attempts = 1, .clock = detail::breaker_clock(breaker)}),
          breaker_(std::move(breaker)),
          quiet_(detail::quiet_run_of(retry_)),
          quiet_clock_(detail::kernel_clock_of(quiet_)) {}

    /// Runs `fn` under the policy and returns its value. On failure throws the last exception
    /// itself (original type), `RetryExhaustedError` when the last failure was a rejected
    /// result or the retry was deferred, `AbortRetryError` on abort, `CircuitOpenError` when
    /// the breaker rejected the call. `fn` is invocable as `fn()`, `fn(std::stop_token)` or
    /// `fn(const redress::Attempt&)` (the attempt's own view: docs/attempt.md).
    template <class F>
    auto call(F&& fn, const CallOptions& options) const -> detail::operation_result_t<std::remove_reference_t<F>> {
        static_assert(detail::assert_sync_call<has_hedge>());
        return call_with<detail::operation_result_t<std::remove_reference_t<F>>>(fn, options);
    }

    /// `call(fn, options)` with no per-call options (the policy's hooks apply).
    template <class F>
    REDRESS_INLINE auto call(F&& fn) const -> detail::operation_result_t<std::remove_reference_t<F>> {
        static_assert(detail::assert_sync_call<has_hedge>());
        using T = detail::operation_result_t<std::remove_reference_t<F>>;
        if constexpr (!rejects_results && !has_breaker && detail::reads_kernel_clocks) {
            // Nothing observes the call and nothing can abort it: attempt 1 needs no state.
            // On the steady or the coarse clock, one test of the clock's id.
            if (quiet_clock_ != 0) [[likely]]
                return detail::run_quietly<T, detail::Ending::Value>(*this, fn, detail::ReadKernel{quiet_clock_});
        } else if constexpr (!rejects_results) {
            if (quiet_ == detail::QuietRun::SteadyClock) [[likely]]
                return detail::run_quietly<T, detail::Ending::Value, detail::ReadSteady>(*this, fn);
            // The coarse clock's fast path is inlined too: out of line it cost two frames
            // (callgrind: 50 -> 38 instructions; the steady path above pays one more compare).
            if (quiet_ == detail::QuietRun::CoarseClock)
                return detail::run_quietly<T, detail::Ending::Value, detail::ReadCoarse>(*this, fn);
        }
        return call_otherwise<T>(fn);
    }

    /// Runs `fn` under the policy and reports what happened in an `Outcome`; never throws for
    /// the operation's failures. What the policy's own configuration throws (a classifier, a
    /// result classifier or a strategy) propagates, as from `call()`.
    template <class F>
    auto execute(F&& fn, const CallOptions& options) const -> Outcome<detail::operation_result_t<std::remove_reference_t<F>>> {
        static_assert(detail::assert_sync_call<has_hedge>());
        return execute_with<detail::operation_result_t<std::remove_reference_t<F>>>(fn, options);
    }

    /// `execute(fn, options)` with no per-call options (the policy's hooks apply).
    template <class F>
    REDRESS_INLINE auto execute(F&& fn) const -> Outcome<detail::operation_result_t<std::remove_reference_t<F>>> {
        static_assert(detail::assert_sync_call<has_hedge>());
        using T = detail::operation_result_t<std::remove_reference_t<F>>;
        if constexpr (!rejects_results && !has_breaker && detail::reads_kernel_clocks) {
            if (quiet_clock_ != 0) [[likely]]  // (as in call())
                return detail::run_quietly<T, detail::Ending::Outcome>(*this, fn, detail::ReadKernel{quiet_clock_});
        } else if constexpr (!rejects_results) {
            if (quiet_ == detail::QuietRun::SteadyClock) [[likely]]
                return detail::run_quietly<T, detail::Ending::Outcome, detail::ReadSteady>(*this, fn);
            // (inlined for the coarse clock too, as in call())
            if (quiet_ == detail::QuietRun::CoarseClock)
                return detail::run_quietly<T, detail::Ending::Outcome, detail::ReadCoarse>(*this, fn);
        }
        return execute_otherwise<T>(fn);
    }

    /// `call(fn, options)` on a hedged policy: the attempts run on the executor `on` holds
    /// (`redress::hedge_on(executor)`), the calling thread waits for them and sends the hedges.
    /// The call returns when every attempt it started has ended: the losers are asked to stop
    /// (their stop token) and waited for. `fn` may run on several threads at once.
    template <class F, class E>
        requires has_hedge
    auto call(F&& fn, const CallOptions& options, HedgeOn<E> on) const
        -> detail::operation_result_t<std::remove_reference_t<F>> {
        return call_with<detail::operation_result_t<std::remove_reference_t<F>>>(
            fn, options, detail::HedgedLoop<std::remove_reference_t<E>>{on.executor});
    }

    /// `call(fn, options, on)` with no per-call options.
    template <class F, class E>
        requires has_hedge
    auto call(F&& fn, HedgeOn<E> on) const -> detail::operation_result_t<std::remove_reference_t<F>> {
        return call(fn, no_options(), std::move(on));
    }

    /// `execute(fn, options)` on a hedged policy, its attempts on the executor `on` holds (see
    /// `call(fn, options, on)`).
    template <class F, class E>
        requires has_hedge
    auto execute(F&& fn, const CallOptions& options, HedgeOn<E> on) const
        -> Outcome<detail::operation_result_t<std::remove_reference_t<F>>> {
        return execute_with<detail::operation_result_t<std::remove_reference_t<F>>>(
            fn, options, detail::HedgedLoop<std::remove_reference_t<E>>{on.executor});
    }

    /// `execute(fn, options, on)` with no per-call options.
    template <class F, class E>
        requires has_hedge
    auto execute(F&& fn, HedgeOn<E> on) const -> Outcome<detail::operation_result_t<std::remove_reference_t<F>>> {
        return execute(fn, no_options(), std::move(on));
    }

    /// Binds options (operation name, hooks) for several calls:
    /// `auto run = policy.context({.operation = "batch"}); run(f); run(g, a, b);`
    /// The context refers to this policy, which must outlive it.
    [[nodiscard]] PolicyContext<Policy> context(CallOptions options) const {
        return PolicyContext<Policy>(*this, std::move(options));
    }

    /// Runs a coroutine operation under the policy: `co_await policy.async_call(fn)`. `fn`
    /// returns an awaitable (`redress::Task<T>`, or `asio::awaitable<T>` with
    /// <redress/asio.hpp>, in which case the result is an `asio::awaitable` too). Same core,
    /// same events and outcomes as `call()`. The returned task is lazy and refers to this
    /// policy, which must outlive it; it owns `fn` and the options.
    template <class F>
    auto async_call(F fn, CallOptions options, typename detail::async_traits_t<F>::hooks async = {}) const {
        using Traits = detail::async_traits_t<F>;
        return detail::async_run<Traits, detail::async_result_t<F>, true>(*this, std::move(fn), std::move(options),
                                                                         std::move(async), false);
    }
    /// `async_call(fn)` with no options: no `CallOptions` is built, moved and checked (callgrind,
    /// g++ 12 -O2, a `Task` that succeeds awaited with `sync_wait`: 968 instructions, against
    /// 1,189 through an empty `CallOptions`).
    template <class F>
    auto async_call(F fn) const {
        using Traits = detail::async_traits_t<F>;
        return detail::async_run_with<Traits, detail::async_result_t<F>, true>(*this, std::move(fn),
                                                                              detail::NoCallOptions{}, {}, false);
    }

    /// Like `async_call`, but the result is an `Outcome` (as `execute()`).
    template <class F>
    auto async_execute(F fn, CallOptions options, typename detail::async_traits_t<F>::hooks async = {}) const {
        using Traits = detail::async_traits_t<F>;
        return detail::async_run<Traits, detail::async_result_t<F>, false>(*this, std::move(fn), std::move(options),
                                                                          std::move(async), true);
    }
    /// `async_execute(fn)` with no options (see `async_call(fn)`).
    template <class F>
    auto async_execute(F fn) const {
        using Traits = detail::async_traits_t<F>;
        return detail::async_run_with<Traits, detail::async_result_t<F>, false>(*this, std::move(fn),
                                                                               detail::NoCallOptions{}, {}, true);
    }

    /// The retry component's settings.
    [[nodiscard]] const RetryT& retry() const noexcept
        requires has_retry
    {
        return retry_;
    }

    /// The settings the drivers read: the retry component, or for a breaker-only policy the
    /// single attempt's (default classifier, one attempt, the breaker's clock).
    [[nodiscard]] const auto& retry_settings() const noexcept { return retry_; }

    /// The hedge component's settings.
    [[nodiscard]] const Hedge& hedge() const noexcept
        requires has_hedge
    {
        return hedge_->options();
    }

    /// The delay the next hedge would wait for now, and what set it (the fixed delay, or the
    /// learned percentile once `min_samples` latencies are known).
    [[nodiscard]] HedgeDelay hedge_delay() const noexcept
        requires has_hedge
    {
        return hedge_->delay();
    }

    /// The hedge's state, for the drivers.
    [[nodiscard]] const detail::HedgeState& hedge_state() const noexcept
        requires has_hedge
    {
        return *hedge_;
    }

    /// Whether per-class strategies must hear of successes (adaptive strategies).
    [[nodiscard]] bool notifies_class_strategies() const noexcept { return notify_class_strategies_; }
    /// The breaker this policy asks (a handle: the same state as the breaker passed in).
    [[nodiscard]] BreakerT& circuit_breaker() const noexcept
        requires has_breaker
    {
        return breaker_;
    }

    /// Builds a retry policy from shared settings and a classifier.
    template <class C = DefaultClassifier>
    [[nodiscard]] static auto from_config(const RetryConfig& cfg, C classifier = {}) {
        return Policy<Retry<C, AnyStrategy>>(Retry<C, AnyStrategy>{
            .classifier = std::move(classifier),
            .strategy = cfg.strategy,
            .strategies = cfg.strategies,
            .deadline = cfg.deadline,
            .attempt_timeout = cfg.attempt_timeout,
            .max_attempts = cfg.max_attempts,
            .max_unknown_attempts = cfg.max_unknown_attempts,
            .per_class_max_attempts = cfg.per_class_max_attempts,
            .budget = cfg.budget,
        });
    }

private:
    /// A result classifier may reject returned values (so an outcome may carry one).
    static constexpr bool rejects_results = detail::RejectsResults<RetryT>::value;

    static const CallOptions& no_options() noexcept { return detail::no_call_options(); }

    void init() {
        detail::validate(retry_);
        static_assert(assert_classifier<typename RetryT::classifier_type>());
        static_assert(assert_result_classifier<typename RetryT::result_classifier_type>());
        if constexpr (!std::is_same_v<typename RetryT::strategy_type, NoStrategy>) {
            static_assert(assert_strategy<typename RetryT::strategy_type>());
        }
        notify_class_strategies_ = !retry_.strategies.empty();
        quiet_ = detail::quiet_run_of(retry_);
        quiet_clock_ = detail::kernel_clock_of(quiet_);
    }

    /// A `call(fn)` off the steady-clock fast path: the quiet path on another clock, or the
    /// general one. Out of line, so the inlined `call()` stays one test and the fast path.
    template <class T, class F>
    REDRESS_NOINLINE T call_otherwise(F& fn) const {
        if constexpr (!rejects_results) {
            if (quiet_ == detail::QuietRun::AnyClock || quiet_ == detail::QuietRun::Counted) {
                if (quiet_ == detail::QuietRun::Counted) detail::record_operation(retry_);
                return detail::run_quietly<T, detail::Ending::Value, detail::ReadAny>(*this, fn);
            }
        }
        return call_with<T>(fn, no_options());
    }

    /// `execute(fn)` off the steady-clock fast path (see `call_otherwise`).
    template <class T, class F>
    REDRESS_NOINLINE Outcome<T> execute_otherwise(F& fn) const {
        if constexpr (!rejects_results) {
            if (quiet_ == detail::QuietRun::AnyClock || quiet_ == detail::QuietRun::Counted) {
                if (quiet_ == detail::QuietRun::Counted) detail::record_operation(retry_);
                return detail::run_quietly<T, detail::Ending::Outcome, detail::ReadAny>(*this, fn);
            }
        }
        return execute_with<T>(fn, no_options());
    }

    /// `call()` with hooks to resolve: not inlined into callers, so a quiet `call()` keeps the
    /// small frame of its fast path.
    template <class T, class F, class Loop = detail::PlainLoop>
    REDRESS_NOINLINE T call_with(F& fn, const CallOptions& options, const Loop& loop = {}) const {
        detail::SyncEnding ending;
        auto out = detail::run_sync<T>(*this, fn, options, detail::Measure::No, ending, loop);
        return detail::value_or_throw<T, detail::may_reject_results<T, settings_type>>(std::move(out), ending.state,
                                                                                       ending.abort);
    }

    template <class T, class F, class Loop = detail::PlainLoop>
    REDRESS_NOINLINE Outcome<T> execute_with(F& fn, const CallOptions& options, const Loop& loop = {}) const {
        detail::SyncEnding ending;
        return detail::run_sync<T>(*this, fn, options, detail::Measure::Yes, ending, loop);
    }

    using settings_type = std::conditional_t<has_retry, RetryT, detail::SingleAttemptRetry>;
    settings_type retry_{};
    [[no_unique_address]] mutable BreakerT breaker_{};
    /// The hedge's options and learned latencies (a `HedgeState` in a hedged policy).
    [[no_unique_address]] std::conditional_t<has_hedge, std::optional<detail::HedgeState>, NoHedge> hedge_{};
    bool notify_class_strategies_ = false;
    /// No policy-level hook, abort predicate, attempt timeout or per-class strategy to tell of
    /// a success: a `call()` without options runs attempt 1 with no loop state
    /// (`detail::run_quietly`). With a breaker, one test of this byte (the steady clock) is the
    /// whole overhead before the clock read.
    detail::QuietRun quiet_ = detail::QuietRun::No;
    /// A quiet run's clock id when it reads the steady or the coarse clock, else 0: a policy
    /// without a breaker tests this int alone (see `detail::ReadKernel`).
    int quiet_clock_ = 0;
};

/// Sugar for a retry-only policy: `redress::RetryPolicy policy{redress::Retry{...}};`
template <class RetryT = Retry<>>
using RetryPolicy = Policy<RetryT, NoBreaker>;

}  // namespace redress

#include <redress/policy_shapes.hpp>  // the component lists a Policy takes, and those it does not
