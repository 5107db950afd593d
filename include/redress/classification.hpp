// Classification: the normalised result of classifying one failure (docs/classifiers.md).
#pragma once

#include <optional>
#include <string>

#include <redress/clock.hpp>
#include <redress/error_class.hpp>

namespace redress {

/// What a classifier says about one failure: its class, an optional server-provided
/// retry hint (for example HTTP `Retry-After`), and free-form details for logs.
/// A classifier may return a bare `ErrorClass`; the attempt loop normalises it to this.
/// Value type; an empty `details` does not allocate.
struct Classification {
    /// The failure's class; decides every response.
    ErrorClass klass = ErrorClass::Unknown;
    /// How long the server asked to wait (e.g. HTTP `Retry-After`), if it did; honoured by
    /// `retry_after_or`.
    std::optional<Duration> retry_after{};
    /// Free text for logs; the policy does not read it.
    std::string details{};

    friend bool operator==(const Classification&, const Classification&) = default;
};

/// Normalises classifier output.
[[nodiscard]] inline Classification to_classification(ErrorClass klass) { return Classification{klass}; }
[[nodiscard]] inline Classification to_classification(Classification c) { return c; }

}  // namespace redress
