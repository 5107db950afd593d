// BackoffContext: everything a backoff strategy may look at (SPEC §2, §8).
#pragma once

#include <optional>

#include <redress/classification.hpp>
#include <redress/clock.hpp>
#include <redress/failure_cause.hpp>

namespace redress {

/// The input of a context-form strategy, built by the attempt loop for every retry.
/// `attempt` is the attempt that just failed (1 for the first); `prev_sleep` is the sleep
/// chosen before the previous attempt (none on the first retry); `remaining` is the time
/// left until the deadline.
struct BackoffContext {
    int attempt = 1;
    Classification classification{};
    std::optional<Duration> prev_sleep{};
    std::optional<Duration> remaining{};
    FailureCause cause = FailureCause::Exception;

    [[nodiscard]] ErrorClass klass() const noexcept { return classification.klass; }
};

}  // namespace redress
