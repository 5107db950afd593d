// CircuitState: the breaker's state (SPEC §6).
#pragma once

#include <redress/detail/wire_enum.hpp>

namespace redress {

/// The state of a circuit breaker.
enum class CircuitState {
    Closed,
    Open,
    HalfOpen
};

template <>
struct detail::WireNames<CircuitState> {
    static constexpr std::array<WireName<CircuitState>, 3> values{{
        {CircuitState::Closed, "closed"},
        {CircuitState::Open, "open"},
        {CircuitState::HalfOpen, "half_open"},
    }};
};

}  // namespace redress
