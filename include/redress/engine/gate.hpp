// The breaker gate: a policy's breaker is asked once before the attempts and told one result
// after them (success; cancel when aborted; or failure of the last class). Shared by the sync
// and coroutine drivers.
#pragma once

#include <concepts>
#include <optional>
#include <type_traits>
#include <utility>

#include <redress/circuit_breaker.hpp>
#include <redress/clock.hpp>
#include <redress/detail/attributes.hpp>
#include <redress/engine/attempt_loop.hpp>
#include <redress/error_class.hpp>
#include <redress/event.hpp>
#include <redress/outcome.hpp>
#include <redress/vocabulary.hpp>

namespace redress {
/// The component slot of a policy that has no breaker.
struct NoBreaker {};
}  // namespace redress

namespace redress::detail {

/// A circuit breaker as a policy uses it: `CircuitBreaker`, `testing::FakeCircuitBreaker`,
/// or any type with the same members.
template <class B>
concept BreakerLike = requires(B& b, const decltype(std::declval<B&>().allow())& permit, ErrorClass k) {
    { b.allow().allowed } -> std::convertible_to<bool>;
    b.allow().state;
    b.record_success(permit);
    b.record_failure(k, permit);
    b.record_cancel(permit);
};

/// The clock a breaker reads (`options().clock`), for a policy that has no `Retry` to take
/// one from; `std::chrono::steady_clock` for breakers without one.
template <class B>
[[nodiscard]] AnyClock breaker_clock(const B& breaker) {
    if constexpr (requires { AnyClock(breaker.options().clock); }) {
        return breaker.options().clock;
    } else {
        (void)breaker;
        return AnyClock{};
    }
}

/// Emits a breaker transition as an event (attempt 0). `circuit_opened` carries the class of
/// the failure that opened the breaker.
template <class Transition>
void emit_breaker_transition(const CallHooks& hooks, const std::optional<Transition>& transition, TimePoint start,
                             const AnyClock& clock, std::optional<ErrorClass> klass = std::nullopt) {
    if (!transition || !hooks.observed()) return;
    Event e;
    e.name = transition->name;
    e.attempt = 0;
    e.operation = hooks.operation;
    e.tags = hooks.tags;
    e.state = transition->state;
    if (transition->name == EventName::CircuitOpened) e.error_class = klass;
    emit(hooks, e, start, clock);
}
REDRESS_EXTERN_TEMPLATE(void emit_breaker_transition(const CallHooks&, const std::optional<BreakerTransition>&,
                                                     TimePoint, const AnyClock&, std::optional<ErrorClass>))

/// Asks the breaker on construction and tells it how the operation ended with `tell()`. A gate
/// destroyed without being told (the driver failed, or a suspended coroutine was destroyed)
/// reports a cancel, which frees a half-open probe slot.
template <class BreakerT>
class BreakerGate {
public:
    using Permit = decltype(std::declval<BreakerT&>().allow());

    BreakerGate(BreakerT& breaker, const CallHooks& hooks, const AnyClock& clock, TimePoint start)
        : BreakerGate(breaker, hooks, clock, start, breaker.allow()) {
        emit_breaker_transition(hooks_, permit_.transition, start_, clock_);
    }
    /// A gate for a permit the driver already holds (the quiet fast path asked first).
    BreakerGate(BreakerT& breaker, const CallHooks& hooks, const AnyClock& clock, TimePoint start, Permit permit)
        : breaker_(breaker), hooks_(hooks), clock_(clock), start_(start), permit_(std::move(permit)),
          settled_(!permit_.allowed) {}
    BreakerGate(const BreakerGate&) = delete;
    BreakerGate& operator=(const BreakerGate&) = delete;
    ~BreakerGate() {
        if (!settled_) cancel();
    }

    /// False when the breaker rejected the call; the outcome then says `CircuitOpen`.
    [[nodiscard]] bool admitted(OutcomeBase& out) const noexcept {
        if (permit_.allowed) return true;
        out.stop_reason = StopReason::CircuitOpen;
        return false;
    }
    /// The state the breaker answered with (for `CircuitOpenError`).
    [[nodiscard]] CircuitState state() const noexcept { return permit_.state; }
    /// The breaker's state as a hedge sees it: not closed when this operation is a half-open
    /// probe, or when the breaker (if it can tell) has left closed since.
    [[nodiscard]] CircuitState current() const {
        if (permit_.state != CircuitState::Closed) return permit_.state;
        if constexpr (requires { CircuitState(breaker_.state()); }) {
            return breaker_.state();
        } else {
            return CircuitState::Closed;
        }
    }

    /// Tells the breaker how the operation ended: success, cancel (aborted), or failure of
    /// the last failure's class (`Unknown` when none). Out of line (once per operation, after
    /// it ended; a quiet call does not come here): inlined, it put the breaker's reporting
    /// into every driver, and under separate compilation a unit with a breaker call took 5 %
    /// longer to compile at -O2 (2.75 s against 2.60 s).
    REDRESS_NOINLINE void tell(const OutcomeBase& out) {
        settled_ = true;
        if (out.ok) {
            emit_breaker_transition(hooks_, breaker_.record_success(permit_), start_, clock_);
        } else if (out.stop_reason == StopReason::Aborted) {
            emit_breaker_transition(hooks_, breaker_.record_cancel(permit_), start_, clock_);
        } else {
            const ErrorClass klass = known_class(out.last_class ? *out.last_class : ErrorClass::Unknown);
            emit_breaker_transition(hooks_, breaker_.record_failure(klass, permit_), start_, clock_, klass);
        }
    }

private:
    /// The driver itself failed (not the operation): free the probe slot.
    void cancel() noexcept {
        settled_ = true;
        try {
            (void)breaker_.record_cancel(permit_);
        } catch (...) {
        }
    }

    BreakerT& breaker_;
    const CallHooks& hooks_;
    const AnyClock& clock_;
    TimePoint start_;
    Permit permit_;
    bool settled_ = false;
};
/// The gate of the library's own breaker is compiled once under separate compilation.
REDRESS_EXTERN_TEMPLATE(class BreakerGate<CircuitBreaker>)

/// The gate of a policy without a breaker: admits everything, is told nothing.
struct NoGate {
    [[nodiscard]] static constexpr bool admitted(OutcomeBase&) noexcept { return true; }
    [[nodiscard]] static constexpr CircuitState state() noexcept { return CircuitState::Closed; }
    [[nodiscard]] static constexpr CircuitState current() noexcept { return CircuitState::Closed; }
    static void tell(const OutcomeBase&) noexcept {}
};

}  // namespace redress::detail
