// redress::retry: wrap a callable into one that runs under a policy, like the Python
// decorator (see docs/usage-patterns.md, "Decorator-style retries").
#pragma once

#include <concepts>
#include <functional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include <redress/classify.hpp>
#include <redress/policy.hpp>
#include <redress/retry.hpp>
#include <redress/strategies.hpp>

namespace redress {

namespace detail {

/// Whether `T` can be `co_await`ed: it has `operator co_await` or the three awaiter members.
/// The wrapper's synchronous path is constrained to results that are not awaitable; the
/// coroutine path handles the others.
template <class T>
concept Awaitable = requires(T&& t) { std::forward<T>(t).operator co_await(); } ||
                    requires(T&& t) { operator co_await(std::forward<T>(t)); } ||
                    requires(T& t) {
                        t.await_ready();
                        t.await_resume();
                    } ||
                    // Coroutine types awaited through their promise (asio::awaitable), which
                    // an integration header declares by specialising AsyncTraits.
                    AsyncTraits<std::remove_cvref_t<T>>::native_timeout;

template <class T>
struct IsPolicyRef : std::false_type {};
template <class P>
struct IsPolicyRef<std::reference_wrapper<P>> : std::true_type {};

template <class T>
concept OperationName = std::convertible_to<const T&, std::string_view> && !std::same_as<T, std::nullptr_t>;

/// What one option of `retry(fn, options...)` is.
template <class T>
inline constexpr int option_kind = IsRetry<T>::value               ? 1   // a Retry
                                   : std::same_as<T, CallOptions> ? 2   // per-call options
                                   : OperationName<T>             ? 3   // the operation name
                                                                  : 4;  // a policy (or std::ref to one)

template <int Kind, class... Opts>
inline constexpr int count_kind = (0 + ... + (option_kind<std::decay_t<Opts>> == Kind ? 1 : 0));

/// The decorator's default strategy: `decorrelated_jitter({.max = 5s})`.
[[nodiscard]] inline DecorrelatedJitter decorator_default_strategy() {
    return decorrelated_jitter({.max = std::chrono::seconds(5)});
}

/// A `Retry` with a strategy: one without `strategy` gets the decorator's default unless it
/// has per-class `strategies` (then it is kept as is, as in the Python decorator).
template <class C, class S, class R>
[[nodiscard]] auto with_default_strategy(Retry<C, S, R> r) {
    if constexpr (!std::is_same_v<S, NoStrategy>) {
        return r;
    } else {
        AnyStrategy strategy;
        if (r.strategies.empty()) strategy = decorator_default_strategy();
        return Retry<C, AnyStrategy, R>{
            .classifier = std::move(r.classifier),
            .result_classifier = std::move(r.result_classifier),
            .strategy = std::move(strategy),
            .strategies = std::move(r.strategies),
            .deadline = r.deadline,
            .attempt_timeout = r.attempt_timeout,
            .max_attempts = r.max_attempts,
            .max_unknown_attempts = r.max_unknown_attempts,
            .per_class_max_attempts = std::move(r.per_class_max_attempts),
            .budget = std::move(r.budget),
            .sleep = std::move(r.sleep),
            .before_sleep = std::move(r.before_sleep),
            .sleeper = std::move(r.sleeper),
            .clock = std::move(r.clock),
            .on_metric = std::move(r.on_metric),
            .on_log = std::move(r.on_log),
            .on_attempt_start = std::move(r.on_attempt_start),
            .on_attempt_end = std::move(r.on_attempt_end),
            .abort_if = std::move(r.abort_if),
        };
    }
}

/// Collects the options of `retry(fn, options...)`.
struct DecoratorOptions {
    CallOptions call{};
    std::string operation{};
    bool has_operation = false;
};

template <class T>
void collect_call_options(DecoratorOptions& out, const T& option) {
    if constexpr (option_kind<T> == 2) {
        out.call = option;
        if (!option.operation.empty() && !out.has_operation) out.operation = std::string(option.operation);
    } else if constexpr (option_kind<T> == 3) {
        out.operation = std::string(std::string_view(option));
        out.has_operation = true;
    }
}

template <class... Opts>
[[nodiscard]] auto make_decorator_policy(Opts&&... opts) {
    if constexpr (count_kind<1, Opts...> == 1) {
        auto pick = [](auto&& self, auto&& first, auto&&... rest) -> decltype(auto) {
            if constexpr (option_kind<std::decay_t<decltype(first)>> == 1) {
                return std::forward<decltype(first)>(first);
            } else {
                return self(self, std::forward<decltype(rest)>(rest)...);
            }
        };
        auto r = pick(pick, std::forward<Opts>(opts)...);
        return Policy(with_default_strategy(std::decay_t<decltype(r)>(std::move(r))));
    } else if constexpr (count_kind<4, Opts...> == 1) {
        auto pick = [](auto&& self, auto&& first, auto&&... rest) -> decltype(auto) {
            if constexpr (option_kind<std::decay_t<decltype(first)>> == 4) {
                return std::forward<decltype(first)>(first);
            } else {
                return self(self, std::forward<decltype(rest)>(rest)...);
            }
        };
        using P = std::decay_t<decltype(pick(pick, std::forward<Opts>(opts)...))>;
        return P(pick(pick, std::forward<Opts>(opts)...));
    } else {
        return Policy(Retry<DefaultClassifier, DecorrelatedJitter>{.strategy = decorator_default_strategy()});
    }
}

/// False, but only once instantiated: for a `static_assert` that fires when an overload is used.
template <class...>
inline constexpr bool never = false;

/// How one attempt passes an argument the caller gave as `A` (deduced by a forwarding
/// reference: `T&` for an lvalue, `T` for an rvalue). With `Fresh`, an rvalue is passed as a
/// fresh copy, made for this attempt; otherwise every argument is passed as an lvalue.
template <class A, bool Fresh>
using attempt_arg_t = std::conditional_t<Fresh && !std::is_lvalue_reference_v<A>, std::decay_t<A>, A&>;

/// Whether `fn` takes the arguments as lvalues (then every attempt passes them so).
template <class Fn, class... Args>
inline constexpr bool takes_lvalues = std::invocable<const Fn&, Args&...>;

/// Whether `fn` needs some rvalue arguments as rvalues (a `T&&` parameter) and takes them as
/// fresh copies: every attempt then copies those arguments.
template <class Fn, class... Args>
inline constexpr bool takes_fresh_copies = !takes_lvalues<Fn, Args...> && std::invocable<const Fn&, attempt_arg_t<Args, true>...>;

/// What `fn` returns for one attempt.
template <class Fn, class... Args>
using attempt_result_t = std::invoke_result_t<const Fn&, attempt_arg_t<Args, takes_fresh_copies<Fn, Args...>>...>;

/// The wrapper's argument rule admits the call.
template <class Fn, class... Args>
concept RetryInvocable = takes_lvalues<Fn, Args...> || takes_fresh_copies<Fn, Args...>;

/// `arg` for one attempt: the caller's object, or with `Fresh` a copy of an rvalue argument.
template <bool Fresh, class A>
[[nodiscard]] attempt_arg_t<A, Fresh> attempt_arg(std::remove_reference_t<A>& arg) {
    if constexpr (Fresh && !std::is_lvalue_reference_v<A>) {
        static_assert(std::is_copy_constructible_v<std::decay_t<A>>,
                      "redress::retry: the function takes a move-only argument by value or by rvalue reference, and "
                      "every attempt needs its own: take it by reference, or retry a lambda that creates it");
        if constexpr (std::is_copy_constructible_v<std::decay_t<A>>) {
            return std::decay_t<A>(arg);
        } else {
            return std::decay_t<A>(std::move(arg));  // never compiled into a program: the assertion fails
        }
    } else {
        return arg;
    }
}

template <class P>
[[nodiscard]] const auto& unwrap_policy(const P& p) noexcept {
    if constexpr (IsPolicyRef<P>::value) {
        return p.get();
    } else {
        return p;
    }
}

}  // namespace detail

/// The callable `redress::retry` returns: `fn` with the same parameters, each call run under
/// the policy. Every attempt receives the caller's arguments afresh, never moved-from ones:
/// as lvalues (a parameter taken by value is copied per attempt, a reference sees the
/// caller's object); when `fn` takes a `T&&` parameter, each attempt passes a fresh copy of
/// the caller's rvalue argument (a move-only one is rejected at compile time). Copyable when
/// `Fn` and the policy are; `operator()` is const and as thread-safe as `Fn` and the policy.
/// Cost per call: the policy's call plus one lambda; no allocation of its own.
template <class Fn, class PolicyT>
class Retrying {
public:
    /// Built by `redress::retry`; the operation name is owned here.
    Retrying(Fn fn, PolicyT policy, CallOptions options, std::string operation)
        : fn_(std::move(fn)), policy_(std::move(policy)), options_(std::move(options)), operation_(std::move(operation)) {
        options_.operation = operation_;
    }
    /// Copies the callable, the policy and the options (the operation name is re-bound).
    Retrying(const Retrying& other)
        : fn_(other.fn_), policy_(other.policy_), options_(other.options_), operation_(other.operation_) {
        options_.operation = operation_;
    }
    /// Moves the callable, the policy and the options.
    Retrying(Retrying&& other) noexcept(std::is_nothrow_move_constructible_v<Fn> &&
                                        std::is_nothrow_move_constructible_v<PolicyT>)
        : fn_(std::move(other.fn_)), policy_(std::move(other.policy_)), options_(std::move(other.options_)),
          operation_(std::move(other.operation_)) {
        options_.operation = operation_;
    }
    Retrying& operator=(const Retrying&) = delete;
    Retrying& operator=(Retrying&&) = delete;
    ~Retrying() = default;

    /// Calls `fn(args...)` under the policy's `call()`: returns its value or throws as
    /// `call()` does. Synchronous callables only (results that are not awaitable).
    template <class... Args>
        requires detail::RetryInvocable<Fn, Args...> && (!detail::Awaitable<detail::attempt_result_t<Fn, Args...>>)
    decltype(auto) operator()(Args&&... args) const {
        return policy().call(attempt<Args...>(args...), options_);
    }

    /// Like `operator()` but returns the `Outcome` of `execute()`.
    template <class... Args>
        requires detail::RetryInvocable<Fn, Args...> && (!detail::Awaitable<detail::attempt_result_t<Fn, Args...>>)
    auto execute(Args&&... args) const {
        return policy().execute(attempt<Args...>(args...), options_);
    }

    /// Coroutine callables: returns the policy's `async_call` of `fn(args...)` — a lazy task
    /// of the callable's coroutine type (`redress::Task`, or `asio::awaitable` with
    /// <redress/asio.hpp>) yielding the value or throwing as `call()` does. Arguments passed
    /// as lvalues are held by reference and rvalues by value until the task ends, and passed
    /// to every attempt as lvalues; the wrapper (which owns the policy) must outlive the task.
    /// Await it where you call it.
    template <class... Args>
        requires std::invocable<const Fn&, Args&...> && detail::Awaitable<std::invoke_result_t<const Fn&, Args&...>>
    auto operator()(Args&&... args) const {
        return policy().async_call(bind_async(std::forward<Args>(args)...), options_);
    }

    /// Like the coroutine `operator()` but the task yields the `Outcome` of `async_execute()`.
    template <class... Args>
        requires std::invocable<const Fn&, Args&...> && detail::Awaitable<std::invoke_result_t<const Fn&, Args&...>>
    auto execute(Args&&... args) const {
        return policy().async_execute(bind_async(std::forward<Args>(args)...), options_);
    }

    /// A coroutine function with a `T&&` parameter cannot be retried: the lazy coroutine
    /// would refer to an argument that is gone by the time it runs. Fails to compile with a
    /// message naming the fix.
    template <class... Args>
        requires detail::takes_fresh_copies<Fn, Args...> && detail::Awaitable<detail::attempt_result_t<Fn, Args...>>
    void operator()(Args&&...) const {
        static_assert(detail::never<Args...>,
                      "redress::retry: a coroutine function must take its arguments by value or by reference to "
                      "const, not by rvalue reference: the coroutine runs after the argument is gone");
    }

    /// `execute` of a coroutine function with a `T&&` parameter: fails to compile, as `operator()`.
    template <class... Args>
        requires detail::takes_fresh_copies<Fn, Args...> && detail::Awaitable<detail::attempt_result_t<Fn, Args...>>
    void execute(Args&&...) const {
        static_assert(detail::never<Args...>,
                      "redress::retry: a coroutine function must take its arguments by value or by reference to "
                      "const, not by rvalue reference: the coroutine runs after the argument is gone");
    }

    /// The policy the calls run under.
    [[nodiscard]] const auto& policy() const noexcept { return detail::unwrap_policy(policy_); }
    /// The per-call options every call uses (operation included).
    [[nodiscard]] const CallOptions& options() const noexcept { return options_; }
    /// The operation name put on every event (empty when none was given).
    [[nodiscard]] std::string_view operation() const noexcept { return operation_; }

private:
    /// One attempt of a synchronous callable: `fn` called with the arguments as the class
    /// comment says. Refers to `args`, which outlive the call.
    template <class... Args>
    auto attempt(std::remove_reference_t<Args>&... args) const {
        return [this, &args...]() -> decltype(auto) {
            return std::invoke(fn_, detail::attempt_arg<detail::takes_fresh_copies<Fn, Args...>, Args>(args)...);
        };
    }

    /// One attempt of a coroutine callable: a fresh awaitable from `fn(args...)`.
    template <class... Args>
    auto bind_async(Args&&... args) const {
        return [fn = &fn_, bound = std::tuple<Args...>(std::forward<Args>(args)...)]() mutable {
            return std::apply([fn](auto&... a) { return std::invoke(*fn, a...); }, bound);
        };
    }

    Fn fn_;
    PolicyT policy_;
    CallOptions options_;
    std::string operation_;
};

/// Wraps `fn` — a free function, a lambda or other function object, or a member function
/// pointer (then the object, a reference or a pointer, is the first argument) — into a
/// callable with the same parameters whose every call runs under a policy.
///
/// `options...` are, in any order, at most one of each:
/// * a `redress::Retry{...}`: the policy is `Policy{retry}`; when it has neither `strategy`
///   nor `strategies`, `strategy` defaults to `decorrelated_jitter({.max = 5s})`;
/// * a policy (`Policy`, `testing::RecordingPolicy`, `testing::FakePolicy`, ...), copied, or
///   `std::ref(policy)` to share one that outlives the wrapper;
/// * a `redress::CallOptions` (hooks, abort, sleeper...) used by every call;
/// * the operation name (anything convertible to `std::string_view`), which wins over
///   `CallOptions::operation`.
/// With no Retry and no policy: `default_classifier` + `decorrelated_jitter({.max = 5s})`
/// and the other defaults of `Retry`. C++ cannot see a function's name, so the operation is
/// empty unless given (`REDRESS_RETRY` names an expression after its text).
/// Throws `std::invalid_argument` for an invalid `Retry`, as `Policy` does.
template <class Fn, class... Opts>
[[nodiscard]] auto retry(Fn&& fn, Opts&&... opts) {
    static_assert(detail::count_kind<1, Opts...> + detail::count_kind<4, Opts...> <= 1,
                  "redress::retry: give at most one of a Retry and a policy");
    static_assert(detail::count_kind<2, Opts...> <= 1, "redress::retry: give at most one CallOptions");
    static_assert(detail::count_kind<3, Opts...> <= 1, "redress::retry: give at most one operation name");
    detail::DecoratorOptions collected;
    (detail::collect_call_options(collected, opts), ...);
    auto policy = detail::make_decorator_policy(std::forward<Opts>(opts)...);
    return Retrying<std::decay_t<Fn>, decltype(policy)>(std::forward<Fn>(fn), std::move(policy),
                                                        std::move(collected.call), std::move(collected.operation));
}

}  // namespace redress
