// <redress/extras/sqlstate.hpp>, <redress/extras/grpc.hpp>, <redress/extras/curl.hpp>:
// every mapping row, SQLSTATE extraction shapes, and the classifiers.
#include <catch2/catch.hpp>

#include <optional>
#include <exception>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include <redress/extras/curl.hpp>
#include <redress/extras/grpc.hpp>
#include <redress/extras/sqlstate.hpp>

using redress::ErrorClass;

TEST_CASE("classify_sqlstate maps every row of the SQLSTATE table") {
    struct Row {
        std::string_view code;
        ErrorClass klass;
    };
    const Row rows[] = {
        {"40001", ErrorClass::Concurrency}, {"40P01", ErrorClass::Concurrency}, {"40p01", ErrorClass::Concurrency},
        {"HYT00", ErrorClass::Transient},   {"HYT01", ErrorClass::Transient},   {"hyt00", ErrorClass::Transient},
        {"08000", ErrorClass::Transient},   {"08001", ErrorClass::Transient},   {"08006", ErrorClass::Transient},
        {"08P01", ErrorClass::Transient},   {"28000", ErrorClass::Auth},        {"28P01", ErrorClass::Auth},
        {"42000", ErrorClass::Permanent},   {"42P01", ErrorClass::Permanent},   {"42601", ErrorClass::Unknown},
        {"23505", ErrorClass::Unknown},     {"40002", ErrorClass::Unknown},     {"HYT02", ErrorClass::Unknown},
        {"00000", ErrorClass::Unknown},     {"0800", ErrorClass::Unknown},      {"080000", ErrorClass::Unknown},
        {"", ErrorClass::Unknown},
    };
    for (const auto& row : rows) {
        INFO("SQLSTATE " << row.code);
        CHECK(redress::extras::classify_sqlstate(row.code) == row.klass);
    }
}

TEST_CASE("extract_sqlstate finds the code in the documented message shapes") {
    using redress::extras::extract_sqlstate;
    struct Row {
        std::string_view text;
        std::optional<std::string_view> code;
    };
    const Row rows[] = {
        {"40001", "40001"},
        {"  40P01 ", "40P01"},
        {"ERROR:  could not serialize access due to concurrent update SQLSTATE 40001", "40001"},
        {"ERROR:  deadlock detected (SQLSTATE 40P01)", "40P01"},
        {"sqlstate: 08006 connection lost", "08006"},
        {"SQLSTATE=28P01", "28P01"},
        {"SQLSTATE[HY000]: General error", "HY000"},
        {"failed (sqlstate '42P01')", "42P01"},
        {"ERROR:  40001: could not serialize access", "40001"},
        {"SQLSTATE 4000 and then SQLSTATE 40001", "40001"},
        {"ERROR:  could not connect", std::nullopt},
        {"SQLSTATE 400011", std::nullopt},
        {"SQLSTATE 4000a", std::nullopt},
        {"no code here", std::nullopt},
        {"SQLSTATE", std::nullopt},
        {"SQLSTATE      40001", std::nullopt},  // at most four separators
        {"", std::nullopt},
        {"hello", std::nullopt},
    };
    for (const auto& row : rows) {
        INFO("text: " << row.text);
        CHECK(extract_sqlstate(row.text) == row.code);
    }
}

TEST_CASE("sqlstate_classifier reads SqlError, then codes in messages, then defers to default_classifier") {
    using redress::extras::SqlError;
    using redress::extras::sqlstate_classifier;
    CHECK(sqlstate_classifier(std::make_exception_ptr(SqlError("40P01"))).klass == ErrorClass::Concurrency);
    CHECK(sqlstate_classifier(std::make_exception_ptr(SqlError("28000", "bad password"))).klass == ErrorClass::Auth);
    CHECK(sqlstate_classifier(std::make_exception_ptr(SqlError("23505"))).klass == ErrorClass::Unknown);
    CHECK(sqlstate_classifier(std::make_exception_ptr(std::runtime_error("ERROR: x (SQLSTATE 08006)"))).klass ==
          ErrorClass::Transient);
    CHECK(sqlstate_classifier(std::make_exception_ptr(std::runtime_error("SQLSTATE 23505"))).klass ==
          ErrorClass::Unknown);
    CHECK(sqlstate_classifier(std::make_exception_ptr(redress::RateLimitError("SQLSTATE 23505"))).klass ==
          ErrorClass::RateLimit);
    CHECK(sqlstate_classifier(std::make_exception_ptr(3)).klass == ErrorClass::Unknown);
    CHECK(SqlError("40001").sqlstate() == "40001");
    STATIC_REQUIRE(redress::Classifier<redress::extras::SqlstateClassifier>);
}

TEST_CASE("classify_grpc maps all 17 status codes") {
    using redress::extras::GrpcCode;
    struct Row {
        GrpcCode code;
        int number;
        ErrorClass klass;
    };
    const Row rows[] = {
        {GrpcCode::Ok, 0, ErrorClass::Unknown},
        {GrpcCode::Cancelled, 1, ErrorClass::Permanent},
        {GrpcCode::Unknown, 2, ErrorClass::Unknown},
        {GrpcCode::InvalidArgument, 3, ErrorClass::Permanent},
        {GrpcCode::DeadlineExceeded, 4, ErrorClass::Transient},
        {GrpcCode::NotFound, 5, ErrorClass::Permanent},
        {GrpcCode::AlreadyExists, 6, ErrorClass::Unknown},
        {GrpcCode::PermissionDenied, 7, ErrorClass::Permission},
        {GrpcCode::ResourceExhausted, 8, ErrorClass::RateLimit},
        {GrpcCode::FailedPrecondition, 9, ErrorClass::Permanent},
        {GrpcCode::Aborted, 10, ErrorClass::Concurrency},
        {GrpcCode::OutOfRange, 11, ErrorClass::Permanent},
        {GrpcCode::Unimplemented, 12, ErrorClass::Unknown},
        {GrpcCode::Internal, 13, ErrorClass::ServerError},
        {GrpcCode::Unavailable, 14, ErrorClass::Transient},
        {GrpcCode::DataLoss, 15, ErrorClass::ServerError},
        {GrpcCode::Unauthenticated, 16, ErrorClass::Auth},
    };
    for (const auto& row : rows) {
        INFO("gRPC code " << row.number);
        CHECK(static_cast<int>(row.code) == row.number);
        CHECK(redress::extras::classify_grpc(row.number) == row.klass);
        CHECK(redress::extras::classify_grpc(row.code) == row.klass);
        CHECK(redress::extras::grpc_classifier(std::make_exception_ptr(redress::extras::GrpcError(row.code))).klass ==
              row.klass);
    }
    CHECK(redress::extras::classify_grpc(17) == ErrorClass::Unknown);
    CHECK(redress::extras::classify_grpc(-1) == ErrorClass::Unknown);
    CHECK(redress::extras::grpc_classifier(std::make_exception_ptr(redress::ServerError("x"))).klass ==
          ErrorClass::ServerError);
}

TEST_CASE("classify_curl maps every listed CURLcode, and the HTTP status for OK and HTTP_RETURNED_ERROR") {
    struct Row {
        int code;
        long status;
        ErrorClass klass;
    };
    const Row rows[] = {
        {5, 0, ErrorClass::Transient},    // COULDNT_RESOLVE_PROXY
        {6, 0, ErrorClass::Transient},    // COULDNT_RESOLVE_HOST
        {7, 0, ErrorClass::Transient},    // COULDNT_CONNECT
        {16, 0, ErrorClass::Transient},   // HTTP2
        {18, 0, ErrorClass::Transient},   // PARTIAL_FILE
        {28, 0, ErrorClass::Transient},   // OPERATION_TIMEDOUT
        {35, 0, ErrorClass::Transient},   // SSL_CONNECT_ERROR
        {52, 0, ErrorClass::Transient},   // GOT_NOTHING
        {55, 0, ErrorClass::Transient},   // SEND_ERROR
        {56, 0, ErrorClass::Transient},   // RECV_ERROR
        {81, 0, ErrorClass::Transient},   // AGAIN
        {89, 0, ErrorClass::Transient},   // NO_CONNECTION_AVAILABLE
        {92, 0, ErrorClass::Transient},   // HTTP2_STREAM
        {95, 0, ErrorClass::Transient},   // HTTP3
        {96, 0, ErrorClass::Transient},   // QUIC_CONNECT_ERROR
        {1, 0, ErrorClass::Permanent},    // UNSUPPORTED_PROTOCOL
        {3, 0, ErrorClass::Permanent},    // URL_MALFORMAT
        {4, 0, ErrorClass::Permanent},    // NOT_BUILT_IN
        {43, 0, ErrorClass::Permanent},   // BAD_FUNCTION_ARGUMENT
        {47, 0, ErrorClass::Permanent},   // TOO_MANY_REDIRECTS
        {48, 0, ErrorClass::Permanent},   // UNKNOWN_OPTION
        {58, 0, ErrorClass::Permanent},   // SSL_CERTPROBLEM
        {60, 0, ErrorClass::Permanent},   // PEER_FAILED_VERIFICATION
        {77, 0, ErrorClass::Permanent},   // SSL_CACERT_BADFILE
        {78, 0, ErrorClass::Permanent},   // REMOTE_FILE_NOT_FOUND
        {90, 0, ErrorClass::Permanent},   // SSL_PINNEDPUBKEYNOTMATCH
        {67, 0, ErrorClass::Auth},        // LOGIN_DENIED
        {94, 0, ErrorClass::Auth},        // AUTH_ERROR
        {9, 0, ErrorClass::Permission},   // REMOTE_ACCESS_DENIED
        {27, 0, ErrorClass::Unknown},     // OUT_OF_MEMORY
        {2, 0, ErrorClass::Unknown},      // FAILED_INIT
        {999, 0, ErrorClass::Unknown},
        {-1, 0, ErrorClass::Unknown},
        {0, 0, ErrorClass::Unknown},      // OK without a status
        {0, 200, ErrorClass::Unknown},
        {0, 401, ErrorClass::Auth},
        {0, 403, ErrorClass::Permission},
        {0, 404, ErrorClass::Permanent},
        {0, 409, ErrorClass::Concurrency},
        {0, 408, ErrorClass::Transient},
        {0, 429, ErrorClass::RateLimit},
        {0, 503, ErrorClass::ServerError},
        {0, 418, ErrorClass::Permanent},
        {22, 500, ErrorClass::ServerError},
        {22, 429, ErrorClass::RateLimit},
        {22, 0, ErrorClass::Unknown},
        {0, 100000L, ErrorClass::Unknown},
    };
    for (const auto& row : rows) {
        INFO("CURLcode " << row.code << " HTTP " << row.status);
        CHECK(redress::extras::classify_curl(row.code, row.status) == row.klass);
        CHECK(redress::extras::curl_classifier(
                  std::make_exception_ptr(redress::extras::CurlError(row.code, row.status)))
                  .klass == row.klass);
    }
    CHECK(redress::extras::classify_curl(28) == ErrorClass::Transient);
    CHECK(redress::extras::curl_classifier(std::make_exception_ptr(redress::PermanentError("x"))).klass ==
          ErrorClass::Permanent);
    STATIC_REQUIRE(redress::Classifier<redress::extras::CurlClassifier>);
}

namespace extras_names {
struct UpstreamTimeout : std::runtime_error {
    UpstreamTimeout() : std::runtime_error("x") {}
};
struct NotStd {};
struct WrappedGrpc : redress::extras::GrpcError {
    WrappedGrpc() : redress::extras::GrpcError(redress::extras::GrpcCode::Unavailable) {}
};
struct WrappedCurl : redress::extras::CurlError {
    WrappedCurl() : redress::extras::CurlError(67) {}
};
struct WrappedSql : redress::extras::SqlError {
    WrappedSql() : redress::extras::SqlError("40001") {}
};
}  // namespace extras_names

TEST_CASE("the extras classifiers read their own error types, derived ones too, and answer as default_classifier for the rest") {
    using redress::extras::curl_classifier;
    using redress::extras::grpc_classifier;
    using redress::extras::sqlstate_classifier;
    CHECK(grpc_classifier(std::make_exception_ptr(extras_names::WrappedGrpc{})).klass == ErrorClass::Transient);
    CHECK(curl_classifier(std::make_exception_ptr(extras_names::WrappedCurl{})).klass == ErrorClass::Auth);
    CHECK(sqlstate_classifier(std::make_exception_ptr(extras_names::WrappedSql{})).klass == ErrorClass::Concurrency);

    const std::exception_ptr others[] = {
        std::make_exception_ptr(std::runtime_error("plain")),
        std::make_exception_ptr(redress::RateLimitError("x")),
        std::make_exception_ptr(redress::StatusError(503)),
        std::make_exception_ptr(redress::StatusError(401)),
        std::make_exception_ptr(redress::AttemptTimeoutError{}),
        std::make_exception_ptr(std::system_error(std::make_error_code(std::errc::connection_reset))),
        std::make_exception_ptr(extras_names::UpstreamTimeout{}),
        std::make_exception_ptr(extras_names::NotStd{}),
        std::make_exception_ptr(42),
        std::exception_ptr{},
    };
    for (const auto& error : others) {
        INFO("error " << redress::error_type_name(error));
        const auto expected = redress::default_classifier(error);
        CHECK(grpc_classifier(error) == expected);
        CHECK(curl_classifier(error) == expected);
        CHECK(sqlstate_classifier(error) == expected);
    }
    CHECK(grpc_classifier(std::make_exception_ptr(extras_names::UpstreamTimeout{})).klass == ErrorClass::Transient);
}
