// <redress/impl/retry.hpp>: the definitions <redress/retry.hpp> declares.
// Included at the end of that header, or once, by <redress/impl/src.hpp> under separate
// compilation (detail/attributes.hpp says which definitions live here).
#pragma once

#include <redress/detail/attributes.hpp>
#include <redress/retry.hpp>

namespace redress::detail {

REDRESS_DECL const CallOptions& no_call_options() noexcept {
    static const CallOptions empty{};
    return empty;
}

REDRESS_DECL void invalid_retry_option(std::string_view option, std::string_view rule) {
    invalid_option("Retry", option, rule);
}

REDRESS_DECL void invalid_retry_option(std::string_view option, const Message& rule) {
    invalid_option("Retry", option, rule);
}

template <class V>
void validate_options(const RetryView& r) {
    if (r.strategy == nullptr && r.strategies->empty())
        invalid_retry_option("strategy", "is required: set 'strategy' or 'strategies' (no backoff is configured)");
    if (r.max_attempts < 1) invalid_retry_option("max_attempts", Message{} << "must be >= 1 (is " << r.max_attempts << ")");
    if (r.deadline <= Duration::zero()) invalid_retry_option("deadline", "must be > 0");
    if (*r.attempt_timeout && **r.attempt_timeout <= Duration::zero()) invalid_retry_option("attempt_timeout", "must be > 0");
    if (*r.max_unknown_attempts && **r.max_unknown_attempts < 0) invalid_retry_option("max_unknown_attempts", Message{} << "must be >= 0 (is " << **r.max_unknown_attempts << ")");
    r.per_class_max_attempts->for_each([](ErrorClass klass, int limit) {
        if (limit < 0)
            invalid_retry_option("per_class_max_attempts",
                           Message{} << "must be >= 0 (class " << to_string(klass) << " has " << limit << ")");
    });
    r.strategies->for_each([](ErrorClass klass, const AnyStrategy& s) {
        if (!s) invalid_retry_option("strategies", Message{} << "has an empty strategy for class " << to_string(klass));
    });
}

}  // namespace redress::detail
