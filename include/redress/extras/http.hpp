// HTTP classification: status codes, and Retry-After (RFC 9110 §10.2.3) as delta-seconds
// or any of the three HTTP-date forms (§5.6.7). Standard library only.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <redress/classification.hpp>
#include <redress/classify.hpp>
#include <redress/clock.hpp>
#include <redress/error_class.hpp>

namespace redress::extras {

// Internal date parsing, kept out of the API reference like `detail`.
/// @cond
namespace detail_http {

[[nodiscard]] constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

[[nodiscard]] constexpr std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

/// Exactly `n` digits at `s[pos]`; none otherwise.
[[nodiscard]] constexpr std::optional<int> digits(std::string_view s, std::size_t pos, std::size_t n) noexcept {
    if (pos + n > s.size()) return std::nullopt;
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const char c = s[pos + i];
        if (!is_digit(c)) return std::nullopt;
        v = v * 10 + (c - '0');
    }
    return v;
}

[[nodiscard]] constexpr bool literal(std::string_view s, std::size_t pos, std::string_view lit) noexcept {
    return pos <= s.size() && s.substr(pos, lit.size()) == lit;
}

/// 1–12 for a case-sensitive three-letter month name at `s[pos]`.
[[nodiscard]] constexpr std::optional<int> month(std::string_view s, std::size_t pos) noexcept {
    constexpr std::string_view names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (pos + 3 > s.size()) return std::nullopt;
    for (int i = 0; i < 12; ++i)
        if (s.substr(pos, 3) == names[i]) return i + 1;
    return std::nullopt;
}

[[nodiscard]] constexpr bool short_day_name(std::string_view s) noexcept {
    return s == "Mon" || s == "Tue" || s == "Wed" || s == "Thu" || s == "Fri" || s == "Sat" || s == "Sun";
}

[[nodiscard]] constexpr bool long_day_name(std::string_view s) noexcept {
    return s == "Monday" || s == "Tuesday" || s == "Wednesday" || s == "Thursday" || s == "Friday" ||
           s == "Saturday" || s == "Sunday";
}

struct CivilTime {
    int year, month, day, hour, minute, second;
};

/// `HH:MM:SS` at `s[pos]` (second 60 allowed for a leap second).
[[nodiscard]] constexpr bool time_of_day(std::string_view s, std::size_t pos, CivilTime& t) noexcept {
    const auto h = digits(s, pos, 2);
    const auto m = digits(s, pos + 3, 2);
    const auto sec = digits(s, pos + 6, 2);
    if (!h || !m || !sec || !literal(s, pos + 2, ":") || !literal(s, pos + 5, ":")) return false;
    if (*h > 23 || *m > 59 || *sec > 60) return false;
    t.hour = *h;
    t.minute = *m;
    t.second = *sec;
    return true;
}

/// Seconds since the Unix epoch of a valid civil date-time; none for an impossible date.
[[nodiscard]] constexpr std::optional<std::int64_t> to_unix_seconds(const CivilTime& t) noexcept {
    using namespace std::chrono;
    const year_month_day ymd{year{t.year}, std::chrono::month{static_cast<unsigned>(t.month)},
                             std::chrono::day{static_cast<unsigned>(t.day)}};
    if (!ymd.ok()) return std::nullopt;
    const auto days = sys_days{ymd}.time_since_epoch().count();
    return std::int64_t{days} * 86400 + t.hour * 3600 + t.minute * 60 + t.second;
}

/// "Sun, 06 Nov 1994 08:49:37 GMT"
[[nodiscard]] constexpr std::optional<CivilTime> imf_fixdate(std::string_view s) noexcept {
    if (s.size() != 29 || !short_day_name(s.substr(0, 3)) || !literal(s, 3, ", ")) return std::nullopt;
    CivilTime t{};
    const auto d = digits(s, 5, 2);
    const auto m = month(s, 8);
    const auto y = digits(s, 12, 4);
    if (!d || !m || !y || !literal(s, 7, " ") || !literal(s, 11, " ") || !literal(s, 16, " ")) return std::nullopt;
    if (!time_of_day(s, 17, t) || !literal(s, 25, " GMT")) return std::nullopt;
    t.year = *y;
    t.month = *m;
    t.day = *d;
    return t;
}

/// "Sunday, 06-Nov-94 08:49:37 GMT"; the century comes from `now_year` (RFC 9110: a
/// two-digit year more than 50 years in the future is the most recent past year with
/// those digits).
[[nodiscard]] constexpr std::optional<CivilTime> rfc850_date(std::string_view s, int now_year) noexcept {
    const auto comma = s.find(',');
    if (comma == std::string_view::npos || !long_day_name(s.substr(0, comma))) return std::nullopt;
    const std::string_view rest = s.substr(comma);  // ", 06-Nov-94 08:49:37 GMT"
    if (rest.size() != 24 || !literal(rest, 0, ", ")) return std::nullopt;
    CivilTime t{};
    const auto d = digits(rest, 2, 2);
    const auto m = month(rest, 5);
    const auto yy = digits(rest, 9, 2);
    if (!d || !m || !yy || !literal(rest, 4, "-") || !literal(rest, 8, "-") || !literal(rest, 11, " "))
        return std::nullopt;
    if (!time_of_day(rest, 12, t) || !literal(rest, 20, " GMT")) return std::nullopt;
    const int century = now_year - ((now_year % 100) + 100) % 100;
    int year = century + *yy;
    if (year > now_year + 50) year -= 100;
    t.year = year;
    t.month = *m;
    t.day = *d;
    return t;
}

/// "Sun Nov  6 08:49:37 1994" (day padded with a space or a zero).
[[nodiscard]] constexpr std::optional<CivilTime> asctime_date(std::string_view s) noexcept {
    if (s.size() != 24 || !short_day_name(s.substr(0, 3)) || !literal(s, 3, " ")) return std::nullopt;
    CivilTime t{};
    const auto m = month(s, 4);
    if (!m || !literal(s, 7, " ")) return std::nullopt;
    std::optional<int> d;
    if (s[8] == ' ') {
        d = digits(s, 9, 1);
    } else {
        d = digits(s, 8, 2);
    }
    const auto y = digits(s, 20, 4);
    if (!d || !y || !literal(s, 10, " ") || !time_of_day(s, 11, t) || !literal(s, 19, " ")) return std::nullopt;
    t.year = *y;
    t.month = *m;
    t.day = *d;
    return t;
}

}  // namespace detail_http
/// @endcond

/// Parses a Retry-After value relative to `now`: delta-seconds (digits only; huge values
/// saturate at `Duration::max()`), or an HTTP-date in IMF-fixdate, RFC 850 or asctime
/// form (a date in the past gives zero). Surrounding spaces and tabs are allowed; anything
/// else (signs, fractions, junk, impossible dates) gives none. Never throws; no allocation.
[[nodiscard]] inline std::optional<Duration> parse_retry_after(std::string_view value,
                                                              std::chrono::system_clock::time_point now) noexcept {
    using namespace std::chrono;
    namespace h = detail_http;
    value = h::trim_ows(value);
    if (value.empty()) return std::nullopt;

    if (h::is_digit(value.front())) {
        constexpr std::int64_t max_seconds = Duration::max().count() / 1'000'000'000;
        std::int64_t secs = 0;
        for (const char c : value) {
            if (!h::is_digit(c)) return std::nullopt;
            if (secs <= max_seconds) secs = secs * 10 + (c - '0');
        }
        if (secs > max_seconds) return Duration::max();
        return duration_cast<Duration>(seconds(secs));
    }

    const auto now_days = floor<days>(now);
    const int now_year = static_cast<int>(year_month_day{now_days}.year());
    std::optional<h::CivilTime> t = h::imf_fixdate(value);
    if (!t) t = h::rfc850_date(value, now_year);
    if (!t) t = h::asctime_date(value);
    if (!t) return std::nullopt;
    const auto target = h::to_unix_seconds(*t);
    if (!target) return std::nullopt;

    const auto since = now.time_since_epoch();
    const std::int64_t diff_s = *target - static_cast<std::int64_t>(floor<seconds>(since).count());
    if (diff_s <= 0) return Duration::zero();
    constexpr std::int64_t max_seconds = Duration::max().count() / 1'000'000'000 - 1;
    if (diff_s > max_seconds) return Duration::max();
    // The part of `now` past its whole second, in [0, 1 s), taken with `%`: `now - floor(now)`
    // would convert the floored seconds to nanoseconds, which overflows near the earliest `now`.
    auto past_second = since % seconds(1);
    if (past_second < decltype(past_second)::zero()) past_second += seconds(1);
    const Duration fraction = duration_cast<Duration>(past_second);
    const Duration result = duration_cast<Duration>(seconds(diff_s)) - fraction;
    return result < Duration::zero() ? Duration::zero() : result;
}

/// An HTTP failure: a status code and, when the server sent one, the raw Retry-After
/// header. Derives from `redress::StatusError`, so `default_classifier` reads its status too.
class HttpError : public StatusError {
public:
    /// `status` is the HTTP status; `retry_after` the raw header, if sent; `message` the
    /// `what()` text (by default `HTTP 503` for status 503).
    explicit HttpError(int status, std::optional<std::string> retry_after = std::nullopt, std::string message = {})
        : StatusError(status, message.empty() ? "HTTP " + std::to_string(status) : std::move(message)),
          retry_after_(std::move(retry_after)) {}

    /// The raw Retry-After header value, if any.
    [[nodiscard]] const std::optional<std::string>& retry_after() const noexcept { return retry_after_; }

private:
    std::optional<std::string> retry_after_;
};

/// The class of an HTTP status: `redress::classify_status`, plus every other 4xx →
/// `Permanent`. None for statuses that are not failures (1xx, 2xx, 3xx, and out-of-range numbers).
[[nodiscard]] constexpr std::optional<ErrorClass> classify_http_status(int status) noexcept {
    if (auto klass = classify_status(status)) return klass;
    if (status >= 400 && status <= 499) return ErrorClass::Permanent;
    return std::nullopt;
}

/// For result classifiers: the classification of a response, or none when `status` is not
/// a failure. A parsable Retry-After (relative to `now`) becomes `retry_after`.
[[nodiscard]] inline std::optional<Classification> classify_http_response(
    int status, std::string_view retry_after_header,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) {
    const auto klass = classify_http_status(status);
    if (!klass) return std::nullopt;
    return Classification{*klass, parse_retry_after(retry_after_header, now)};
}

/// Classifies `HttpError` by its status (`classify_http_status`; a non-failure status is
/// `Unknown`); everything else as `redress::default_classifier`. Stateless; thread-safe.
struct HttpClassifier {
    /// The classification of the exception `error` holds (`Unknown` for an empty pointer).
    [[nodiscard]] Classification operator()(const std::exception_ptr& error) const {
        if (!error) return Classification{};
        // One look at the thrown object (no rethrow with libstdc++), as default_classifier does.
        return redress::detail::with_thrown(error, [](const redress::detail::ThrownView& thrown) {
            if (const auto* e = thrown.as<HttpError>())
                return Classification{classify_http_status(e->status()).value_or(ErrorClass::Unknown)};
            return Classification{redress::detail::classify_thrown(thrown, true)};
        });
    }
};

/// `HttpClassifier` that also turns an `HttpError`'s Retry-After into
/// `Classification::retry_after`, relative to `clock` (empty: `std::chrono::system_clock`).
/// Thread-safe when the clock is.
struct HttpRetryAfterClassifier {
    /// The wall clock the Retry-After date is read against; empty: `std::chrono::system_clock`.
    std::function<std::chrono::system_clock::time_point()> clock{};

    /// As `HttpClassifier`, with `retry_after` set from a parsable Retry-After header.
    [[nodiscard]] Classification operator()(const std::exception_ptr& error) const {
        if (!error) return Classification{};
        return redress::detail::with_thrown(error, [this](const redress::detail::ThrownView& thrown) {
            if (const auto* e = thrown.as<HttpError>()) {
                Classification c{classify_http_status(e->status()).value_or(ErrorClass::Unknown)};
                if (e->retry_after()) {
                    const auto now = clock ? clock() : std::chrono::system_clock::now();
                    c.retry_after = parse_retry_after(*e->retry_after(), now);
                }
                return c;
            }
            return Classification{redress::detail::classify_thrown(thrown, true)};
        });
    }
};

/// `.classifier = redress::extras::http_classifier`
inline constexpr HttpClassifier http_classifier{};
/// `.classifier = redress::extras::http_retry_after_classifier` (wall clock). For another
/// clock: `HttpRetryAfterClassifier{.clock = [&] { return my_clock.now(); }}`.
inline const HttpRetryAfterClassifier http_retry_after_classifier{};

}  // namespace redress::extras
