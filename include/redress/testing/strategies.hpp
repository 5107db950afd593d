// Strategies and policies for tests: predictable sleeps, no sleeps, no retries.
#pragma once

#include <atomic>
#include <chrono>
#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <vector>

#include <redress/backoff_context.hpp>
#include <redress/classify.hpp>
#include <redress/clock.hpp>
#include <redress/policy.hpp>
#include <redress/retry.hpp>

namespace redress::testing {

/// A strategy that returns a scripted sequence of sleeps, one per call; the last one repeats
/// (an empty script returns zero). Records every context it was given. A handle: copies share
/// the script position and the record, so a test keeps a copy to inspect. Thread-safe.
class DeterministicStrategy {
public:
    /// Scripts `sleeps`: `DeterministicStrategy{100ms, 200ms}`.
    DeterministicStrategy(std::initializer_list<Duration> sleeps = {})
        : state_(std::make_shared<State>(std::vector<Duration>(sleeps))) {}
    /// Scripts `sleeps`, taken from a vector.
    explicit DeterministicStrategy(std::vector<Duration> sleeps) : state_(std::make_shared<State>(std::move(sleeps))) {}

    /// Records `ctx` and returns the next scripted sleep (the last one again once the script
    /// is used up; zero when it is empty). Takes a lock.
    Duration operator()(const BackoffContext& ctx) const {
        std::lock_guard lock(state_->mutex);
        state_->seen.push_back(ctx);
        if (state_->sleeps.empty()) return Duration::zero();
        const auto i = std::min(state_->next++, state_->sleeps.size() - 1);
        return state_->sleeps[i];
    }

    /// How many times the strategy was asked for a sleep.
    [[nodiscard]] std::size_t calls() const {
        std::lock_guard lock(state_->mutex);
        return state_->seen.size();
    }
    /// Every context the strategy was given, in order.
    [[nodiscard]] std::vector<BackoffContext> contexts() const {
        std::lock_guard lock(state_->mutex);
        return state_->seen;
    }

private:
    struct State {
        explicit State(std::vector<Duration> s) : sleeps(std::move(s)) {}
        std::mutex mutex;
        std::vector<Duration> sleeps;
        std::size_t next = 0;
        std::vector<BackoffContext> seen;
    };
    std::shared_ptr<State> state_;
};

/// A strategy that always retries at once (sleep 0). Stateless.
struct InstantRetries {
    /// Always zero.
    constexpr Duration operator()(const BackoffContext&) const noexcept { return Duration::zero(); }
};
inline constexpr InstantRetries instant_retries{};

/// A policy that runs each operation exactly once: failures are classified and reported,
/// never retried (stop reason `MaxAttemptsGlobal` for retryable classes).
[[nodiscard]] inline auto no_retries() {
    return Policy(Retry<DefaultClassifier, InstantRetries>{.strategy = instant_retries, .max_attempts = 1});
}

}  // namespace redress::testing
