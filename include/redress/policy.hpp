// Policy: the unified resilience container — Policy<Retry>, Policy<Retry, CircuitBreaker>,
// Policy<CircuitBreaker> — and the synchronous driver (SPEC §4, §6).
#pragma once

#include <concepts>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <redress/circuit_breaker.hpp>
#include <redress/classify.hpp>
#include <redress/detail/async_driver.hpp>
#include <redress/detail/attempt_loop.hpp>
#include <redress/detail/driver.hpp>
#include <redress/detail/sync_wait.hpp>
#include <redress/errors.hpp>
#include <redress/outcome.hpp>
#include <redress/retry.hpp>
#include <redress/strategies.hpp>

namespace redress {

/// The component slot of a policy that has no retry, or no breaker.
struct NoRetry {};
struct NoBreaker {};

namespace detail {

/// Callables may take nothing, or the attempt's `std::stop_token`.
template <class F>
concept TakesStopToken = std::invocable<F&, std::stop_token>;

template <class F>
struct OperationResult {
    using type = std::decay_t<std::invoke_result_t<F&>>;
};
template <TakesStopToken F>
struct OperationResult<F> {
    using type = std::decay_t<std::invoke_result_t<F&, std::stop_token>>;
};

template <class F>
using operation_result_t = typename OperationResult<F>::type;

template <class F>
decltype(auto) invoke_operation(F& fn, const std::stop_token& token) {
    if constexpr (TakesStopToken<F>) {
        return std::invoke(fn, token);
    } else {
        (void)token;
        return std::invoke(fn);
    }
}

}  // namespace detail

template <class PolicyT>
class PolicyContext;

/// The unified policy. Built from a `Retry`, a circuit breaker, or both (in that order):
/// ```
/// redress::Policy policy{redress::Retry{...}, redress::CircuitBreaker{{...}}};
/// ```
/// `call()` returns the operation's value or throws; `execute()` returns an `Outcome`.
/// Thread-safe: one policy may serve any number of threads at once (hooks, strategies and
/// the breaker must then be thread-safe too; the library's are). On the success path a call
/// reads the clock once (twice for `execute()`, for `elapsed`) and allocates nothing.
template <class RetryT, class BreakerT = NoBreaker>
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

    using retry_type = RetryT;      ///< the retry component (`NoRetry` when absent)
    using breaker_type = BreakerT;  ///< the breaker component (`NoBreaker` when absent)

    /// A retry-only policy. Throws `std::invalid_argument` naming an invalid option.
    explicit Policy(RetryT retry)
        requires(detail::IsRetry<RetryT>::value && std::is_same_v<BreakerT, NoBreaker>)
        : retry_(std::move(retry)) {
        init();
    }

    /// Retries inside a circuit breaker. Throws `std::invalid_argument` naming an invalid option.
    Policy(RetryT retry, BreakerT breaker)
        requires(detail::IsRetry<RetryT>::value && !std::is_same_v<BreakerT, NoBreaker>)
        : retry_(std::move(retry)), breaker_(std::move(breaker)) {
        init();
    }

    /// A breaker-only policy: one attempt per operation, guarded by the breaker.
    explicit Policy(BreakerT breaker)
        requires(std::is_same_v<RetryT, NoRetry> && !std::is_same_v<BreakerT, NoBreaker>)
        : breaker_(std::move(breaker)) {}

    /// Runs `fn` under the policy and returns its value. On failure throws the last exception
    /// itself (original type), `RetryExhaustedError` when the last failure was a rejected
    /// result or the retry was deferred, `AbortRetryError` on abort, `CircuitOpenError` when
    /// the breaker rejected the call. `fn` is invocable as `fn()` or `fn(std::stop_token)`.
    template <class F>
    auto call(F&& fn, const CallOptions& options) const -> detail::operation_result_t<std::remove_reference_t<F>> {
        using T = detail::operation_result_t<std::remove_reference_t<F>>;
        CircuitState rejected = CircuitState::Open;
        auto out = run<T>(fn, options, false, false, &rejected);
        return detail::value_or_throw<T, rejects_results>(std::move(out), rejected);
    }

    /// `call(fn, options)` with no per-call options (the policy's hooks apply).
    template <class F>
    auto call(F&& fn) const -> detail::operation_result_t<std::remove_reference_t<F>> {
        using T = detail::operation_result_t<std::remove_reference_t<F>>;
        if constexpr (has_retry && std::is_same_v<typename RetryT::result_classifier_type, NoResultClassifier>) {
            if (quiet_ && !retry_.attempt_timeout) return quiet_call<T>(fn);
        }
        CircuitState rejected = CircuitState::Open;
        auto out = run<T>(fn, no_options(), true, false, &rejected);
        return detail::value_or_throw<T, rejects_results>(std::move(out), rejected);
    }

    /// Runs `fn` under the policy and reports what happened; never throws for the
    /// operation's failures (only for a broken hook contract, such as a sleeper that throws
    /// `std::bad_alloc`... which is treated as an abort, see docs).
    template <class F>
    auto execute(F&& fn, const CallOptions& options) const -> Outcome<detail::operation_result_t<std::remove_reference_t<F>>> {
        using T = detail::operation_result_t<std::remove_reference_t<F>>;
        return run<T>(fn, options, false, true, nullptr);
    }

    /// `execute(fn, options)` with no per-call options (the policy's hooks apply).
    template <class F>
    auto execute(F&& fn) const -> Outcome<detail::operation_result_t<std::remove_reference_t<F>>> {
        using T = detail::operation_result_t<std::remove_reference_t<F>>;
        return run<T>(fn, no_options(), true, true, nullptr);
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
    auto async_call(F fn, CallOptions options = {}, typename detail::async_traits_t<F>::hooks async = {}) const {
        using Traits = detail::async_traits_t<F>;
        using T = detail::async_result_t<F>;
        return detail::async_run<Traits, T, true>(*this, std::move(fn), std::move(options), std::move(async), false);
    }

    /// Like `async_call`, but the result is an `Outcome` (as `execute()`).
    template <class F>
    auto async_execute(F fn, CallOptions options = {}, typename detail::async_traits_t<F>::hooks async = {}) const {
        using Traits = detail::async_traits_t<F>;
        using T = detail::async_result_t<F>;
        return detail::async_run<Traits, T, false>(*this, std::move(fn), std::move(options), std::move(async), true);
    }

    /// The retry component's settings.
    [[nodiscard]] const RetryT& retry() const noexcept
        requires has_retry
    {
        return retry_;
    }

    /// The retry settings the drivers read; a breaker-only policy has defaults (its clock and
    /// hook defaults only).
    [[nodiscard]] const auto& retry_settings() const noexcept {
        if constexpr (has_retry) {
            return retry_;
        } else {
            static const Retry<> defaults{};
            return defaults;
        }
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

    static const CallOptions& no_options() noexcept {
        static const CallOptions empty{};
        return empty;
    }

    void init() {
        detail::validate(retry_);
        static_assert(assert_classifier<typename RetryT::classifier_type>());
        if constexpr (!std::is_same_v<typename RetryT::strategy_type, NoStrategy>) {
            static_assert(assert_strategy<typename RetryT::strategy_type>());
        }
        notify_class_strategies_ = !retry_.strategies.empty();
        quiet_ = !retry_.on_metric && !retry_.on_log && !retry_.on_attempt_start && !retry_.on_attempt_end && !retry_.abort_if;
    }

    /// `defaults`: `options` is `no_options()` (the caller passed none).
    template <class T, class F>
    Outcome<T> run(F& fn, const CallOptions& options, bool defaults, bool measure, CircuitState* rejected) const {
        Outcome<T> out;
        // A call with the policy's defaults on a quiet policy (no hooks, no abort sources)
        // needs no resolved hooks and takes the fast path for its first attempt.
        if (!defaults) out.timeline = options.capture_timeline.make();
        const auto& retry = retry_settings();
        const bool quiet_defaults = defaults && quiet_;
        const detail::CallHooks hooks =
            quiet_defaults ? quiet_hooks() : detail::resolve_hooks(retry, options, out.timeline.get());
        const bool quiet = quiet_defaults || is_quiet(hooks);
        const TimePoint start = retry.clock.now();  // the one read shared by breaker and loop
        if constexpr (!has_breaker) {
            run_retry_loop<T>(fn, options, hooks, start, quiet, measure, out);
        } else {
            detail::BreakerGate<BreakerT> gate(breaker_, hooks, retry.clock, start);
            if (rejected != nullptr) *rejected = gate.state();
            if (!gate.admitted(out, measure)) return out;
            try {
                if constexpr (has_retry) {
                    run_retry_loop<T>(fn, options, hooks, start, quiet, measure, out);
                } else {
                    run_single_attempt<T>(fn, hooks, start, retry.clock, measure, out);
                }
            } catch (...) {
                gate.cancel();  // only the driver's own failures land here; free the probe slot
                throw;
            }
            gate.tell(out);
        }
        return out;
    }

    /// `call(fn)` on a quiet policy: attempt 1 runs with no outcome, loop or hook state; the
    /// rest of the operation, if it fails, continues in the core exactly as `run` would.
    template <class T, class F>
    T quiet_call(F& fn) const {
        const TimePoint start = retry_.clock.now();
        [[maybe_unused]] auto permit = [&] {
            if constexpr (has_breaker) {
                return breaker_.allow();
            } else {
                return 0;
            }
        }();
        if constexpr (has_breaker) {
            if (!permit.allowed) throw CircuitOpenError(permit.state);
        }
        std::exception_ptr error;
        try {
            if constexpr (std::is_void_v<T>) {
                detail::invoke_operation(fn, quiet_hooks().stop_token);
                succeeded_quietly(permit);
                return;
            } else {
                T value = detail::invoke_operation(fn, quiet_hooks().stop_token);
                succeeded_quietly(permit);
                return value;
            }
        } catch (const AbortRetryError&) {
            if constexpr (has_breaker) (void)breaker_.record_cancel(permit);
            throw;
        } catch (...) {
            error = std::current_exception();
        }
        Outcome<T> out;
        if constexpr (has_breaker) {
            detail::BreakerGate<BreakerT> gate(breaker_, quiet_hooks(), retry_.clock, start, permit);
            try {
                continue_retry_loop<T>(fn, no_options(), quiet_hooks(), start, false, out, true, std::move(error));
            } catch (...) {
                gate.cancel();
                throw;
            }
            gate.tell(out);
        } else {
            continue_retry_loop<T>(fn, no_options(), quiet_hooks(), start, false, out, true, std::move(error));
        }
        return detail::value_or_throw<T, rejects_results>(std::move(out), CircuitState::Open);
    }

    template <class Permit>
    void succeeded_quietly([[maybe_unused]] const Permit& permit) const {
        detail::AttemptLoop<RetryT>::notify_success_all(retry_, notify_class_strategies_);
        if constexpr (has_breaker) (void)breaker_.record_success(permit);
    }

    static const detail::CallHooks& quiet_hooks() noexcept {
        static const detail::CallHooks none{};
        return none;
    }

    /// Nothing observes the call and nothing can abort it.
    [[nodiscard]] static bool is_quiet(const detail::CallHooks& h) noexcept {
        return !h.observed() && h.on_attempt_start == nullptr && h.on_attempt_end == nullptr && h.abort_if == nullptr &&
               !h.stop_token.stop_possible();
    }

    /// The breaker-only policy: one attempt, default classification, no retry events.
    template <class T, class F>
    void run_single_attempt(F& fn, const detail::CallHooks& hooks, TimePoint start, const AnyClock& clock, bool measure,
                            Outcome<T>& out) const {
        if (hooks.abort_requested()) {
            detail::single_attempt_prologue_aborted(hooks, start, clock, out);
        } else {
            std::exception_ptr error;
            bool aborted = false;
            try {
                if constexpr (std::is_void_v<T>) {
                    detail::invoke_operation(fn, hooks.stop_token);
                } else {
                    out.value.emplace(detail::invoke_operation(fn, hooks.stop_token));
                }
            } catch (const AbortRetryError&) {
                error = std::current_exception();
                aborted = true;
            } catch (...) {
                error = std::current_exception();
            }
            detail::settle_single_attempt(std::move(error), aborted, out);
        }
        if (measure) out.elapsed = clock.now() - start;
    }

    template <class T, class F>
    void run_retry_loop(F& fn, const CallOptions& options, const detail::CallHooks& hooks, TimePoint start, bool quiet,
                        bool measure, Outcome<T>& out) const {
        using detail::Next;
        bool first_attempt_done = false;
        std::exception_ptr first_error;
        if (quiet && !retry_.attempt_timeout) {
            // Fast path: attempt 1 with nothing to observe and nothing to abort, so rules 1-3
            // reduce to "run it"; most calls end here, before any loop state exists.
            try {
                if constexpr (std::is_void_v<T>) {
                    detail::invoke_operation(fn, hooks.stop_token);
                } else {
                    out.value.emplace(detail::invoke_operation(fn, hooks.stop_token));
                }
                if constexpr (std::is_void_v<T> || std::is_same_v<typename RetryT::result_classifier_type, NoResultClassifier>) {
                    detail::AttemptLoop<RetryT>::notify_success_all(retry_, notify_class_strategies_);
                    out.ok = true;
                    out.attempts = 1;
                    if (measure) out.elapsed = retry_.clock.now() - start;
                    return;
                }
            } catch (const AbortRetryError&) {
                first_error = std::current_exception();
                out.attempts = 1;
                out.stop_reason = StopReason::Aborted;
                out.last_exception = std::move(first_error);
                if (measure) out.elapsed = retry_.clock.now() - start;
                return;
            } catch (...) {
                first_error = std::current_exception();
            }
            first_attempt_done = true;
        }
        continue_retry_loop<T>(fn, options, hooks, start, measure, out, first_attempt_done, std::move(first_error));
    }

    /// The retry loop proper. `first_attempt_done`: attempt 1 already ran on a fast path and
    /// ended with `first_error` (or a value in `out.value` for the result classifier).
    template <class T, class F>
    void continue_retry_loop(F& fn, const CallOptions& options, const detail::CallHooks& hooks, TimePoint start,
                             bool measure, Outcome<T>& out, bool first_attempt_done, std::exception_ptr first_error) const {
        using detail::Next;
        detail::AttemptLoop<RetryT> loop(retry_, hooks, notify_class_strategies_, start);
        const SleepHandler* sleep_handler = detail::pick(options.sleep, retry_.sleep);
        const BeforeSleepHook* before_sleep = detail::pick(options.before_sleep, retry_.before_sleep);
        const Sleeper* sleeper = detail::pick(options.sleeper, retry_.sleeper);
        if (first_attempt_done) loop.adopt_first_attempt();

        while (true) {
            if (first_attempt_done) {
                first_attempt_done = false;
                if (detail::settle_attempt(loop, retry_, out, std::move(first_error), nullptr) == Next::Stop) break;
            } else {
                if (loop.begin_attempt() == Next::Stop) break;
                if (attempt<T>(fn, loop, hooks, out) == Next::Stop) break;
            }
            if (sleep_handler != nullptr) {
                SleepDecision decision = SleepDecision::Abort;  // a throwing handler aborts (documented)
                try {
                    decision = (*sleep_handler)(loop.backoff_context(), loop.planned_sleep());
                } catch (...) {
                }
                if (loop.sleep_decided(decision) == Next::Stop) break;
            }
            detail::call_hook(before_sleep, loop.backoff_context(), loop.planned_sleep());
            bool waited = true;
            if (sleeper != nullptr) {
                try {
                    (*sleeper)(loop.planned_sleep());
                } catch (...) {
                    if (loop.sleep_decided(SleepDecision::Abort) == Next::Stop) break;
                }
            } else if (loop.planned_sleep() > Duration::zero()) {
                detail::interruptible_sleep(loop.planned_sleep(), hooks.stop_token);
            } else {
                waited = false;
            }
            if (loop.slept(waited) == Next::Stop) break;
        }
        detail::finish_outcome(loop, out, measure);
    }

    /// Runs one attempt and tells the core how it ended.
    template <class T, class F>
    detail::Next attempt(F& fn, detail::AttemptLoop<RetryT>& loop, const detail::CallHooks& hooks, Outcome<T>& out) const {
        std::exception_ptr error;
        TimePoint attempt_start{};
        const bool timed = retry_.attempt_timeout.has_value();
        try {
            if (timed) attempt_start = retry_.clock.now();
            if constexpr (detail::TakesStopToken<F>) {
                if (timed) {
                    // Only an operation that takes a stop token can see the watchdog's request;
                    // for the others the late-answer rule is the whole of attempt_timeout.
                    detail::AttemptDeadline deadline(*retry_.attempt_timeout, hooks.stop_token);
                    run_operation(fn, deadline.token(), out);
                } else {
                    run_operation(fn, hooks.stop_token, out);
                }
            } else {
                run_operation(fn, hooks.stop_token, out);
            }
        } catch (const AbortRetryError&) {
            return detail::settle_abort(loop, out, std::current_exception());
        } catch (...) {
            error = std::current_exception();
        }
        return detail::settle_attempt(loop, retry_, out, std::move(error), timed ? &attempt_start : nullptr);
    }

    /// Runs the operation once, storing its value in `out` (nothing for `void`).
    template <class T, class F>
    static void run_operation(F& fn, const std::stop_token& token, Outcome<T>& out) {
        if constexpr (std::is_void_v<T>) {
            (void)out;
            detail::invoke_operation(fn, token);
        } else {
            out.value.emplace(detail::invoke_operation(fn, token));
        }
    }

    [[no_unique_address]] RetryT retry_{};
    [[no_unique_address]] mutable BreakerT breaker_{};
    bool notify_class_strategies_ = false;
    bool quiet_ = false;  ///< no policy-level hooks or abort predicate
};

template <class C, class S, class R>
Policy(Retry<C, S, R>) -> Policy<Retry<C, S, R>, NoBreaker>;
template <class C, class S, class R, class B>
Policy(Retry<C, S, R>, B) -> Policy<Retry<C, S, R>, B>;
template <detail::BreakerLike B>
Policy(B) -> Policy<NoRetry, B>;

/// Sugar for a retry-only policy: `redress::RetryPolicy policy{redress::Retry{...}};`
template <class RetryT = Retry<>>
using RetryPolicy = Policy<RetryT, NoBreaker>;

/// Options bound once for several calls (`policy.context(...)`). Copyable; owns its
/// operation name and hooks; refers to the policy. Works with any type that has `call` and
/// `execute` taking `(fn, const CallOptions&)`, so test policies return it too.
template <class PolicyT>
class PolicyContext {
public:
    /// Binds `options` to `policy`; the operation name is copied.
    PolicyContext(const PolicyT& policy, CallOptions options)
        : policy_(&policy), operation_(options.operation), options_(std::move(options)) {
        options_.operation = operation_;
    }
    /// Copies the bound options (the copy owns its own operation name).
    PolicyContext(const PolicyContext& other)
        : policy_(other.policy_), operation_(other.operation_), options_(other.options_) {
        options_.operation = operation_;
    }
    /// Copies the bound options (the copy owns its own operation name).
    PolicyContext& operator=(const PolicyContext& other) {
        if (this != &other) {
            policy_ = other.policy_;
            operation_ = other.operation_;
            options_ = other.options_;
            options_.operation = operation_;
        }
        return *this;
    }

    /// `call()` of `fn(args...)` with the bound options.
    template <class F, class... Args>
    decltype(auto) operator()(F&& fn, Args&&... args) const {
        return policy_->call(bind(std::forward<F>(fn), std::forward<Args>(args)...), options_);
    }

    /// `execute()` of `fn(args...)` with the bound options.
    template <class F, class... Args>
    auto execute(F&& fn, Args&&... args) const {
        return policy_->execute(bind(std::forward<F>(fn), std::forward<Args>(args)...), options_);
    }

    /// `async_call()` of a coroutine operation with the bound options (the async variant of
    /// the Python `async with policy.context(...)`). The task refers to the policy.
    template <class F>
    auto async_call(F fn) const {
        return policy_->async_call(std::move(fn), options_);
    }

    /// `async_execute()` of a coroutine operation with the bound options.
    template <class F>
    auto async_execute(F fn) const {
        return policy_->async_execute(std::move(fn), options_);
    }

    /// The bound options.
    [[nodiscard]] const CallOptions& options() const noexcept { return options_; }

private:
    template <class F, class... Args>
    static auto bind(F&& fn, Args&&... args) {
        if constexpr (sizeof...(Args) == 0) {
            return std::forward<F>(fn);
        } else {
            return [&fn, &args...]() -> decltype(auto) { return std::invoke(fn, args...); };
        }
    }

    const PolicyT* policy_;
    std::string operation_;
    CallOptions options_;
};

}  // namespace redress
