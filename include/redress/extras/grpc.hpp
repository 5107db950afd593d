// gRPC status-code classification on the numeric codes of the gRPC specification.
// Standard library only: gRPC itself is not included (pass `status.error_code()` as an int).
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

#include <redress/classification.hpp>
#include <redress/classify.hpp>
#include <redress/error_class.hpp>

namespace redress::extras {

/// The 17 standard gRPC status codes, with their wire numbers.
enum class GrpcCode : int {
    Ok = 0,
    Cancelled = 1,
    Unknown = 2,
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    OutOfRange = 11,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    DataLoss = 15,
    Unauthenticated = 16,
};

/// gRPC code → class: RESOURCE_EXHAUSTED → `RateLimit`; UNAVAILABLE,
/// DEADLINE_EXCEEDED → `Transient`; UNAUTHENTICATED → `Auth`; PERMISSION_DENIED →
/// `Permission`; INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE, NOT_FOUND, CANCELLED →
/// `Permanent`; INTERNAL, DATA_LOSS → `ServerError`; ABORTED → `Concurrency`; anything else
/// (OK, UNKNOWN, ALREADY_EXISTS, UNIMPLEMENTED, numbers outside 0–16) → `Unknown`.
[[nodiscard]] constexpr ErrorClass classify_grpc(int code) noexcept {
    switch (static_cast<GrpcCode>(code)) {
        case GrpcCode::ResourceExhausted: return ErrorClass::RateLimit;
        case GrpcCode::Unavailable:
        case GrpcCode::DeadlineExceeded: return ErrorClass::Transient;
        case GrpcCode::Unauthenticated: return ErrorClass::Auth;
        case GrpcCode::PermissionDenied: return ErrorClass::Permission;
        case GrpcCode::InvalidArgument:
        case GrpcCode::FailedPrecondition:
        case GrpcCode::OutOfRange:
        case GrpcCode::NotFound:
        case GrpcCode::Cancelled: return ErrorClass::Permanent;
        case GrpcCode::Internal:
        case GrpcCode::DataLoss: return ErrorClass::ServerError;
        case GrpcCode::Aborted: return ErrorClass::Concurrency;
        default: return ErrorClass::Unknown;
    }
}

/// `classify_grpc` for the enum.
[[nodiscard]] constexpr ErrorClass classify_grpc(GrpcCode code) noexcept { return classify_grpc(static_cast<int>(code)); }

/// A failed RPC, carrying its numeric status code.
class GrpcError : public std::runtime_error {
public:
    /// `code` is the numeric gRPC status; `message` the `what()` text (by default
    /// `gRPC status 14` for code 14).
    explicit GrpcError(int code, const std::string& message = {})
        : std::runtime_error(message.empty() ? "gRPC status " + std::to_string(code) : message), code_(code) {}
    /// The same, from the enum.
    explicit GrpcError(GrpcCode code, const std::string& message = {}) : GrpcError(static_cast<int>(code), message) {}

    /// The numeric gRPC status code.
    [[nodiscard]] int code() const noexcept { return code_; }

private:
    int code_;
};

/// `GrpcError` → `classify_grpc(code())`; everything else as `redress::default_classifier`.
/// Stateless; thread-safe; never throws. Looks at the exception once, as `default_classifier`
/// does (no rethrow under libstdc++).
struct GrpcClassifier {
    /// The classification of the exception `error` holds (`Unknown` for an empty pointer).
    [[nodiscard]] Classification operator()(const std::exception_ptr& error) const {
        if (!error) return Classification{};
        return redress::detail::with_thrown(error, [](const redress::detail::ThrownView& thrown) {
            if (const auto* e = thrown.as<GrpcError>()) return Classification{classify_grpc(e->code())};
            return Classification{redress::detail::classify_thrown(thrown, true)};
        });
    }
};

/// `.classifier = redress::extras::grpc_classifier`
inline constexpr GrpcClassifier grpc_classifier{};

}  // namespace redress::extras
