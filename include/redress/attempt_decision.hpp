// AttemptDecision: what happened after an attempt (SPEC §2).
#pragma once

#include <redress/detail/wire_enum.hpp>

namespace redress {

/// The decision taken at the end of an attempt, as passed to `on_attempt_end`.
enum class AttemptDecision {
    Success,
    Retry,
    Raise,
    Scheduled,
    Aborted
};

template <>
struct detail::WireNames<AttemptDecision> {
    static constexpr std::array<WireName<AttemptDecision>, 5> values{{
        {AttemptDecision::Success, "success"},
        {AttemptDecision::Retry, "retry"},
        {AttemptDecision::Raise, "raise"},
        {AttemptDecision::Scheduled, "scheduled"},
        {AttemptDecision::Aborted, "aborted"},
    }};
};

}  // namespace redress
