// FailureCause: what made an attempt fail (SPEC §2).
#pragma once

#include <redress/detail/wire_enum.hpp>

namespace redress {

/// Whether a failure was an exception thrown by the callable or a returned value that the
/// `result_classifier` judged a failure.
enum class FailureCause {
    Exception,
    Result
};

template <>
struct detail::WireNames<FailureCause> {
    static constexpr std::array<WireName<FailureCause>, 2> values{{
        {FailureCause::Exception, "exception"},
        {FailureCause::Result, "result"},
    }};
};

}  // namespace redress
