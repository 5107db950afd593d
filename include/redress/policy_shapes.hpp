// The component lists a `Policy` takes — Retry; Retry, breaker; breaker; Retry, Hedge; Retry,
// breaker, Hedge — and those it does not — swapped, doubled, foreign, a misplaced Hedge or too
// many — deduced to a `Policy<detail::Misbuilt<Why>>`
// whose use fails with one message naming the fix, instead of pages of failed deduction.
// Included by policy.hpp.
#pragma once

#include <type_traits>

#include <redress/engine/gate.hpp>
#include <redress/hedge.hpp>
#include <redress/policy.hpp>
#include <redress/retry.hpp>

namespace redress {

template <class C, class S, class R>
Policy(Retry<C, S, R>) -> Policy<Retry<C, S, R>, NoBreaker>;
template <class C, class S, class R, detail::BreakerLike B>
Policy(Retry<C, S, R>, B) -> Policy<Retry<C, S, R>, B>;
template <detail::BreakerLike B>
Policy(B) -> Policy<NoRetry, B>;
template <class C, class S, class R>
Policy(Retry<C, S, R>, Hedge) -> Policy<Retry<C, S, R>, NoBreaker, Hedge>;
template <class C, class S, class R, detail::BreakerLike B>
Policy(Retry<C, S, R>, B, Hedge) -> Policy<Retry<C, S, R>, B, Hedge>;

namespace detail {
/// What class template argument deduction gives for component lists a `Policy` does not
/// take, so that the mistake is reported by one message naming the fix (below) instead of
/// a failed deduction. `Why` is one of the tags that follow.
template <class Why>
struct Misbuilt {};
struct BreakerBeforeRetry {};
struct TwoRetries {};
struct TwoBreakers {};
struct NotAComponent {};
struct TooManyComponents {};
struct MisplacedHedge {};
struct ThirdNotAHedge {};

/// A type a `Policy` may take as one of its components.
template <class T>
concept PolicyComponent = IsRetry<T>::value || BreakerLike<T> || std::is_same_v<T, Hedge>;
}  // namespace detail

/// The policy deduced from a component list it does not take: using it fails to compile
/// with a message naming the fix. Not a policy.
template <class Why>
class Policy<detail::Misbuilt<Why>, NoBreaker> {
    static_assert(!std::is_same_v<Why, detail::BreakerBeforeRetry>,
                  "redress: a Policy takes the Retry first, then the CircuitBreaker: Policy{retry, breaker}");
    static_assert(!std::is_same_v<Why, detail::TwoRetries>,
                  "redress: a Policy takes one Retry: merge the settings into one redress::Retry{...}");
    static_assert(!std::is_same_v<Why, detail::TwoBreakers>,
                  "redress: a Policy takes one circuit breaker: Policy{retry, breaker} or Policy{breaker}");
    static_assert(!std::is_same_v<Why, detail::NotAComponent>,
                  "redress: a Policy is built from a redress::Retry{...}, a redress::CircuitBreaker{...}, or both in "
                  "that order (a strategy goes in Retry::strategy, breaker options in CircuitBreaker{{...}})");
    static_assert(!std::is_same_v<Why, detail::TooManyComponents>,
                  "redress: a Policy takes at most three components: Policy{retry, breaker, hedge} (a budget goes "
                  "in Retry::budget)");
    static_assert(!std::is_same_v<Why, detail::MisplacedHedge>,
                  "redress: a Hedge comes last, after a Retry: Policy{retry, hedge} or Policy{retry, breaker, hedge}");
    static_assert(!std::is_same_v<Why, detail::ThirdNotAHedge>,
                  "redress: a Policy takes at most two components, then a Hedge: Policy{retry, breaker} or "
                  "Policy{retry, breaker, hedge} (a budget goes in Retry::budget)");

public:
    /// Accepts anything, so that only the message above is reported.
    template <class... Args>
    Policy(Args&&...) {}  // NOLINT(google-explicit-constructor): never runs, see the messages above
};

// The shapes a Policy does not take, deduced to a `Misbuilt` policy that names the fix. A
// second component that is neither a Retry nor a breaker deduces as written, and the
// class's own check names it.
template <detail::BreakerLike B, class C, class S, class R>
Policy(B, Retry<C, S, R>) -> Policy<detail::Misbuilt<detail::BreakerBeforeRetry>>;
template <class C1, class S1, class R1, class C2, class S2, class R2>
Policy(Retry<C1, S1, R1>, Retry<C2, S2, R2>) -> Policy<detail::Misbuilt<detail::TwoRetries>>;
template <detail::BreakerLike B1, detail::BreakerLike B2>
Policy(B1, B2) -> Policy<detail::Misbuilt<detail::TwoBreakers>>;
template <class T>
    requires(!detail::PolicyComponent<T>)
Policy(T) -> Policy<detail::Misbuilt<detail::NotAComponent>>;
Policy(Hedge) -> Policy<detail::Misbuilt<detail::MisplacedHedge>>;
template <class A>
    requires(!detail::IsRetry<A>::value)
Policy(A, Hedge) -> Policy<detail::Misbuilt<detail::MisplacedHedge>>;
template <class B>
    requires(!std::is_same_v<B, Hedge>)
Policy(Hedge, B) -> Policy<detail::Misbuilt<detail::MisplacedHedge>>;
template <class A, class B>
    requires(!(detail::IsRetry<A>::value && detail::BreakerLike<B>))
Policy(A, B, Hedge) -> Policy<detail::Misbuilt<detail::MisplacedHedge>>;
template <class A, class B, class C>
    requires(!std::is_same_v<C, Hedge>)
Policy(A, B, C) -> Policy<detail::Misbuilt<detail::ThirdNotAHedge>>;
template <class A, class B, class C, class D, class... More>
Policy(A, B, C, D, More...) -> Policy<detail::Misbuilt<detail::TooManyComponents>>;

}  // namespace redress
