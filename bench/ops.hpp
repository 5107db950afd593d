// The user's operations the benchmarks measure. They live in their own translation unit
// (ops.cpp): a compiler that could see their bodies would prove that `succeed()` never throws
// and compile the policy's failure path away, which flatters every ratio.
#pragma once

#include <exception>

namespace redress_bench {

/// Thrown by the failing operation. Carries no message (a std::runtime_error would allocate
/// one), so any allocation counted on the retry path is not the operation's. The name makes
/// `default_classifier` classify it `Transient` (the "connection" word).
struct ConnectionReset : std::exception {
    const char* what() const noexcept override;
};

/// The operation on the success path: returns 42.
int succeed();

/// Fails twice, then succeeds; cycles, so each three calls are one retried operation.
int fail_twice(int& calls);

}  // namespace redress_bench
