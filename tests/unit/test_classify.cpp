// Classifiers (SPEC §9): the rule order of default_classifier and strict_classifier, the
// status table, the errc table, the status customization point, the concept.
#include <catch2/catch.hpp>

#include <cerrno>
#include <exception>
#include <optional>
#include <stdexcept>
#include <system_error>

#include <redress/classify.hpp>

using redress::Classification;
using redress::ErrorClass;

namespace {

template <class E>
std::exception_ptr ptr(E e) {
    return std::make_exception_ptr(std::move(e));
}

ErrorClass def(const std::exception_ptr& e) { return redress::default_classifier(e).klass; }
ErrorClass strict(const std::exception_ptr& e) { return redress::strict_classifier(e).klass; }

std::system_error sys(std::errc code) { return std::system_error(std::make_error_code(code)); }

}  // namespace

// Types for the heuristics; namespaces count (the whole demangled name is searched).
namespace clsapp {
struct AuthFailed : std::runtime_error {
    AuthFailed() : std::runtime_error("x") {}
};
struct UnauthorizedAccess : std::runtime_error {
    UnauthorizedAccess() : std::runtime_error("x") {}
};
struct BadCredentials : std::runtime_error {
    BadCredentials() : std::runtime_error("x") {}
};
struct ForbiddenResource : std::runtime_error {
    ForbiddenResource() : std::runtime_error("x") {}
};
struct NoPermission : std::runtime_error {
    NoPermission() : std::runtime_error("x") {}
};
struct ReadTimeout : std::runtime_error {
    ReadTimeout() : std::runtime_error("x") {}
};
struct ConnectionLost : std::runtime_error {
    ConnectionLost() : std::runtime_error("x") {}
};
struct Boring : std::runtime_error {
    Boring() : std::runtime_error("x") {}
};
struct TIMEOUTNotAStdException {};
namespace auth {
struct Expired : std::runtime_error {
    Expired() : std::runtime_error("x") {}
};
}  // namespace auth

// A status via a member, registered.
struct ApiError : std::runtime_error {
    explicit ApiError(int s) : std::runtime_error("api"), s_(s) {}
    int status() const noexcept { return s_; }
    int s_;
};
// A status via code(), not derived from std::exception, registered.
struct RawCode {
    long code() const { return c; }
    long c;
};
// A status via ADL status_of returning optional, registered.
struct Opaque : std::runtime_error {
    explicit Opaque(std::optional<int> s) : std::runtime_error("o"), s_(s) {}
    std::optional<int> s_;
};
std::optional<int> status_of(const Opaque& o) { return o.s_; }
// Never registered: its status is invisible.
struct Unregistered : std::runtime_error {
    Unregistered() : std::runtime_error("u") {}
    int status() const { return 503; }
};
}  // namespace clsapp

TEST_CASE("classify_status maps every status of the SPEC table") {
    struct Row {
        int status;
        std::optional<ErrorClass> klass;
    };
    const Row rows[] = {
        {401, ErrorClass::Auth},        {403, ErrorClass::Permission},  {400, ErrorClass::Permanent},
        {404, ErrorClass::Permanent},   {422, ErrorClass::Permanent},   {409, ErrorClass::Concurrency},
        {408, ErrorClass::Transient},   {429, ErrorClass::RateLimit},   {500, ErrorClass::ServerError},
        {502, ErrorClass::ServerError}, {503, ErrorClass::ServerError}, {599, ErrorClass::ServerError},
        {200, std::nullopt},            {302, std::nullopt},            {410, std::nullopt},
        {499, std::nullopt},            {600, std::nullopt},            {-1, std::nullopt},
    };
    for (const auto& row : rows) {
        INFO("status " << row.status);
        CHECK(redress::classify_status(row.status) == row.klass);
        // the same row through an exception: unmapped statuses fall through to Unknown
        CHECK(def(ptr(redress::StatusError(row.status))) == row.klass.value_or(ErrorClass::Unknown));
    }
}

TEST_CASE("classify_errc maps the timeout and network codes to Transient and nothing else") {
    const std::errc transient[] = {
        std::errc::timed_out,          std::errc::connection_refused, std::errc::connection_reset,
        std::errc::connection_aborted, std::errc::network_unreachable, std::errc::host_unreachable,
        std::errc::network_down,       std::errc::network_reset,       std::errc::not_connected,
        std::errc::resource_unavailable_try_again, std::errc::broken_pipe,
    };
    for (const auto code : transient) {
        INFO("errc " << static_cast<int>(code));
        CHECK(redress::classify_errc(code) == ErrorClass::Transient);
        CHECK(redress::classify_errno(static_cast<int>(code)) == ErrorClass::Transient);
        CHECK(def(ptr(sys(code))) == ErrorClass::Transient);
        CHECK(strict(ptr(sys(code))) == ErrorClass::Transient);
    }
    CHECK(redress::classify_errno(ETIMEDOUT) == ErrorClass::Transient);
    CHECK(redress::classify_errno(ECONNRESET) == ErrorClass::Transient);
    CHECK(redress::classify_errno(EPIPE) == ErrorClass::Transient);
    CHECK(redress::classify_errc(std::errc::permission_denied) == std::nullopt);
    CHECK(redress::classify_errc(std::errc::no_such_file_or_directory) == std::nullopt);
    CHECK(redress::classify_errno(0) == std::nullopt);
    CHECK(def(ptr(sys(std::errc::invalid_argument))) == ErrorClass::Unknown);
    // system_category codes carry raw errno values
    CHECK(def(ptr(std::system_error(ECONNREFUSED, std::system_category()))) == ErrorClass::Transient);
    CHECK(def(ptr(std::system_error(ETIMEDOUT, std::system_category()))) == ErrorClass::Transient);
}

TEST_CASE("default_classifier applies the SPEC rules in order") {
    SECTION("1. timeouts") {
        CHECK(def(ptr(redress::AttemptTimeoutError{})) == ErrorClass::Transient);
        CHECK(def(ptr(sys(std::errc::timed_out))) == ErrorClass::Transient);
    }
    SECTION("2. markers") {
        CHECK(def(ptr(redress::PermanentError("x"))) == ErrorClass::Permanent);
        CHECK(def(ptr(redress::RateLimitError("x"))) == ErrorClass::RateLimit);
        CHECK(def(ptr(redress::ConcurrencyError("x"))) == ErrorClass::Concurrency);
        CHECK(def(ptr(redress::ServerError("x"))) == ErrorClass::ServerError);
    }
    SECTION("3. a status wins over the name") {
        struct AuthStatus : redress::StatusError {
            AuthStatus() : redress::StatusError(429) {}
        };
        CHECK(def(ptr(AuthStatus{})) == ErrorClass::RateLimit);
    }
    SECTION("5. name heuristics on the demangled type name, case-insensitive") {
        CHECK(def(ptr(clsapp::AuthFailed{})) == ErrorClass::Auth);
        CHECK(def(ptr(clsapp::UnauthorizedAccess{})) == ErrorClass::Auth);
        CHECK(def(ptr(clsapp::BadCredentials{})) == ErrorClass::Auth);
        CHECK(def(ptr(clsapp::ForbiddenResource{})) == ErrorClass::Permission);
        CHECK(def(ptr(clsapp::NoPermission{})) == ErrorClass::Permission);
        CHECK(def(ptr(clsapp::ReadTimeout{})) == ErrorClass::Transient);
        CHECK(def(ptr(clsapp::ConnectionLost{})) == ErrorClass::Transient);
        CHECK(def(ptr(clsapp::auth::Expired{})) == ErrorClass::Auth);
        CHECK(def(ptr(clsapp::TIMEOUTNotAStdException{})) == ErrorClass::Transient);
    }
    SECTION("6. anything else is Unknown") {
        CHECK(def(ptr(clsapp::Boring{})) == ErrorClass::Unknown);
        CHECK(def(ptr(std::runtime_error("timeout"))) == ErrorClass::Unknown);  // messages are not read
        CHECK(def(ptr(42)) == ErrorClass::Unknown);
        CHECK(def(std::exception_ptr{}) == ErrorClass::Unknown);
    }
}

TEST_CASE("strict_classifier skips the name heuristics and nothing else") {
    CHECK(strict(ptr(clsapp::AuthFailed{})) == ErrorClass::Unknown);
    CHECK(strict(ptr(clsapp::ReadTimeout{})) == ErrorClass::Unknown);
    CHECK(strict(ptr(clsapp::TIMEOUTNotAStdException{})) == ErrorClass::Unknown);
    CHECK(strict(ptr(redress::AttemptTimeoutError{})) == ErrorClass::Transient);
    CHECK(strict(ptr(redress::RateLimitError("x"))) == ErrorClass::RateLimit);
    CHECK(strict(ptr(redress::StatusError(401))) == ErrorClass::Auth);
}

TEST_CASE("register_status_type teaches the classifiers to read status(), code() and status_of") {
    CHECK(def(ptr(clsapp::ApiError(503))) == ErrorClass::Unknown);  // before registration
    redress::register_status_type<clsapp::ApiError>();
    redress::register_status_type<clsapp::ApiError>();  // idempotent
    redress::register_status_type<clsapp::RawCode>();
    redress::register_status_type<clsapp::Opaque>();

    CHECK(def(ptr(clsapp::ApiError(503))) == ErrorClass::ServerError);
    CHECK(strict(ptr(clsapp::ApiError(403))) == ErrorClass::Permission);
    CHECK(def(ptr(clsapp::RawCode{429})) == ErrorClass::RateLimit);
    CHECK(def(ptr(clsapp::Opaque(409))) == ErrorClass::Concurrency);
    CHECK(def(ptr(clsapp::Opaque(std::nullopt))) == ErrorClass::Unknown);
    CHECK(def(ptr(clsapp::Unregistered{})) == ErrorClass::Unknown);
    CHECK(redress::exception_status(ptr(clsapp::ApiError(418))) == 418);
    CHECK(redress::exception_status(ptr(clsapp::Unregistered{})) == std::nullopt);
    CHECK(redress::exception_status(std::exception_ptr{}) == std::nullopt);
    // a registered type whose status is unmapped falls through to the later rules
    CHECK(def(ptr(clsapp::ApiError(200))) == ErrorClass::Unknown);
}

TEST_CASE("error_type_name gives the demangled dynamic type") {
    CHECK(redress::error_type_name(ptr(clsapp::ConnectionLost{})) == "clsapp::ConnectionLost");
    const std::exception_ptr as_base = ptr<redress::PermanentError>(redress::PermanentError("x"));
    CHECK(redress::error_type_name(as_base) == "redress::PermanentError");
    CHECK(redress::error_type_name(ptr(1)) == "int");
    CHECK(redress::error_type_name({}).empty());
}

namespace {
struct ReturnsClass {
    ErrorClass operator()(const std::exception_ptr&) const { return ErrorClass::RateLimit; }
};
struct ReturnsClassification {
    Classification operator()(const std::exception_ptr&) const { return {ErrorClass::Transient, std::chrono::seconds(3)}; }
};
struct ReturnsInt {
    int operator()(const std::exception_ptr&) const { return 0; }
};
struct TakesException {
    ErrorClass operator()(const std::exception&) const { return ErrorClass::Unknown; }
};
}  // namespace

TEST_CASE("the Classifier concept accepts ErrorClass and Classification results only") {
    STATIC_REQUIRE(redress::Classifier<redress::DefaultClassifier>);
    STATIC_REQUIRE(redress::Classifier<redress::StrictClassifier>);
    STATIC_REQUIRE(redress::Classifier<ReturnsClass>);
    STATIC_REQUIRE(redress::Classifier<ReturnsClassification>);
    STATIC_REQUIRE_FALSE(redress::Classifier<ReturnsInt>);
    STATIC_REQUIRE_FALSE(redress::Classifier<TakesException>);
    STATIC_REQUIRE(redress::classifier_check<ReturnsClass>);

    const auto e = ptr(std::runtime_error("x"));
    CHECK(redress::invoke_classifier(ReturnsClass{}, e) == Classification{ErrorClass::RateLimit});
    CHECK(redress::invoke_classifier(ReturnsClassification{}, e).retry_after == std::chrono::seconds(3));
    const auto lambda = [](const std::exception_ptr&) { return ErrorClass::Auth; };
    CHECK(redress::invoke_classifier(lambda, e).klass == ErrorClass::Auth);
}
