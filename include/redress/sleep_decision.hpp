// SleepDecision: a sleep handler's answer (SPEC §5).
#pragma once

#include <redress/detail/wire_enum.hpp>

namespace redress {

/// The answer of a sleep handler (`sleep` option): sleep as planned, defer the retry to an
/// external scheduler (stop `Scheduled`), or abort (stop `Aborted`).
enum class SleepDecision {
    Sleep,
    Defer,
    Abort
};

template <>
struct detail::WireNames<SleepDecision> {
    static constexpr std::array<WireName<SleepDecision>, 3> values{{
        {SleepDecision::Sleep, "sleep"},
        {SleepDecision::Defer, "defer"},
        {SleepDecision::Abort, "abort"},
    }};
};

}  // namespace redress
