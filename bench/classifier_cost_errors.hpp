// The failures bench/classifier_cost.cpp classifies. They are created in
// classifier_cost_errors.cpp, another translation unit, so the compiler cannot see which
// type an exception_ptr holds and fold the classification away.
#pragma once

#include <exception>
#include <stdexcept>

namespace redress_bench::cost {

/// A type registered with `redress::register_status_type` (a `status()` member).
struct RegisteredApiError : std::runtime_error {
    explicit RegisteredApiError(int status) : std::runtime_error("api"), status_(status) {}
    [[nodiscard]] int status() const noexcept { return status_; }
    int status_;
};

/// A throw that is not a `std::exception`, with a name no heuristic matches.
struct NotStdFailure {
    int code;
};

/// A std::exception whose name the heuristics match ("connection" → Transient): what
/// the retry-path workload of bench/workloads.hpp throws.
struct ConnectionReset : std::exception {
    const char* what() const noexcept override { return "connection reset"; }
};

std::exception_ptr make_runtime_error();        // std::runtime_error("boom")
std::exception_ptr make_status_error(int);      // redress::StatusError(status)
std::exception_ptr make_registered(int);        // RegisteredApiError(status)
std::exception_ptr make_not_std();              // NotStdFailure{7}
std::exception_ptr make_connection_reset();     // ConnectionReset{}
std::exception_ptr make_rate_limit();           // redress::RateLimitError("slow down")

}  // namespace redress_bench::cost
