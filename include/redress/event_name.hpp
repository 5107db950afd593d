// EventName: the lifecycle events (SPEC §2, §5).
#pragma once

#include <redress/detail/wire_enum.hpp>

namespace redress {

/// The name of every event a policy emits to `on_metric` / `on_log` (wire values match the
/// Python library, so one dashboard serves both).
enum class EventName {
    Success,
    Retry,
    PermanentFail,
    DeadlineExceeded,
    MaxAttemptsExceeded,
    MaxUnknownAttemptsExceeded,
    NoStrategyConfigured,
    BudgetExhausted,
    Scheduled,
    Aborted,
    CircuitOpened,
    CircuitHalfOpen,
    CircuitClosed,
    CircuitRejected
};

template <>
struct detail::WireNames<EventName> {
    static constexpr std::array<WireName<EventName>, 14> values{{
        {EventName::Success, "success"},
        {EventName::Retry, "retry"},
        {EventName::PermanentFail, "permanent_fail"},
        {EventName::DeadlineExceeded, "deadline_exceeded"},
        {EventName::MaxAttemptsExceeded, "max_attempts_exceeded"},
        {EventName::MaxUnknownAttemptsExceeded, "max_unknown_attempts_exceeded"},
        {EventName::NoStrategyConfigured, "no_strategy_configured"},
        {EventName::BudgetExhausted, "budget_exhausted"},
        {EventName::Scheduled, "scheduled"},
        {EventName::Aborted, "aborted"},
        {EventName::CircuitOpened, "circuit_opened"},
        {EventName::CircuitHalfOpen, "circuit_half_open"},
        {EventName::CircuitClosed, "circuit_closed"},
        {EventName::CircuitRejected, "circuit_rejected"},
    }};
};

}  // namespace redress
