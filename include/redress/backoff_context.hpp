// BackoffContext: everything a backoff strategy may look at (docs/strategies.md).
#pragma once

#include <optional>

#include <redress/classification.hpp>
#include <redress/clock.hpp>
#include <redress/vocabulary.hpp>

namespace redress {

/// The input of a context-form strategy, built by the attempt loop for every retry.
/// `attempt` is the attempt that just failed (1 for the first); `prev_sleep` is the sleep
/// chosen before the previous attempt (none on the first retry); `remaining` is the time
/// left until the deadline.
struct BackoffContext {
    /// The attempt that just failed, 1 for the first.
    int attempt = 1;
    /// The failure's classification (class, retry hint, details).
    Classification classification{};
    /// The sleep before the failed attempt; empty on the first retry.
    std::optional<Duration> prev_sleep{};
    /// Time left until the deadline; the loop clamps the sleep to it.
    std::optional<Duration> remaining{};
    /// Whether the failure was a thrown exception or a rejected result.
    FailureCause cause = FailureCause::Exception;

    /// Shorthand for `classification.klass`.
    [[nodiscard]] ErrorClass klass() const noexcept { return classification.klass; }
};

}  // namespace redress
