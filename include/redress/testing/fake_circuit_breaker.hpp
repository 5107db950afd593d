// FakeCircuitBreaker: a scripted stand-in for CircuitBreaker in tests (docs/testing.md).
#pragma once

#include <cstddef>
#include <deque>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <redress/circuit_breaker.hpp>

namespace redress::testing {

/// What a `FakeCircuitBreaker` answers to one `allow()`.
enum class BreakerDecision {
    Allow,   ///< allowed, closed, no event
    Reject,  ///< rejected, state Open, event `circuit_rejected`
    Probe    ///< allowed as the half-open probe, event `circuit_half_open`
};

/// A circuit breaker whose answers are scripted, with counters of what it was told. It has
/// the same members as `CircuitBreaker`, so it goes wherever the real one does:
/// `Policy{retry, fake}`.
///
/// `allow()` takes the next scripted decision; when the script runs out it answers the
/// fallback (`Allow` unless `always()` set another). Reports return the events a real breaker
/// would: a probe's success or non-`trip_on` failure gives `circuit_closed`, a probe's
/// `trip_on` failure (default trip_on: Transient, ServerError) gives `circuit_opened`;
/// other reports give nothing. `state()` follows: Closed, then HalfOpen while a probe is
/// out, Open after a rejection or a failed probe, Closed after a closing probe.
///
/// A handle: copies share the script and the counters, so a test keeps one copy while the
/// policy holds another. Thread-safe (one mutex); not meant for speed.
class FakeCircuitBreaker {
public:
    FakeCircuitBreaker() : state_(std::make_shared<Shared>()) {}

    /// Starts with `decisions` scripted.
    FakeCircuitBreaker(std::initializer_list<BreakerDecision> decisions) : FakeCircuitBreaker() {
        script(decisions);
    }

    /// Copies the handle: both share the script, the state and the counters.
    FakeCircuitBreaker(const FakeCircuitBreaker&) = default;
    /// Makes this handle share the other's script, state and counters.
    FakeCircuitBreaker& operator=(const FakeCircuitBreaker&) = default;
    ~FakeCircuitBreaker() = default;

    /// Appends decisions to the script (consumed in order by `allow()`).
    void script(std::initializer_list<BreakerDecision> decisions) { script(std::vector<BreakerDecision>(decisions)); }
    /// Appends `decisions` to the script, in order.
    void script(const std::vector<BreakerDecision>& decisions) {
        std::lock_guard lock(state_->mutex);
        state_->script.insert(state_->script.end(), decisions.begin(), decisions.end());
    }

    /// Clears the script and answers `decision` to every later `allow()`.
    void always(BreakerDecision decision) {
        std::lock_guard lock(state_->mutex);
        state_->script.clear();
        state_->fallback = decision;
    }

    /// Which classes count as failures of a probe (default Transient, ServerError).
    void set_trip_on(ErrorClassSet trip_on) {
        std::lock_guard lock(state_->mutex);
        state_->trip_on = trip_on;
    }

    /// Takes the next scripted decision (the fallback when the script is empty, `Reject` while
    /// isolated) and answers as a real breaker would: see `BreakerDecision`. Counts the call.
    [[nodiscard]] BreakerPermit allow() {
        std::lock_guard lock(state_->mutex);
        auto& s = *state_;
        ++s.allow_calls;
        auto decision = s.fallback;
        if (s.isolated) {
            decision = BreakerDecision::Reject;
        } else if (!s.script.empty()) {
            decision = s.script.front();
            s.script.pop_front();
        }
        switch (decision) {
            case BreakerDecision::Reject:
                ++s.rejections;
                if (s.state == CircuitState::Closed) s.state = CircuitState::Open;
                return BreakerPermit{false, false, s.state, BreakerTransition{EventName::CircuitRejected, s.state}, 0};
            case BreakerDecision::Probe:
                s.state = CircuitState::HalfOpen;
                return BreakerPermit{true, true, CircuitState::HalfOpen,
                                     BreakerTransition{EventName::CircuitHalfOpen, CircuitState::HalfOpen}, 0};
            case BreakerDecision::Allow:
                break;
        }
        return BreakerPermit{true, false, s.state, std::nullopt, 0};
    }

    /// Counts a success; a probe's success closes (`circuit_closed`).
    std::optional<BreakerTransition> record_success(const BreakerPermit& permit) {
        std::lock_guard lock(state_->mutex);
        ++state_->successes;
        return permit.probe ? close_locked() : std::nullopt;
    }

    /// Counts a failure and remembers `klass`; a probe's failure opens (`circuit_opened`) when
    /// `klass` is in `trip_on`, and closes (`circuit_closed`) otherwise.
    std::optional<BreakerTransition> record_failure(ErrorClass klass, const BreakerPermit& permit) {
        // A value outside the eight classes counts as Unknown, as in CircuitBreaker.
        if (static_cast<std::size_t>(klass) >= error_class_count) klass = ErrorClass::Unknown;
        std::lock_guard lock(state_->mutex);
        ++state_->failures;
        state_->last_failure_class = klass;
        if (!permit.probe) return std::nullopt;
        if (!state_->trip_on.contains(klass)) return close_locked();
        state_->state = CircuitState::Open;
        return BreakerTransition{EventName::CircuitOpened, CircuitState::Open};
    }

    /// Counts a cancel; changes nothing else and returns empty.
    std::optional<BreakerTransition> record_cancel(const BreakerPermit&) {
        std::lock_guard lock(state_->mutex);
        ++state_->cancels;
        return std::nullopt;
    }

    /// The state the reports so far imply, or the one `set_state` set.
    [[nodiscard]] CircuitState state() const {
        std::lock_guard lock(state_->mutex);
        return state_->state;
    }

    /// Sets what `state()` reports and what `Allow` permits carry.
    void set_state(CircuitState s) {
        std::lock_guard lock(state_->mutex);
        state_->state = s;
    }

    /// Every later `allow()` rejects until `reset()` (the script is kept, not consumed).
    void isolate() {
        std::lock_guard lock(state_->mutex);
        ++state_->isolate_calls;
        state_->isolated = true;
        state_->state = CircuitState::Open;
    }

    /// Ends `isolate()` and reports Closed; keeps the script and the counters.
    void reset() {
        std::lock_guard lock(state_->mutex);
        ++state_->reset_calls;
        state_->isolated = false;
        state_->state = CircuitState::Closed;
    }

    /// What the fake reports: its `state()`, isolation, mode `Ratio`, the default recovery
    /// timeout, and no counts (a fake counts calls, not a window).
    [[nodiscard]] BreakerSnapshot snapshot() const {
        std::lock_guard lock(state_->mutex);
        BreakerSnapshot s;
        s.state = state_->state;
        s.isolated = state_->isolated;
        s.recovery_timeout = state_->options.recovery_timeout;
        return s;
    }

    /// Takes the snapshot's state and isolation (the script is kept); counts the call.
    void restore(const BreakerSnapshot& snapshot) {
        std::lock_guard lock(state_->mutex);
        ++state_->restore_calls;
        state_->state = snapshot.state;
        state_->isolated = snapshot.isolated;
    }

    /// `Ratio`, the mode of a default breaker.
    [[nodiscard]] BreakerMode mode() const noexcept { return BreakerMode::Ratio; }

    /// The options of a default breaker, as validated (a fake has no thresholds of its own).
    [[nodiscard]] const CircuitBreakerOptions& options() const noexcept { return state_->options; }

    /// Calls of `allow()`, rejected ones included.
    [[nodiscard]] int allow_calls() const { return read(&Shared::allow_calls); }
    /// `allow()` calls that rejected.
    [[nodiscard]] int rejections() const { return read(&Shared::rejections); }
    /// Calls of `record_success`.
    [[nodiscard]] int successes() const { return read(&Shared::successes); }
    /// Calls of `record_failure`.
    [[nodiscard]] int failures() const { return read(&Shared::failures); }
    /// Calls of `record_cancel`.
    [[nodiscard]] int cancels() const { return read(&Shared::cancels); }
    /// Calls of `isolate()`.
    [[nodiscard]] int isolate_calls() const { return read(&Shared::isolate_calls); }
    /// Calls of `reset()`.
    [[nodiscard]] int reset_calls() const { return read(&Shared::reset_calls); }
    /// Calls of `restore()`.
    [[nodiscard]] int restore_calls() const { return read(&Shared::restore_calls); }
    /// The class of the last `record_failure`, if any.
    [[nodiscard]] std::optional<ErrorClass> last_failure_class() const {
        std::lock_guard lock(state_->mutex);
        return state_->last_failure_class;
    }
    /// Scripted decisions not yet consumed.
    [[nodiscard]] std::size_t pending() const {
        std::lock_guard lock(state_->mutex);
        return state_->script.size();
    }

private:
    struct Shared {
        mutable std::mutex mutex;
        std::deque<BreakerDecision> script;
        BreakerDecision fallback = BreakerDecision::Allow;
        ErrorClassSet trip_on{ErrorClass::Transient, ErrorClass::ServerError};
        CircuitState state = CircuitState::Closed;
        bool isolated = false;
        int allow_calls = 0;
        int rejections = 0;
        int successes = 0;
        int failures = 0;
        int cancels = 0;
        int isolate_calls = 0;
        int reset_calls = 0;
        int restore_calls = 0;
        std::optional<ErrorClass> last_failure_class;
        CircuitBreakerOptions options{.failure_ratio = CircuitBreakerOptions::default_failure_ratio};
    };

    std::optional<BreakerTransition> close_locked() {
        state_->state = CircuitState::Closed;
        return BreakerTransition{EventName::CircuitClosed, CircuitState::Closed};
    }

    int read(int Shared::*member) const {
        std::lock_guard lock(state_->mutex);
        return (*state_).*member;
    }

    std::shared_ptr<Shared> state_;
};

}  // namespace redress::testing
