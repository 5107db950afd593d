// Classifiers (docs/classifiers.md): the rule order of default_classifier and
// strict_classifier, the status table, the errc table, the status customization point, the
// name heuristics (word starts of the class's own name), the look at a thrown object
// without rethrowing it, the concept.
#include <catch2/catch.hpp>

#include <cerrno>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <typeinfo>
#include <vector>

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

// Types for the heuristics: only the class's own name counts, never its namespace.
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

TEST_CASE("classify_status maps every status of the documented table") {
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

TEST_CASE("default_classifier applies the documented rules in order") {
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
    SECTION("5. name heuristics on the class's own name, case-insensitive") {
        CHECK(def(ptr(clsapp::AuthFailed{})) == ErrorClass::Auth);
        CHECK(def(ptr(clsapp::UnauthorizedAccess{})) == ErrorClass::Auth);
        CHECK(def(ptr(clsapp::BadCredentials{})) == ErrorClass::Auth);
        CHECK(def(ptr(clsapp::ForbiddenResource{})) == ErrorClass::Permission);
        CHECK(def(ptr(clsapp::NoPermission{})) == ErrorClass::Permission);
        CHECK(def(ptr(clsapp::ReadTimeout{})) == ErrorClass::Transient);
        CHECK(def(ptr(clsapp::ConnectionLost{})) == ErrorClass::Transient);
        CHECK(def(ptr(clsapp::TIMEOUTNotAStdException{})) == ErrorClass::Transient);
        CHECK(def(ptr(clsapp::auth::Expired{})) == ErrorClass::Unknown);  // the namespace does not count
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

// ---- name heuristics -----------------------------------------------------------------------

// Namespaces, enclosing classes, enclosing functions and template arguments never count.
namespace author_service {
struct UpstreamTimeout : std::runtime_error {
    UpstreamTimeout() : std::runtime_error("x") {}
};
struct NotStdPlain {};
}  // namespace author_service
namespace auth {
struct Error : std::runtime_error {
    Error() : std::runtime_error("x") {}
};
}  // namespace auth
namespace clsnames {
struct AuthError : std::runtime_error {
    AuthError() : std::runtime_error("x") {}
};
template <class T>
struct Wrapper : std::runtime_error {
    Wrapper() : std::runtime_error("x") {}
};
namespace tmpl {
template <class T>
struct AuthError : std::runtime_error {
    AuthError() : std::runtime_error("x") {}
};
}  // namespace tmpl
struct Outer {
    struct AuthError : std::runtime_error {
        AuthError() : std::runtime_error("x") {}
    };
};
struct AuthOuter {
    struct Inner : std::runtime_error {
        Inner() : std::runtime_error("x") {}
    };
};
template <class T>
struct TimeoutBox {
    struct Inner : std::runtime_error {
        Inner() : std::runtime_error("x") {}
    };
};
// snake_case, acronyms, needles inside other words
struct connection_reset_error : std::runtime_error {
    connection_reset_error() : std::runtime_error("x") {}
};
struct oauth_error : std::runtime_error {
    oauth_error() : std::runtime_error("x") {}
};
struct HTTPTimeoutError : std::runtime_error {
    HTTPTimeoutError() : std::runtime_error("x") {}
};
struct OAuthFailure : std::runtime_error {
    OAuthFailure() : std::runtime_error("x") {}
};
struct AuthorNotFound : std::runtime_error {
    AuthorNotFound() : std::runtime_error("x") {}
};
struct UnauthorizedError : std::runtime_error {
    UnauthorizedError() : std::runtime_error("x") {}
};
struct Timeouts : std::runtime_error {
    Timeouts() : std::runtime_error("x") {}
};
struct Disconnection : std::runtime_error {
    Disconnection() : std::runtime_error("x") {}
};
}  // namespace clsnames
namespace {
struct AnonymousReadTimeout : std::runtime_error {
    AnonymousReadTimeout() : std::runtime_error("x") {}
};
namespace auth_detail {
struct Plain : std::runtime_error {
    Plain() : std::runtime_error("x") {}
};
}  // namespace auth_detail

std::exception_ptr thrown_from_auth_function() {
    struct Plain : std::runtime_error {
        Plain() : std::runtime_error("x") {}
    };
    return std::make_exception_ptr(Plain{});
}
std::exception_ptr local_connection_drop() {
    struct LocalConnectionDrop : std::runtime_error {
        LocalConnectionDrop() : std::runtime_error("x") {}
    };
    return std::make_exception_ptr(LocalConnectionDrop{});
}
}  // namespace

TEST_CASE("name heuristics read the class's own name, not its namespace, enclosing class or template arguments") {
    // namespaces
    CHECK(def(ptr(author_service::UpstreamTimeout{})) == ErrorClass::Transient);
    CHECK(def(ptr(author_service::NotStdPlain{})) == ErrorClass::Unknown);
    CHECK(def(ptr(auth::Error{})) == ErrorClass::Unknown);
    CHECK(def(ptr(clsapp::auth::Expired{})) == ErrorClass::Unknown);
    CHECK(def(ptr(AnonymousReadTimeout{})) == ErrorClass::Transient);
    CHECK(def(ptr(auth_detail::Plain{})) == ErrorClass::Unknown);
    // templates: the arguments do not count, the template's own name does
    CHECK(def(ptr(clsnames::Wrapper<clsnames::AuthError>{})) == ErrorClass::Unknown);
    CHECK(def(ptr(clsnames::tmpl::AuthError<int>{})) == ErrorClass::Auth);
    CHECK(def(ptr(clsnames::tmpl::AuthError<clsnames::Wrapper<int>>{})) == ErrorClass::Auth);
    // nested classes: the innermost name only
    CHECK(def(ptr(clsnames::Outer::AuthError{})) == ErrorClass::Auth);
    CHECK(def(ptr(clsnames::AuthOuter::Inner{})) == ErrorClass::Unknown);
    CHECK(def(ptr(clsnames::TimeoutBox<int>::Inner{})) == ErrorClass::Unknown);
    // local classes: the enclosing function does not count
    CHECK(def(thrown_from_auth_function()) == ErrorClass::Unknown);
    CHECK(def(local_connection_drop()) == ErrorClass::Transient);
}

TEST_CASE("name heuristics match needles at word starts of CamelCase and snake_case names") {
    CHECK(def(ptr(clsnames::connection_reset_error{})) == ErrorClass::Transient);
    CHECK(def(ptr(clsnames::HTTPTimeoutError{})) == ErrorClass::Transient);
    CHECK(def(ptr(clsnames::OAuthFailure{})) == ErrorClass::Auth);  // O|Auth|Failure
    CHECK(def(ptr(clsnames::oauth_error{})) == ErrorClass::Unknown);  // "oauth" is one word
    CHECK(def(ptr(clsnames::AuthorNotFound{})) == ErrorClass::Unknown);
    CHECK(def(ptr(clsnames::UnauthorizedError{})) == ErrorClass::Auth);
    CHECK(def(ptr(clsnames::Timeouts{})) == ErrorClass::Transient);
    CHECK(def(ptr(clsnames::Disconnection{})) == ErrorClass::Unknown);
    CHECK(strict(ptr(clsnames::HTTPTimeoutError{})) == ErrorClass::Unknown);
}

TEST_CASE("word_start splits CamelCase, acronym runs, snake_case and digits") {
    using redress::detail::word_start;
    struct Row {
        std::string_view name;
        std::vector<std::size_t> starts;
    };
    const Row rows[] = {
        {"UpstreamTimeout", {0, 8}},
        {"readTimeout", {0, 4}},
        {"HTTPTimeoutError", {0, 4, 11}},
        {"OAuthFailure", {0, 1, 5}},
        {"AUTHError", {0, 4}},
        {"TIMEOUT", {0}},
        {"connection_reset_error", {0, 11, 17}},
        {"_private", {0, 1}},
        {"Http2Timeout", {0, 5}},
        {"ab2cd", {0, 3}},
        {"a", {0}},
    };
    for (const auto& row : rows) {
        INFO(row.name);
        std::vector<std::size_t> starts;
        for (std::size_t i = 0; i < row.name.size(); ++i) {
            if (word_start(row.name, i)) starts.push_back(i);
        }
        CHECK(starts == row.starts);
    }
}

TEST_CASE("classify_type_name: the documented rule, row by row") {
    using redress::detail::classify_type_name;
    const auto none = std::optional<ErrorClass>{};
    struct Row {
        std::string_view demangled;
        std::optional<ErrorClass> klass;
    };
    const Row rows[] = {
        // Auth: the whole word "auth", or auth words (authent…, authoriz…, authoris…), each
        // with an optional "un"; and credential…
        {"AuthError", ErrorClass::Auth},
        {"auth_error", ErrorClass::Auth},
        {"Auth", ErrorClass::Auth},
        {"AUTHError", ErrorClass::Auth},
        {"Auth2Failed", ErrorClass::Auth},
        {"AuthenticationFailed", ErrorClass::Auth},
        {"NotAuthorized", ErrorClass::Auth},
        {"NotAuthorised", ErrorClass::Auth},
        {"UnauthorizedError", ErrorClass::Auth},
        {"UnauthorisedError", ErrorClass::Auth},
        {"UnauthenticatedError", ErrorClass::Auth},
        {"unauth", ErrorClass::Auth},
        {"OAuthFailure", ErrorClass::Auth},
        {"BadCredentials", ErrorClass::Auth},
        {"credential_expired", ErrorClass::Auth},
        {"AuthorNotFound", none},
        {"AUTHOR", none},
        {"CertificateAuthorityError", none},
        {"AuthoredBy", none},
        {"oauth_error", none},
        {"ReauthRequired", none},
        {"Unauthor", none},
        // Permission
        {"Forbidden", ErrorClass::Permission},
        {"forbid", ErrorClass::Permission},
        {"NoPermission", ErrorClass::Permission},
        {"PermissionsMissing", ErrorClass::Permission},
        {"Unforbidden", none},
        // Transient
        {"Timeout", ErrorClass::Transient},
        {"Timeouts", ErrorClass::Transient},
        {"ReadTimeOut", ErrorClass::Transient},
        {"HTTPTimeoutError", ErrorClass::Transient},
        {"connection_reset_error", ErrorClass::Transient},
        {"SSLConnectionFailed", ErrorClass::Transient},
        {"Time_out", none},
        {"Disconnection", none},
        {"Reconnection", none},
        {"ConnectTimeout", ErrorClass::Transient},
        // the first class in the order Auth, Permission, Transient wins, wherever it stands
        {"ConnectionAuthError", ErrorClass::Auth},
        {"TimeoutForbidden", ErrorClass::Permission},
        // only the class's own name counts
        {"author_service::UpstreamTimeout", ErrorClass::Transient},
        {"auth::Error", none},
        {"(anonymous namespace)::ReadTimeout", ErrorClass::Transient},
        {"(anonymous namespace)::auth::Plain", none},
        {"clsnames::Wrapper<clsnames::AuthError>", none},
        {"clsnames::tmpl::AuthError<int>", ErrorClass::Auth},
        {"clsnames::tmpl::AuthError<std::pair<int, long> >", ErrorClass::Auth},
        {"Outer::AuthError", ErrorClass::Auth},
        {"AuthOuter::Inner", none},
        {"TimeoutBox<int>::Inner", none},
        {"auth_function()::Plain", none},
        {"run(int)::LocalConnectionDrop", ErrorClass::Transient},
        {"Timeout[abi:cxx11]", ErrorClass::Transient},
        {"AuthCheck<true>", ErrorClass::Auth},
        {"Box<&(operator<(Timeout const&, Timeout const&))>", none},
        {"AuthBox<&(operator<(Plain const&, Plain const&))>", ErrorClass::Auth},
        {"main::{lambda()#1}", none},
        {"{unnamed type#1}", none},
        {"Timeout<int", none},  // unbalanced: no name
        {"", none},
        {"int", none},
    };
    for (const auto& row : rows) {
        INFO(row.demangled);
        CHECK(classify_type_name(row.demangled) == row.klass);
    }
    STATIC_REQUIRE(classify_type_name("app::ReadTimeout") == ErrorClass::Transient);
}

TEST_CASE("unqualified_name strips scopes, template arguments and ABI tags") {
    using redress::detail::unqualified_name;
    CHECK(unqualified_name("a::b::C") == "C");
    CHECK(unqualified_name("C") == "C");
    CHECK(unqualified_name("a::Outer<int>::Inner<x::Y, z::W<int> >") == "Inner");
    CHECK(unqualified_name("(anonymous namespace)::X") == "X");
    CHECK(unqualified_name("f(int, char)::Local") == "Local");
    CHECK(unqualified_name("std::__cxx11::basic_string<char>[abi:cxx11]") == "basic_string");
    CHECK(unqualified_name("F<&(operator>(A const&, A const&))>") == "F");  // operators inside parentheses
    CHECK(unqualified_name("f()::{lambda()#1}").empty());
    CHECK(unqualified_name("X>").empty());
}

namespace {
template <class T>
void check_mangled_shortcut(std::vector<std::string>& seen) {
    const std::type_info& type = typeid(T);
    const redress::detail::DemangledName demangled(&type);
    const auto shortcut = redress::detail::plain_mangled_name(type.name());
    INFO("type " << demangled.view() << " mangled " << type.name());
    if (shortcut) {
        seen.emplace_back(*shortcut);
        CHECK(*shortcut == redress::detail::unqualified_name(demangled.view()));
    }
    CHECK(redress::detail::classify_type(type) == redress::detail::classify_type_name(demangled.view()));
}
}  // namespace

TEST_CASE("reading the mangled name directly agrees with demangling, for every shape of type") {
    std::vector<std::string> seen;
    check_mangled_shortcut<std::runtime_error>(seen);
    check_mangled_shortcut<std::system_error>(seen);
    check_mangled_shortcut<clsapp::ReadTimeout>(seen);
    check_mangled_shortcut<clsapp::TIMEOUTNotAStdException>(seen);
    check_mangled_shortcut<clsapp::auth::Expired>(seen);
    check_mangled_shortcut<author_service::UpstreamTimeout>(seen);
    check_mangled_shortcut<auth::Error>(seen);
    check_mangled_shortcut<clsnames::Wrapper<clsnames::AuthError>>(seen);
    check_mangled_shortcut<clsnames::tmpl::AuthError<int>>(seen);
    check_mangled_shortcut<clsnames::Outer::AuthError>(seen);
    check_mangled_shortcut<clsnames::AuthOuter::Inner>(seen);
    check_mangled_shortcut<clsnames::TimeoutBox<int>::Inner>(seen);
    check_mangled_shortcut<clsnames::connection_reset_error>(seen);
    check_mangled_shortcut<AnonymousReadTimeout>(seen);
    check_mangled_shortcut<auth_detail::Plain>(seen);
    check_mangled_shortcut<redress::PermanentError>(seen);
    check_mangled_shortcut<int>(seen);
    check_mangled_shortcut<const char*>(seen);
#if defined(__GLIBCXX__) || defined(_LIBCPP_VERSION)
    // the shortcut is taken for the plain shapes (Itanium mangling)
    CHECK(seen == std::vector<std::string>{"runtime_error", "system_error", "ReadTimeout", "TIMEOUTNotAStdException",
                                           "Expired", "UpstreamTimeout", "Error", "AuthError", "Inner",
                                           "connection_reset_error", "AnonymousReadTimeout", "Plain",
                                           "PermanentError"});
#endif
    // malformed mangled names are not read
    using redress::detail::plain_mangled_name;
    CHECK(plain_mangled_name("N3abc") == std::nullopt);
    CHECK(plain_mangled_name("N3abE") == std::nullopt);
    CHECK(plain_mangled_name("9Short") == std::nullopt);
    CHECK(plain_mangled_name("5ShortX") == std::nullopt);
    CHECK(plain_mangled_name("NE") == std::nullopt);
    CHECK(plain_mangled_name("N0E") == std::nullopt);
    CHECK(plain_mangled_name("99999999999999999999999x") == std::nullopt);
    CHECK(plain_mangled_name("5Short") == "Short");
}

// ---- looking at the thrown object ------------------------------------------------------------

namespace clsview {
struct HasCode {
    int code() const { return 429; }
};
struct Both : std::runtime_error, HasCode {
    Both() : std::runtime_error("both") {}
};
struct PrivateStd : private std::runtime_error {
    PrivateStd() : std::runtime_error("private") {}
};
struct A : std::runtime_error {
    A() : std::runtime_error("a") {}
};
struct B : std::runtime_error {
    B() : std::runtime_error("b") {}
};
struct Ambiguous : A, B {};
struct RawBase {
    int v = 1;
};
struct RawDerived : RawBase {};

// Records whether status() ran inside a handler, that is after a rethrow.
inline bool status_ran_in_handler = false;
struct ProbeStd : std::runtime_error {
    ProbeStd() : std::runtime_error("probe") {}
    int status() const {
        status_ran_in_handler = std::current_exception() != nullptr;
        return 503;
    }
};
struct ProbeRaw {
    int status() const {
        status_ran_in_handler = std::current_exception() != nullptr;
        return 429;
    }
};
}  // namespace clsview

TEST_CASE("with_thrown sees what a catch clause would, including cross-casts and inaccessible bases") {
    using redress::detail::ThrownView;
    using redress::detail::with_thrown;
    const auto look = [](const std::exception_ptr& e, auto f) { return with_thrown(e, f); };

    CHECK(look(ptr(std::runtime_error("x")), [](const ThrownView& t) {
        return t.as_std() != nullptr && *t.type() == typeid(std::runtime_error) &&
               t.as<std::runtime_error>() == t.as_std() && t.as<std::logic_error>() == nullptr;
    }));
    CHECK(look(ptr(clsview::Both{}), [](const ThrownView& t) {
        const auto* both = t.as<clsview::Both>();
        return both != nullptr && t.as<clsview::HasCode>() == static_cast<const clsview::HasCode*>(both) &&
               t.as_std() == static_cast<const std::exception*>(both);
    }));
    CHECK(look(ptr(clsview::PrivateStd{}), [](const ThrownView& t) {
        return t.as_std() == nullptr && t.as<std::runtime_error>() == nullptr && t.as<clsview::PrivateStd>() != nullptr;
    }));
    CHECK(look(ptr(clsview::Ambiguous{}), [](const ThrownView& t) {
        return t.as_std() == nullptr && t.as<clsview::A>() != nullptr && t.as<clsview::B>() != nullptr &&
               *t.type() == typeid(clsview::Ambiguous);
    }));
    CHECK(look(ptr(clsview::RawDerived{}), [](const ThrownView& t) {
        const auto* base = t.as<clsview::RawBase>();
        return t.as_std() == nullptr && base != nullptr && base->v == 1 && t.as<clsview::HasCode>() == nullptr;
    }));
    CHECK(look(ptr(42), [](const ThrownView& t) {
        const int* i = t.as<int>();
        return i != nullptr && *i == 42 && t.as<long>() == nullptr && t.as_std() == nullptr && *t.type() == typeid(int);
    }));
    CHECK(look(std::exception_ptr{}, [](const ThrownView& t) {
        return t.as_std() == nullptr && t.type() == nullptr && t.as<int>() == nullptr;
    }));
    // an exception_ptr taken inside a handler holds the same object
    std::exception_ptr caught;
    try {
        throw clsview::Both{};
    } catch (...) {
        caught = std::current_exception();
    }
    CHECK(look(caught, [](const ThrownView& t) { return t.as<clsview::HasCode>() != nullptr; }));
    CHECK(redress::detail::exception_type(caught) == &typeid(clsview::Both));
}

TEST_CASE("registered status types are read through cross-casts and from derived non-std types") {
    redress::register_status_type<clsview::HasCode>();
    redress::register_status_type<clsview::ProbeStd>();
    redress::register_status_type<clsview::ProbeRaw>();
    CHECK(def(ptr(clsview::Both{})) == ErrorClass::RateLimit);
    CHECK(redress::exception_status(ptr(clsview::Both{})) == 429);

    clsview::status_ran_in_handler = true;
    CHECK(def(ptr(clsview::ProbeStd{})) == ErrorClass::ServerError);
#if REDRESS_INSPECTS_EXCEPTION_PTR
    CHECK_FALSE(clsview::status_ran_in_handler);  // no rethrow: the object was read in place
#endif
    clsview::status_ran_in_handler = true;
    CHECK(def(ptr(clsview::ProbeRaw{})) == ErrorClass::RateLimit);
#if REDRESS_INSPECTS_EXCEPTION_PTR
    CHECK_FALSE(clsview::status_ran_in_handler);
#else
    CHECK(clsview::status_ran_in_handler);
#endif
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
