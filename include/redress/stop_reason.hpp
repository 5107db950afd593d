// StopReason: why an operation stopped (SPEC §2).
#pragma once

#include <redress/detail/wire_enum.hpp>

namespace redress {

/// Why an operation stopped without success. `CircuitOpen` is this library's addition:
/// the Python original reports no stop reason when a breaker rejects.
enum class StopReason {
    MaxAttemptsGlobal,
    MaxAttemptsPerClass,
    DeadlineExceeded,
    MaxUnknownAttempts,
    NonRetryableClass,
    NoStrategy,
    BudgetExhausted,
    Scheduled,
    Aborted,
    CircuitOpen
};

template <>
struct detail::WireNames<StopReason> {
    static constexpr std::array<WireName<StopReason>, 10> values{{
        {StopReason::MaxAttemptsGlobal, "MAX_ATTEMPTS_GLOBAL"},
        {StopReason::MaxAttemptsPerClass, "MAX_ATTEMPTS_PER_CLASS"},
        {StopReason::DeadlineExceeded, "DEADLINE_EXCEEDED"},
        {StopReason::MaxUnknownAttempts, "MAX_UNKNOWN_ATTEMPTS"},
        {StopReason::NonRetryableClass, "NON_RETRYABLE_CLASS"},
        {StopReason::NoStrategy, "NO_STRATEGY"},
        {StopReason::BudgetExhausted, "BUDGET_EXHAUSTED"},
        {StopReason::Scheduled, "SCHEDULED"},
        {StopReason::Aborted, "ABORTED"},
        {StopReason::CircuitOpen, "CIRCUIT_OPEN"},
    }};
};

}  // namespace redress
