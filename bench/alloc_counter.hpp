// A counting global operator new for the benchmark executables: every benchmark reports the
// heap allocations (operator new calls) per iteration as the counter `allocs_per_call`.
#pragma once


namespace redress_bench {

/// operator new calls made by the calling thread since it started. Per thread, so a
/// multi-threaded benchmark counts each thread's own allocations exactly and without contention.
long allocation_count() noexcept;

}  // namespace redress_bench
