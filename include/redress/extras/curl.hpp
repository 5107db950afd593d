// libcurl classification on CURLcode numbers plus the HTTP status of the response.
// Standard library only: libcurl is not included (pass the CURLcode as an int).
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

#include <redress/classification.hpp>
#include <redress/classify.hpp>
#include <redress/error_class.hpp>

namespace redress::extras {

/// CURLcode + HTTP status → class. With CURLE_OK (0) or CURLE_HTTP_RETURNED_ERROR (22) the
/// HTTP status decides: `redress::classify_status`, other 4xx `Permanent`, anything else
/// (including 0 and 2xx) `Unknown`. Otherwise by code:
/// * `Transient`: 5 COULDNT_RESOLVE_PROXY, 6 COULDNT_RESOLVE_HOST, 7 COULDNT_CONNECT,
///   16 HTTP2, 18 PARTIAL_FILE, 28 OPERATION_TIMEDOUT, 35 SSL_CONNECT_ERROR, 52 GOT_NOTHING,
///   55 SEND_ERROR, 56 RECV_ERROR, 81 AGAIN, 89 NO_CONNECTION_AVAILABLE, 92 HTTP2_STREAM,
///   95 HTTP3, 96 QUIC_CONNECT_ERROR;
/// * `Permanent`: 1 UNSUPPORTED_PROTOCOL, 3 URL_MALFORMAT, 4 NOT_BUILT_IN,
///   43 BAD_FUNCTION_ARGUMENT, 47 TOO_MANY_REDIRECTS, 48 UNKNOWN_OPTION,
///   58 SSL_CERTPROBLEM, 60 PEER_FAILED_VERIFICATION, 77 SSL_CACERT_BADFILE,
///   78 REMOTE_FILE_NOT_FOUND, 90 SSL_PINNEDPUBKEYNOTMATCH;
/// * `Auth`: 67 LOGIN_DENIED, 94 AUTH_ERROR; `Permission`: 9 REMOTE_ACCESS_DENIED;
/// * anything else `Unknown`.
[[nodiscard]] constexpr ErrorClass classify_curl(int curl_code, long http_status = 0) noexcept {
    switch (curl_code) {
        case 0:
        case 22: {
            if (http_status < 100 || http_status > 999) return ErrorClass::Unknown;
            const int status = static_cast<int>(http_status);
            if (auto klass = classify_status(status)) return *klass;
            if (status >= 400 && status <= 499) return ErrorClass::Permanent;
            return ErrorClass::Unknown;
        }
        case 5:
        case 6:
        case 7:
        case 16:
        case 18:
        case 28:
        case 35:
        case 52:
        case 55:
        case 56:
        case 81:
        case 89:
        case 92:
        case 95:
        case 96: return ErrorClass::Transient;
        case 1:
        case 3:
        case 4:
        case 43:
        case 47:
        case 48:
        case 58:
        case 60:
        case 77:
        case 78:
        case 90: return ErrorClass::Permanent;
        case 67:
        case 94: return ErrorClass::Auth;
        case 9: return ErrorClass::Permission;
        default: return ErrorClass::Unknown;
    }
}

/// A failed transfer: the CURLcode number and the HTTP status (0 when none was received).
class CurlError : public std::runtime_error {
public:
    /// `curl_code` is the CURLcode; `http_status` the response status, 0 when none; `message`
    /// the `what()` text (by default both numbers, e.g. `curl error 22, HTTP 503`).
    explicit CurlError(int curl_code, long http_status = 0, const std::string& message = {})
        : std::runtime_error(message.empty() ? "curl error " + std::to_string(curl_code) +
                                                   (http_status != 0 ? ", HTTP " + std::to_string(http_status) : "")
                                             : message),
          curl_code_(curl_code),
          http_status_(http_status) {}

    /// The CURLcode number (0 is `CURLE_OK`).
    [[nodiscard]] int curl_code() const noexcept { return curl_code_; }
    /// The HTTP status received, or 0 when none was.
    [[nodiscard]] long http_status() const noexcept { return http_status_; }

private:
    int curl_code_;
    long http_status_;
};

/// `CurlError` → `classify_curl(curl_code(), http_status())`; everything else as
/// `redress::default_classifier`. Stateless; thread-safe; never throws. Looks at the
/// exception once, as `default_classifier` does (no rethrow under libstdc++).
struct CurlClassifier {
    /// The classification of the exception `error` holds (`Unknown` for an empty pointer).
    [[nodiscard]] Classification operator()(const std::exception_ptr& error) const {
        if (!error) return Classification{};
        return redress::detail::with_thrown(error, [](const redress::detail::ThrownView& thrown) {
            if (const auto* e = thrown.as<CurlError>()) return Classification{classify_curl(e->curl_code(), e->http_status())};
            return Classification{redress::detail::classify_thrown(thrown, true)};
        });
    }
};

/// `.classifier = redress::extras::curl_classifier`
inline constexpr CurlClassifier curl_classifier{};

}  // namespace redress::extras
