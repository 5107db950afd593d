// Attempt: what an attempt can know about itself. An operation that takes one
// (`policy.call([](const redress::Attempt& a) { ... })`) sees its attempt number, the time left
// before the deadline, its own deadline, its stop token, the operation's name and an
// idempotency key that stays the same on every attempt (docs/attempt.md).
#pragma once

#include <optional>
#include <stop_token>
#include <string_view>

#include <redress/clock.hpp>

namespace redress {

/// The attempt's own view, passed to an operation that takes `const redress::Attempt&` (or
/// `redress::Attempt` by value) instead of nothing or a `std::stop_token`. Built only for such
/// operations: the others pay nothing for it. The string views are valid during the attempt
/// (for a coroutine operation: until the attempt's awaitable completes); copy them to keep them.
struct Attempt {
    /// 1 for the first attempt.
    int number = 1;
    /// What is left of the policy's `deadline` when this attempt starts (never negative): a
    /// budget to pass on to a downstream (a gRPC deadline, a statement timeout).
    Duration time_left{};
    /// This attempt's own deadline on the policy's clock, `attempt_timeout` after its start;
    /// empty when the policy has no `attempt_timeout`.
    std::optional<TimePoint> deadline{};
    /// Requested when the caller stops the operation, an `abort_if` fires, or this attempt's
    /// `attempt_timeout` passes: the same token a `fn(std::stop_token)` operation receives.
    std::stop_token stop_token{};
    /// The call's `operation` name (empty when none was given).
    std::string_view operation{};
    /// 36 characters in the UUID version 4 form (`8-4-4-4-12` lower-case hex digits), random,
    /// made once per operation and the same on every attempt: send it as an `Idempotency-Key`
    /// header so a server can tell a retry from a new request.
    std::string_view idempotency_key{};
};

}  // namespace redress
