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
#include <redress/detail/attempt_loop.hpp>
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

/// A circuit breaker as the policy uses it: `CircuitBreaker`, `testing::FakeCircuitBreaker`,
/// or any type with the same members.
template <class B>
concept BreakerLike = requires(B& b, const decltype(std::declval<B&>().allow())& permit, ErrorClass k) {
    { b.allow().allowed } -> std::convertible_to<bool>;
    b.allow().state;
    b.record_success(permit);
    b.record_failure(k, permit);
    b.record_cancel(permit);
};

/// Callables may take nothing, or the attempt's `std::stop_token`.
template <class F>
concept TakesStopToken = std::invocable<F&, std::stop_token>;

template <class F>
concept Operation = std::invocable<F&> || TakesStopToken<F>;

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

/// What a result classifier answered: `std::nullopt` means success.
template <class RC, class T>
[[nodiscard]] std::optional<Classification> classify_result(const RC& rc, const T& value) {
    if constexpr (std::is_same_v<RC, NoResultClassifier>) {
        (void)rc;
        (void)value;
        return std::nullopt;
    } else {
        static_assert(std::is_invocable_v<const RC&, const T&>,
                      "redress: a result_classifier must be callable as (const T&) -> std::optional<ErrorClass> or "
                      "std::optional<Classification>, where T is the operation's return type");
        auto verdict = rc(value);
        if (!verdict) return std::nullopt;
        return to_classification(*verdict);
    }
}

template <class Component>
void emit_breaker_transition(const CallHooks& hooks, const std::optional<Component>& transition, TimePoint start,
                             const AnyClock& clock) {
    if (!transition || !hooks.observed()) return;
    Event e;
    e.name = transition->name;
    e.attempt = 0;
    e.operation = hooks.operation;
    e.state = transition->state;
    emit(hooks, e, start, clock);
}

/// Ends an outcome: `call()`'s value, or the exception SPEC §4 "Ending" prescribes.
template <class T>
T value_or_throw(Outcome<T>&& out, std::optional<CircuitState> rejected_state) {
    if (out.ok) {
        if constexpr (std::is_void_v<T>) {
            return;
        } else {
            return std::move(*out.value);
        }
    }
    if (out.stop_reason == StopReason::CircuitOpen) throw CircuitOpenError(rejected_state.value_or(CircuitState::Open));
    if (out.stop_reason == StopReason::Aborted) throw AbortRetryError();
    if (out.cause == FailureCause::Exception && out.last_exception && out.stop_reason != StopReason::Scheduled)
        std::rethrow_exception(out.last_exception);
    std::any last;
    if constexpr (!std::is_void_v<T>) {
        if (out.last_result) last = std::move(*out.last_result);
    }
    throw RetryExhaustedError(out.stop_reason.value_or(StopReason::MaxAttemptsGlobal), out.attempts, out.last_class,
                              std::move(last), out.next_sleep);
}

}  // namespace detail

template <class RetryT, class BreakerT>
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
    static constexpr bool has_retry = detail::IsRetry<RetryT>::value;
    static constexpr bool has_breaker = !std::is_same_v<BreakerT, NoBreaker>;
    static_assert(has_retry || std::is_same_v<RetryT, NoRetry>,
                  "redress: the first component of a Policy must be a redress::Retry");
    static_assert(!has_breaker || detail::BreakerLike<BreakerT>,
                  "redress: the second component of a Policy must be a circuit breaker (redress::CircuitBreaker or a "
                  "type with allow(), record_success(), record_failure(), record_cancel())");
    static_assert(has_retry || has_breaker, "redress: a Policy needs a Retry, a CircuitBreaker, or both");

    using retry_type = RetryT;
    using breaker_type = BreakerT;

    /// A retry-only policy. Throws `std::invalid_argument` naming an invalid option.
    explicit Policy(RetryT retry)
        requires(has_retry && !has_breaker)
        : retry_(std::move(retry)) {
        init();
    }

    /// Retries inside a circuit breaker. Throws `std::invalid_argument` naming an invalid option.
    Policy(RetryT retry, BreakerT breaker)
        requires(has_retry && has_breaker)
        : retry_(std::move(retry)), breaker_(std::move(breaker)) {
        init();
    }

    /// A breaker-only policy: one attempt per operation, guarded by the breaker.
    explicit Policy(BreakerT breaker)
        requires(!has_retry && has_breaker)
        : breaker_(std::move(breaker)) {}

    /// Runs `fn` under the policy and returns its value. On failure throws the last exception
    /// itself (original type), `RetryExhaustedError` when the last failure was a rejected
    /// result or the retry was deferred, `AbortRetryError` on abort, `CircuitOpenError` when
    /// the breaker rejected the call. `fn` is invocable as `fn()` or `fn(std::stop_token)`.
    template <class F>
    auto call(F&& fn, const CallOptions& options) const -> detail::operation_result_t<std::remove_reference_t<F>> {
        using T = detail::operation_result_t<std::remove_reference_t<F>>;
        std::optional<CircuitState> rejected;
        auto out = run<T>(fn, options, false, &rejected);
        return detail::value_or_throw<T>(std::move(out), rejected);
    }

    template <class F>
    auto call(F&& fn) const -> detail::operation_result_t<std::remove_reference_t<F>> {
        return call(std::forward<F>(fn), no_options());
    }

    /// Runs `fn` under the policy and reports what happened; never throws for the
    /// operation's failures (only for a broken hook contract, such as a sleeper that throws
    /// `std::bad_alloc`... which is treated as an abort, see docs).
    template <class F>
    auto execute(F&& fn, const CallOptions& options) const -> Outcome<detail::operation_result_t<std::remove_reference_t<F>>> {
        using T = detail::operation_result_t<std::remove_reference_t<F>>;
        return run<T>(fn, options, true, nullptr);
    }

    template <class F>
    auto execute(F&& fn) const -> Outcome<detail::operation_result_t<std::remove_reference_t<F>>> {
        return execute(std::forward<F>(fn), no_options());
    }

    /// Binds options (operation name, hooks) for several calls:
    /// `auto run = policy.context({.operation = "batch"}); run(f); run(g, a, b);`
    /// The context refers to this policy, which must outlive it.
    [[nodiscard]] PolicyContext<RetryT, BreakerT> context(CallOptions options) const {
        return PolicyContext<RetryT, BreakerT>(*this, std::move(options));
    }

    [[nodiscard]] const RetryT& retry() const noexcept
        requires has_retry
    {
        return retry_;
    }
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
    }

    template <class T, class F>
    Outcome<T> run(F& fn, const CallOptions& options, bool measure, std::optional<CircuitState>* rejected) const {
        Outcome<T> out;
        out.timeline = options.capture_timeline.make();
        if constexpr (has_retry) {
            const auto hooks = detail::resolve_hooks(retry_, options, out.timeline.get());
            run_with_breaker<T>(fn, options, hooks, retry_.clock, measure, rejected, out);
        } else {
            static const Retry<> no_hooks{};
            const auto hooks = detail::resolve_hooks(no_hooks, options, out.timeline.get());
            run_with_breaker<T>(fn, options, hooks, breaker_clock_, measure, rejected, out);
        }
        return out;
    }

    template <class T, class F>
    void run_with_breaker(F& fn, const CallOptions& options, const detail::CallHooks& hooks, const AnyClock& clock,
                          bool measure, std::optional<CircuitState>* rejected, Outcome<T>& out) const {
        if constexpr (!has_breaker) {
            run_retry_loop<T>(fn, options, hooks, measure, out);
        } else {
            // Asked once before the loop (SPEC §6).
            const TimePoint start = clock.now();
            auto permit = breaker_.allow();
            detail::emit_breaker_transition(hooks, permit.transition, start, clock);
            if (!permit.allowed) {
                out.stop_reason = StopReason::CircuitOpen;
                if (rejected != nullptr) *rejected = permit.state;
                if (measure) out.elapsed = clock.now() - start;
                return;
            }
            try {
                if constexpr (has_retry) {
                    run_retry_loop<T>(fn, options, hooks, measure, out);
                } else {
                    run_single_attempt<T>(fn, hooks, start, clock, measure, out);
                }
            } catch (...) {
                // Only the driver's own failures land here (hooks and the operation are
                // contained); the probe slot must not leak.
                (void)breaker_.record_cancel(permit);
                throw;
            }
            // Told one result after it.
            std::optional<decltype(breaker_.record_success(permit))> told;
            if (out.ok) {
                told.emplace(breaker_.record_success(permit));
            } else if (out.stop_reason == StopReason::Aborted) {
                told.emplace(breaker_.record_cancel(permit));
            } else {
                told.emplace(breaker_.record_failure(out.last_class.value_or(ErrorClass::Unknown), permit));
            }
            detail::emit_breaker_transition(hooks, *told, start, clock);
        }
    }

    /// The breaker-only policy: one attempt, default classification, no retry events.
    template <class T, class F>
    void run_single_attempt(F& fn, const detail::CallHooks& hooks, TimePoint start, const AnyClock& clock, bool measure,
                            Outcome<T>& out) const {
        if (hooks.abort_requested()) {
            out.stop_reason = StopReason::Aborted;
            if (hooks.observed()) {
                Event e;
                e.name = EventName::Aborted;
                e.stop_reason = StopReason::Aborted;
                e.operation = hooks.operation;
                detail::emit(hooks, e, start, clock);
            }
        } else {
            out.attempts = 1;
            try {
                if constexpr (std::is_void_v<T>) {
                    detail::invoke_operation(fn, hooks.stop_token);
                } else {
                    out.value.emplace(detail::invoke_operation(fn, hooks.stop_token));
                }
                out.ok = true;
            } catch (const AbortRetryError&) {
                out.stop_reason = StopReason::Aborted;
                out.last_exception = std::current_exception();
                out.cause = FailureCause::Exception;
            } catch (...) {
                out.last_exception = std::current_exception();
                out.cause = FailureCause::Exception;
                out.last_class = default_classifier(out.last_exception).klass;
            }
        }
        if (measure) out.elapsed = clock.now() - start;
    }

    template <class T, class F>
    void run_retry_loop(F& fn, const CallOptions& options, const detail::CallHooks& hooks, bool measure,
                        Outcome<T>& out) const {
        using detail::Next;
        detail::AttemptLoop<RetryT> loop(retry_, hooks, notify_class_strategies_);
        const SleepHandler* sleep_handler = detail::pick(options.sleep, retry_.sleep);
        const BeforeSleepHook* before_sleep = detail::pick(options.before_sleep, retry_.before_sleep);
        const Sleeper* sleeper = detail::pick(options.sleeper, retry_.sleeper);

        while (loop.begin_attempt() == Next::Run) {
            Next next = attempt<T>(fn, loop, hooks, out);
            if (next == Next::Stop) break;
            if (sleep_handler != nullptr) {
                SleepDecision decision = SleepDecision::Abort;  // a throwing handler aborts (documented)
                try {
                    decision = (*sleep_handler)(loop.backoff_context(), loop.planned_sleep());
                } catch (...) {
                }
                if (loop.sleep_decided(decision) == Next::Stop) break;
            }
            detail::call_hook(before_sleep, loop.backoff_context(), loop.planned_sleep());
            if (sleeper != nullptr) {
                try {
                    (*sleeper)(loop.planned_sleep());
                } catch (...) {
                    if (loop.sleep_decided(SleepDecision::Abort) == Next::Stop) break;
                }
            } else {
                detail::interruptible_sleep(loop.planned_sleep(), hooks.stop_token);
            }
            if (loop.slept() == Next::Stop) break;
        }

        out.attempts = loop.attempts();
        out.stop_reason = loop.stop_reason();
        out.next_sleep = loop.next_sleep();
        if (!out.ok) {
            out.last_class = loop.last_class();
            out.cause = loop.cause();
        }
        if (measure) out.elapsed = loop.elapsed();
    }

    /// Runs one attempt and tells the loop what happened.
    template <class T, class F>
    detail::Next attempt(F& fn, detail::AttemptLoop<RetryT>& loop, const detail::CallHooks& hooks, Outcome<T>& out) const {
        std::exception_ptr error;
        std::optional<Classification> rejected;
        std::optional<TimePoint> attempt_start;
        try {
            if (retry_.attempt_timeout) {
                attempt_start = retry_.clock.now();
                detail::AttemptDeadline deadline(*retry_.attempt_timeout, hooks.stop_token);
                if constexpr (std::is_void_v<T>) {
                    detail::invoke_operation(fn, deadline.token());
                } else {
                    out.value.emplace(detail::invoke_operation(fn, deadline.token()));
                }
            } else {
                if constexpr (std::is_void_v<T>) {
                    detail::invoke_operation(fn, hooks.stop_token);
                } else {
                    out.value.emplace(detail::invoke_operation(fn, hooks.stop_token));
                }
            }
        } catch (const AbortRetryError&) {
            out.last_exception = std::current_exception();
            loop.aborted_by_callable();
            return detail::Next::Stop;
        } catch (...) {
            error = std::current_exception();
        }

        // A late answer is a timed-out answer, whatever it was.
        if (attempt_start && retry_.clock.now() - *attempt_start > *retry_.attempt_timeout) {
            error = std::make_exception_ptr(AttemptTimeoutError());
            if constexpr (!std::is_void_v<T>) out.value.reset();
        }

        if (!error) {
            if constexpr (!std::is_void_v<T> && !std::is_same_v<typename RetryT::result_classifier_type, NoResultClassifier>) {
                rejected = detail::classify_result(retry_.result_classifier, *out.value);
                if (rejected) {
                    out.last_result = std::move(out.value);
                    out.value.reset();
                    out.last_exception = nullptr;
                    return loop.failed(std::move(*rejected), FailureCause::Result, nullptr);
                }
            }
            out.ok = true;
            loop.succeeded();
            return detail::Next::Stop;
        }
        out.last_exception = error;
        if constexpr (!std::is_void_v<T>) out.last_result.reset();
        Classification classification = invoke_classifier(retry_.classifier, error);
        return loop.failed(std::move(classification), FailureCause::Exception, std::move(error));
    }

    [[no_unique_address]] RetryT retry_{};
    [[no_unique_address]] mutable BreakerT breaker_{};
    [[no_unique_address]] AnyClock breaker_clock_{};
    bool notify_class_strategies_ = false;
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
/// operation name and hooks; refers to the policy.
template <class RetryT, class BreakerT>
class PolicyContext {
public:
    PolicyContext(const Policy<RetryT, BreakerT>& policy, CallOptions options)
        : policy_(&policy), operation_(options.operation), options_(std::move(options)) {
        options_.operation = operation_;
    }
    PolicyContext(const PolicyContext& other)
        : policy_(other.policy_), operation_(other.operation_), options_(other.options_) {
        options_.operation = operation_;
    }
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

    const Policy<RetryT, BreakerT>* policy_;
    std::string operation_;
    CallOptions options_;
};

}  // namespace redress
