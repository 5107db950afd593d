// libcurl integration: one HTTP request run under a policy, a fresh transfer per attempt
// (see docs/integrations.md, "HTTP with libcurl").
//
//   namespace http = redress::contrib::curl;
//   redress::RetryPolicy policy{redress::Retry{
//       .classifier = http::classifier,
//       .strategy = redress::retry_after_or(redress::full_jitter({.max = 5s})),
//       .attempt_timeout = 2s}};
//   http::Response r = http::perform(policy, {.url = "https://example.com/items/42"});
//
// A failure (a CURLcode other than CURLE_OK, or a 4xx/5xx status) is thrown as
// `http::RequestError`, which `http::classifier` classifies by the CURLcode and the status
// together (`redress::extras::classify_curl`), with the response's Retry-After as the hint.
// POST, PATCH and other non-idempotent requests are not repeated once they may have reached
// the server, unless the request is marked idempotent or carries an idempotency key.
//
// Link `redress::curl`, which brings libcurl (7.74 or later). Call
// `curl_global_init(CURL_GLOBAL_DEFAULT)` once at start-up, before starting threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <curl/curl.h>

#include <redress/classification.hpp>
#include <redress/classify.hpp>
#include <redress/clock.hpp>
#include <redress/errors.hpp>
#include <redress/extras/curl.hpp>
#include <redress/extras/http.hpp>
#include <redress/policy.hpp>

namespace redress::contrib::curl {

/// @cond
namespace detail {
/// Header field names compare ASCII case-insensitively.
[[nodiscard]] constexpr bool same_name(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (redress::detail::ascii_lower(a[i]) != redress::detail::ascii_lower(b[i])) return false;
    return true;
}
}  // namespace detail
/// @endcond

/// One HTTP header field.
struct Header {
    std::string name;   ///< the field name, e.g. `Retry-After`
    std::string value;  ///< the value, without surrounding whitespace
};

/// What to send. An aggregate: `{.method = "POST", .url = "...", .headers = {{"Idempotency-Key",
/// "order-17"}}, .body = "{...}"}`. Validated by `perform` (`redress::InvalidOption`).
struct Request {
    /// The method, as sent (methods are case-sensitive: `GET`, not `get`). Default `GET`.
    std::string method = "GET";
    /// The absolute URL; must not be empty.
    std::string url{};
    /// Header fields sent on every attempt, unchanged. No CR or LF in names or values.
    std::vector<Header> headers{};
    /// The body; sent for POST, PUT and PATCH (even when empty: `Content-Length: 0`) and for
    /// any method when not empty. libcurl labels a body without a `Content-Type` header
    /// `application/x-www-form-urlencoded`: set the header.
    std::string body{};
    /// Whether sending the request twice is as good as sending it once. Empty: by the method
    /// (RFC 9110 §9.2.2: GET, HEAD, OPTIONS, TRACE, PUT and DELETE are, anything else is
    /// not), or by an idempotency key header (`Options::idempotency_header`) being present.
    std::optional<bool> idempotent{};
};

/// What came back: the final response's status, header fields and body. Value type.
struct Response {
    /// The HTTP status; 0 when none was received.
    long status = 0;
    /// The final response's header fields in order (those of interim `1xx` responses and of
    /// followed redirects are dropped).
    std::vector<Header> headers{};
    /// The body, as received.
    std::string body{};

    /// The value of the first header field named `name` (ASCII case-insensitive), if any.
    /// The view refers into this response.
    [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const noexcept {
        for (const auto& h : headers)
            if (detail::same_name(h.name, name)) return std::string_view(h.value);
        return std::nullopt;
    }
};

/// How `perform` runs the transfers. Validated by `perform` (`redress::InvalidOption`).
struct Options {
    /// The header field whose presence makes a request idempotent (when `Request::idempotent`
    /// is empty); empty: none does. Default `Idempotency-Key`.
    std::string idempotency_header = "Idempotency-Key";
    /// When true, a request that is not idempotent and has no `idempotency_header` field gets
    /// one, valued with the operation's `redress::Attempt::idempotency_key` (a random UUID, the
    /// same on every attempt of this `perform`), and is then retried like an idempotent one:
    /// for servers that apply each key once (Stripe, Adyen, the IETF `Idempotency-Key`
    /// header draft). Needs a non-empty `idempotency_header`. Default false.
    bool generate_idempotency_key = false;
    /// `CURLOPT_CONNECTTIMEOUT_MS`; must be > 0 when set. Default none (libcurl's 300 s, and
    /// never more than the transfer's own timeout).
    std::optional<Duration> connect_timeout{};
    /// Called with each attempt's fresh easy handle before `perform` sets its own options
    /// (URL, method, headers, body, the callbacks, `CURLOPT_TIMEOUT_MS`), which win: for TLS,
    /// proxies, redirects, HTTP versions. Runs on the calling thread.
    std::function<void(CURL*)> configure{};
    /// The wall clock a Retry-After HTTP-date is read against; empty:
    /// `std::chrono::system_clock::now`.
    std::function<std::chrono::system_clock::time_point()> wall_clock{};
};

/// One failed attempt of a request: a transfer that ended with a CURLcode other than
/// `CURLE_OK`, or a response whose status is a failure (`redress::extras::classify_http_status`:
/// 408, 409, 429, every other 4xx and 5xx; reported with `curl_code()`
/// `CURLE_HTTP_RETURNED_ERROR`, 22). Carries that attempt's response and the server's
/// Retry-After. Copies share the response (a reference count), so copying never throws.
class RequestError : public extras::CurlError {
public:
    /// `retry_after` is the response's Retry-After as a wait; `may_retry` false marks a
    /// request that must not be sent again (see `may_retry()`).
    RequestError(int curl_code, Response response, bool may_retry, std::optional<Duration> retry_after,
                 const std::string& message)
        : extras::CurlError(curl_code, response.status, message),
          response_(std::make_shared<const Response>(std::move(response))),
          retry_after_(retry_after),
          may_retry_(may_retry) {}

    /// The failed attempt's response: its status (0 when none arrived), header fields and
    /// what arrived of its body. Never an earlier or later attempt's.
    [[nodiscard]] const Response& response() const noexcept { return *response_; }
    /// The server's Retry-After (delta-seconds or HTTP-date, RFC 9110 §10.2.3) as a wait, when
    /// the response had a valid one.
    [[nodiscard]] std::optional<Duration> retry_after() const noexcept { return retry_after_; }
    /// False when the request is not idempotent and may have reached the server: `classifier`
    /// then answers `Permanent`, so the policy does not send it again. A request that never
    /// reached the server (the name did not resolve, the connection was never made:
    /// CURLcode 5, 6, 7) may always be retried.
    [[nodiscard]] bool may_retry() const noexcept { return may_retry_; }

private:
    std::shared_ptr<const Response> response_;
    std::optional<Duration> retry_after_;
    bool may_retry_;
};

/// @cond
namespace detail {

/// Set while `perform` runs a request that must not be repeated on this thread. The policy
/// turns an answer later than `attempt_timeout` into its own `AttemptTimeoutError`, which
/// carries nothing of the request; the classifier reads this to keep such a request from
/// being sent again. A sync call classifies on the thread that ran the attempt.
inline thread_local bool running_unrepeatable = false;

class UnrepeatableScope {
public:
    explicit UnrepeatableScope(bool unrepeatable) noexcept : saved_(running_unrepeatable) {
        running_unrepeatable = unrepeatable;
    }
    UnrepeatableScope(const UnrepeatableScope&) = delete;
    UnrepeatableScope& operator=(const UnrepeatableScope&) = delete;
    ~UnrepeatableScope() { running_unrepeatable = saved_; }

private:
    bool saved_;
};

/// What a classifier of this header says about a thrown object, or none when it is not one
/// of the integration's errors.
[[nodiscard]] inline std::optional<Classification> classify_request_error(const redress::detail::ThrownView& thrown) {
    if (const auto* e = thrown.as<RequestError>()) {
        if (!e->may_retry())
            return Classification{ErrorClass::Permanent, std::nullopt,
                                  "not retried: the request is not idempotent and may have reached the server"};
        return Classification{extras::classify_curl(e->curl_code(), e->http_status()), e->retry_after()};
    }
    if (running_unrepeatable && thrown.as<AttemptTimeoutError>() != nullptr)
        return Classification{ErrorClass::Permanent, std::nullopt,
                              "not retried: the request is not idempotent and its attempt timed out"};
    if (const auto* e = thrown.as<extras::CurlError>())
        return Classification{extras::classify_curl(e->curl_code(), e->http_status())};
    return std::nullopt;
}

}  // namespace detail
/// @endcond

/// The classifier of a policy that runs `perform`: a `RequestError` → `Permanent` when it
/// must not be retried (`may_retry()` false), else `redress::extras::classify_curl` on its
/// CURLcode and status with its Retry-After as `retry_after`; any other `CurlError` →
/// `classify_curl`; everything else → `fallback` (default `redress::default_classifier`).
/// Thread-safe when `fallback` is; looks at the exception once.
template <class Fallback = DefaultClassifier>
struct Classifier {
    /// Classifies what is not a curl error.
    Fallback fallback{};

    /// The classification of the exception `error` holds (`Unknown` for an empty pointer).
    [[nodiscard]] Classification operator()(const std::exception_ptr& error) const {
        if (!error) return Classification{};
        std::optional<Classification> own = redress::detail::with_thrown(error, detail::classify_request_error);
        if (own) return std::move(*own);
        return invoke_classifier(fallback, error);
    }
};

/// `.classifier = redress::contrib::curl::classifier`. With a classifier of your own for
/// the other failures: `.classifier = curl::Classifier<MyClassifier>{.fallback = {...}}`.
inline constexpr Classifier<> classifier{};

/// @cond
namespace detail {

template <class C>
struct IsRequestClassifier : std::false_type {};
template <class F>
struct IsRequestClassifier<Classifier<F>> : std::true_type {};

[[nodiscard]] inline bool is_token_char(char c) noexcept {
    if (redress::detail::is_ascii_upper(c) || redress::detail::is_ascii_lower(c) || redress::detail::is_ascii_digit(c))
        return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

/// An RFC 9110 token: a method or a header field name.
[[nodiscard]] inline bool is_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (const char c : s)
        if (!is_token_char(c)) return false;
    return true;
}

[[nodiscard]] inline bool has_line_break(std::string_view s) noexcept {
    return s.find_first_of("\r\n", 0) != std::string_view::npos || s.find('\0') != std::string_view::npos;
}

inline void validate(const Request& r, const Options& o) {
    if (r.url.empty()) throw InvalidOption("curl::Request", "url", "must not be empty");
    if (!is_token(r.method)) throw InvalidOption("curl::Request", "method", "must be an HTTP method (a token)");
    for (const auto& h : r.headers) {
        if (!is_token(h.name)) throw InvalidOption("curl::Request", "headers", "has a name that is not a token");
        if (has_line_break(h.value)) throw InvalidOption("curl::Request", "headers", "has a value with CR, LF or NUL");
    }
    if (!o.idempotency_header.empty() && !is_token(o.idempotency_header))
        throw InvalidOption("curl::Options", "idempotency_header", "must be a header name, or empty");
    if (o.connect_timeout && *o.connect_timeout <= Duration::zero())
        throw InvalidOption("curl::Options", "connect_timeout", "must be > 0");
    if (o.generate_idempotency_key && o.idempotency_header.empty())
        throw InvalidOption("curl::Options", "generate_idempotency_key", "needs a non-empty idempotency_header");
}

[[nodiscard]] inline bool idempotent_method(std::string_view m) noexcept {
    return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" || m == "DELETE";
}

[[nodiscard]] inline bool is_idempotent(const Request& r, const Options& o) noexcept {
    if (r.idempotent) return *r.idempotent;
    if (idempotent_method(r.method)) return true;
    if (o.idempotency_header.empty()) return false;
    for (const auto& h : r.headers)
        if (same_name(h.name, o.idempotency_header)) return true;
    return false;
}

/// CURLcodes that mean the request never left: the name did not resolve, or the connection
/// was never made.
[[nodiscard]] constexpr bool never_sent(CURLcode code) noexcept {
    return code == CURLE_COULDNT_RESOLVE_PROXY || code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_CONNECT;
}

struct EasyDeleter {
    void operator()(CURL* h) const noexcept { curl_easy_cleanup(h); }
};
struct SlistDeleter {
    void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};

/// The receiving side of one attempt: a fresh response, filled by libcurl's callbacks.
struct Receiver {
    Response response{};
    bool ended = false;  ///< the blank line that ends a header block was seen

    static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* self) {
        auto& r = *static_cast<Receiver*>(self);
        try {
            r.response.body.append(data, size * count);
        } catch (...) {
            return 0;  // libcurl reports CURLE_WRITE_ERROR
        }
        return size * count;
    }

    static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* self) {
        auto& r = *static_cast<Receiver*>(self);
        std::string_view line(data, size * count);
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
        try {
            if (line.substr(0, 5) == "HTTP/") {  // a new response (after 1xx or a redirect)
                r.response.headers.clear();
                r.ended = false;
            } else if (line.empty()) {
                r.ended = true;
            } else if ((line.front() == ' ' || line.front() == '\t') && !r.response.headers.empty()) {
                auto& value = r.response.headers.back().value;  // obsolete line folding
                value += ' ';
                value += extras::detail_http::trim_ows(line);
            } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
                r.response.headers.push_back(Header{std::string(extras::detail_http::trim_ows(line.substr(0, colon))),
                                                    std::string(extras::detail_http::trim_ows(line.substr(colon + 1)))});
            }
        } catch (...) {
            return 0;
        }
        return size * count;
    }

    /// libcurl's progress callback: a stop request ends the transfer (`CURLE_ABORTED_BY_CALLBACK`).
    static int on_progress(void* token, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
        return static_cast<const std::stop_token*>(token)->stop_requested() ? 1 : 0;
    }
};

/// The request as every attempt sends it: validated once, its header list built once.
struct Prepared {
    const Request& request;
    const Options& options;
    std::unique_ptr<curl_slist, SlistDeleter> headers{};
    bool idempotent = false;
};

[[nodiscard]] inline long whole_ms(Duration d) noexcept {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    return ms < 1 ? 1L : static_cast<long>(ms);
}

/// One attempt: a fresh easy handle and fresh buffers, so nothing of an earlier attempt
/// reaches this one. Returns the response of a success; throws `RequestError` otherwise.
[[nodiscard]] inline Response transfer(const Prepared& p, Duration limit, const std::stop_token& stop) {
    const Request& rq = p.request;
    std::unique_ptr<CURL, EasyDeleter> handle(curl_easy_init());
    if (!handle) throw extras::CurlError(CURLE_FAILED_INIT, 0, rq.method + ": curl_easy_init failed");
    CURL* h = handle.get();
    if (p.options.configure) p.options.configure(h);

    Receiver rx;
    char error_text[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(h, CURLOPT_URL, rq.url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, p.headers.get());
    if (rq.method == "HEAD") {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        const bool sends_body = !rq.body.empty() || rq.method == "POST" || rq.method == "PUT" || rq.method == "PATCH";
        if (sends_body) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(rq.body.size()));
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq.body.data());
        } else {
            curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        }
        // A body makes libcurl send POST, none GET: name any other method.
        if (rq.method != (sends_body ? "POST" : "GET")) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq.method.c_str());
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &Receiver::on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &rx);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &Receiver::on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &rx);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_text);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, whole_ms(limit));
    if (p.options.connect_timeout) curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, whole_ms(*p.options.connect_timeout));
    if (stop.stop_possible()) {
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &Receiver::on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, &stop);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    }

    const CURLcode code = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    rx.response.status = status;
    if (code == CURLE_OK && !extras::classify_http_status(static_cast<int>(status))) return std::move(rx.response);

    const bool may_retry = p.idempotent || never_sent(code);
    std::optional<Duration> retry_after;
    if (const auto value = rx.response.header("Retry-After")) {
        const auto now = p.options.wall_clock ? p.options.wall_clock() : std::chrono::system_clock::now();
        retry_after = extras::parse_retry_after(*value, now);
    }
    std::string message = rq.method;
    if (code == CURLE_OK) {
        message += ": HTTP " + std::to_string(status);
    } else {
        message += ": curl error " + std::to_string(static_cast<int>(code)) + " (" + curl_easy_strerror(code) + ")";
        if (error_text[0] != '\0') message += std::string(": ") + error_text;
        if (status != 0) message += ", HTTP " + std::to_string(status);
    }
    const int reported = code == CURLE_OK ? static_cast<int>(CURLE_HTTP_RETURNED_ERROR) : static_cast<int>(code);
    throw RequestError(reported, std::move(rx.response), may_retry, retry_after, message);
}

}  // namespace detail
/// @endcond

/// Sends `request` under `policy` and returns the final response; throws what the policy's
/// `call()` throws: the last attempt's `RequestError`, `CircuitOpenError`, `AbortRetryError`...
///
/// * Each attempt is a fresh transfer (a new easy handle, empty buffers): nothing of a failed
///   attempt's response reaches the next one, and libcurl never resends on a reused
///   connection by itself.
/// * A success is a transfer that ended `CURLE_OK` with a status that is not a failure (1xx,
///   2xx, 3xx); everything else is thrown as `RequestError`.
/// * The transfer's own timeout (`CURLOPT_TIMEOUT_MS`) is the policy's `attempt_timeout`,
///   and never more than what is left of its `deadline` (read on the policy's clock from the
///   call's start): the deadline bounds a running transfer too.
/// * A stop request (`call.stop_token`, or the policy's attempt timeout) ends a running
///   transfer within about a second (libcurl's progress callback).
/// * A request that is not idempotent (`Request::idempotent`) is not sent twice: once it may
///   have reached the server, its failure is classified `Permanent`, also when the policy
///   counts its answer as late.
///
/// The policy's classifier must be `curl::classifier` (or a `curl::Classifier<F>`): it
/// reads the Retry-After hint and enforces the idempotency rule (checked at compile time).
/// Throws `redress::InvalidOption` for an invalid request or option, before any attempt.
/// Thread-safe when the policy is: nothing is shared between calls.
template <class PolicyT>
Response perform(const PolicyT& policy, const Request& request, const Options& options = {},
                 const CallOptions& call = {}) {
    using Settings = std::remove_cvref_t<decltype(policy.retry_settings())>;
    static_assert(!PolicyT::has_retry || detail::IsRequestClassifier<typename Settings::classifier_type>::value,
                  "redress: contrib::curl::perform needs a policy whose classifier is redress::contrib::curl::classifier "
                  "(or curl::Classifier<YourFallback>): it reads Retry-After and keeps non-idempotent requests from "
                  "being sent twice");
    detail::validate(request, options);
    const Settings& cfg = policy.retry_settings();

    detail::Prepared prepared{request, options};
    prepared.idempotent = detail::is_idempotent(request, options);
    // A key made here for a request that had none: sent on every attempt, so the request may be.
    const bool generate_key = options.generate_idempotency_key && !prepared.idempotent;
    if (generate_key) prepared.idempotent = true;
    auto append_header = [&](const std::string& line) {
        curl_slist* grown = curl_slist_append(prepared.headers.get(), line.c_str());  // the same head, or a new one
        if (grown == nullptr) throw std::bad_alloc();
        (void)prepared.headers.release();
        prepared.headers.reset(grown);
    };
    for (const auto& h : request.headers)
        append_header(h.value.empty() ? h.name + ";" : h.name + ": " + h.value);  // "X;" sends an empty value

    const detail::UnrepeatableScope scope(!prepared.idempotent);
    bool key_added = false;
    return policy.call(
        [&](const redress::Attempt& attempt) {
            if (generate_key && !key_added) {
                append_header(options.idempotency_header + ": " + std::string(attempt.idempotency_key));
                key_added = true;
            }
            // What is left of the deadline, and never more than the attempt's own timeout.
            Duration limit = attempt.time_left;
            if (cfg.attempt_timeout && *cfg.attempt_timeout < limit) limit = *cfg.attempt_timeout;
            return detail::transfer(prepared, limit, attempt.stop_token);
        },
        call);
}

}  // namespace redress::contrib::curl
