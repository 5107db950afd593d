// See classifier_cost_errors.hpp: the failures live in their own translation unit.
#include "classifier_cost_errors.hpp"

#include <redress/classify.hpp>

namespace redress_bench::cost {

std::exception_ptr make_runtime_error() { return std::make_exception_ptr(std::runtime_error("boom")); }
std::exception_ptr make_status_error(int status) { return std::make_exception_ptr(redress::StatusError(status)); }
std::exception_ptr make_registered(int status) { return std::make_exception_ptr(RegisteredApiError(status)); }
std::exception_ptr make_not_std() { return std::make_exception_ptr(NotStdFailure{7}); }
std::exception_ptr make_connection_reset() { return std::make_exception_ptr(ConnectionReset{}); }
std::exception_ptr make_rate_limit() { return std::make_exception_ptr(redress::RateLimitError("slow down")); }

}  // namespace redress_bench::cost
