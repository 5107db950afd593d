// <redress/extras/http.hpp>: Retry-After parsing (RFC 9110) and the HTTP classifiers.
#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <redress/extras/http.hpp>

using namespace std::chrono_literals;
using redress::Duration;
using redress::ErrorClass;
using redress::extras::parse_retry_after;
using std::chrono::system_clock;

namespace {

// Saturday, 1 June 2024, 12:00:00 UTC.
const system_clock::time_point now = std::chrono::sys_days{std::chrono::year{2024} / 6 / 1} + 12h;

}  // namespace

TEST_CASE("Retry-After delta-seconds: digits only, surrounding spaces allowed, huge values saturate") {
    CHECK(parse_retry_after("120", now) == Duration(120s));
    CHECK(parse_retry_after("0", now) == Duration(0s));
    CHECK(parse_retry_after("  120  ", now) == Duration(120s));
    CHECK(parse_retry_after("\t7\t", now) == Duration(7s));
    CHECK(parse_retry_after("007", now) == Duration(7s));
    CHECK(parse_retry_after("-5", now) == std::nullopt);
    CHECK(parse_retry_after("+5", now) == std::nullopt);
    CHECK(parse_retry_after("abc", now) == std::nullopt);
    CHECK(parse_retry_after("1.5", now) == std::nullopt);
    CHECK(parse_retry_after("12 3", now) == std::nullopt);
    CHECK(parse_retry_after("120s", now) == std::nullopt);
    CHECK(parse_retry_after("", now) == std::nullopt);
    CHECK(parse_retry_after("   ", now) == std::nullopt);
    CHECK(parse_retry_after(std::string_view("1\0" "2", 3), now) == std::nullopt);
    CHECK(parse_retry_after("123456789012345678901234567890", now) == Duration::max());
    CHECK(parse_retry_after("9223372036", now) == Duration(std::chrono::seconds(9223372036LL)));
    CHECK(parse_retry_after("9223372037", now) == Duration::max());
}

TEST_CASE("Retry-After IMF-fixdate is relative to now, and a past date gives zero") {
    CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now) == Duration(0s));
    CHECK(parse_retry_after("Sat, 01 Jun 2024 12:02:00 GMT", now) == Duration(120s));
    CHECK(parse_retry_after("Sat, 01 Jun 2024 12:00:00 GMT", now) == Duration(0s));
    CHECK(parse_retry_after("Sun, 02 Jun 2024 12:00:00 GMT", now) == Duration(24h));
    CHECK(parse_retry_after("  Sat, 01 Jun 2024 12:02:00 GMT \t", now) == Duration(120s));
    // a fractional now is subtracted exactly
    CHECK(parse_retry_after("Sat, 01 Jun 2024 12:01:00 GMT", now + 300ms) == Duration(59700ms));
    // beyond the range of Duration: saturates
    CHECK(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now) == Duration::max());
}

TEST_CASE("Retry-After RFC 850 dates use the 50-year rule for two-digit years") {
    CHECK(parse_retry_after("Saturday, 01-Jun-24 12:00:30 GMT", now) == Duration(30s));
    CHECK(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now) == Duration(0s));
    // 2074 is exactly 50 years ahead: still the future
    const auto in_2074 = parse_retry_after("Friday, 01-Jun-74 12:00:00 GMT", now);
    REQUIRE(in_2074.has_value());
    CHECK(*in_2074 == std::chrono::sys_days{std::chrono::year{2074} / 6 / 1} + 12h - now);
    // 2075 would be more than 50 years ahead, so it is 1975: the past
    CHECK(parse_retry_after("Sunday, 01-Jun-75 12:00:00 GMT", now) == Duration(0s));
}

TEST_CASE("Retry-After asctime dates, with a space-padded or two-digit day") {
    CHECK(parse_retry_after("Sun Nov  6 08:49:37 1994", now) == Duration(0s));
    CHECK(parse_retry_after("Sat Jun  1 12:01:00 2024", now) == Duration(60s));
    CHECK(parse_retry_after("Sat Jun 15 12:00:00 2024", now) == Duration(14 * 24h));
    CHECK(parse_retry_after(" Sat Jun  1 12:01:00 2024 ", now) == Duration(60s));
}

TEST_CASE("malformed Retry-After dates give none") {
    for (const char* bad : {
             "Sat, 31 Feb 2024 12:00:00 GMT",   // no such day
             "Sat, 01 Jun 2024 24:00:00 GMT",   // hour
             "Sat, 01 Jun 2024 12:60:00 GMT",   // minute
             "sat, 01 Jun 2024 12:00:00 GMT",   // case-sensitive day name
             "Sat, 01 jun 2024 12:00:00 GMT",   // case-sensitive month
             "Sat, 01 Jun 2024 12:00:00 UTC",   // only GMT
             "Sat, 01 Jun 2024 12:00:00",       // truncated
             "Sat, 1 Jun 2024 12:00:00 GMT",    // one-digit day
             "Sat,  01 Jun 2024 12:00:00 GMT",  // extra space
             "Saturday, 01-Jun-2024 12:00:00 GMT",
             "Sat, 01-Jun-24 12:00:00 GMT",     // RFC 850 needs the long day name
             "Funday, 01-Jun-24 12:00:00 GMT",
             "Sat Jun 1 12:01:00 2024",         // asctime needs the padded day
             "Sat Jun  1 12:01:00 24",
             "Sat Jun  1 12:01:00 2024 GMT",
             "Sat Jun 32 12:01:00 2024",
             "2024-06-01T12:00:00Z",
             ",",
             "Sunday,",
         }) {
        INFO(bad);
        CHECK(parse_retry_after(bad, now) == std::nullopt);
    }
}

TEST_CASE("classify_http_status and classify_http_response map failures and carry Retry-After") {
    CHECK(redress::extras::classify_http_status(429) == ErrorClass::RateLimit);
    CHECK(redress::extras::classify_http_status(503) == ErrorClass::ServerError);
    CHECK(redress::extras::classify_http_status(410) == ErrorClass::Permanent);
    CHECK(redress::extras::classify_http_status(200) == std::nullopt);
    CHECK(redress::extras::classify_http_status(304) == std::nullopt);

    CHECK(redress::extras::classify_http_response(200, "", now) == std::nullopt);
    const auto limited = redress::extras::classify_http_response(429, "5", now);
    REQUIRE(limited);
    CHECK(limited->klass == ErrorClass::RateLimit);
    CHECK(limited->retry_after == Duration(5s));
    const auto junk = redress::extras::classify_http_response(503, "soon", now);
    REQUIRE(junk);
    CHECK(junk->klass == ErrorClass::ServerError);
    CHECK_FALSE(junk->retry_after.has_value());
}

TEST_CASE("http classifiers read HttpError, the retry-after one uses its injected clock") {
    using redress::extras::HttpError;
    const auto e429 = std::make_exception_ptr(HttpError(429, "120"));
    const auto e503 = std::make_exception_ptr(HttpError(503, std::string("Sat, 01 Jun 2024 12:00:45 GMT")));
    const auto e410 = std::make_exception_ptr(HttpError(410));
    const auto e302 = std::make_exception_ptr(HttpError(302));
    const auto bad_header = std::make_exception_ptr(HttpError(429, "later"));

    CHECK(redress::extras::http_classifier(e429) == redress::Classification{ErrorClass::RateLimit});
    CHECK(redress::extras::http_classifier(e410).klass == ErrorClass::Permanent);
    CHECK(redress::extras::http_classifier(e302).klass == ErrorClass::Unknown);
    CHECK(redress::extras::http_classifier(std::make_exception_ptr(redress::ConcurrencyError("x"))).klass ==
          ErrorClass::Concurrency);
    // HttpError is a StatusError: the core classifier understands it without the extras
    CHECK(redress::default_classifier(e429).klass == ErrorClass::RateLimit);

    const redress::extras::HttpRetryAfterClassifier with_clock{.clock = [] { return now; }};
    const auto c429 = with_clock(e429);
    CHECK(c429.klass == ErrorClass::RateLimit);
    CHECK(c429.retry_after == Duration(120s));
    const auto c503 = with_clock(e503);
    CHECK(c503.klass == ErrorClass::ServerError);
    CHECK(c503.retry_after == Duration(45s));
    CHECK_FALSE(with_clock(bad_header).retry_after.has_value());
    CHECK_FALSE(with_clock(e410).retry_after.has_value());
    CHECK(with_clock(std::make_exception_ptr(redress::AttemptTimeoutError{})).klass == ErrorClass::Transient);

    // the default object reads the wall clock: a delta is independent of it
    CHECK(redress::extras::http_retry_after_classifier(e429).retry_after == Duration(120s));
    STATIC_REQUIRE(redress::Classifier<redress::extras::HttpClassifier>);
    STATIC_REQUIRE(redress::Classifier<redress::extras::HttpRetryAfterClassifier>);
}

TEST_CASE("Retry-After saturates at every extreme of the value and of now, never overflowing") {
    // One tick and just under a second past the earliest time point, in the clock's own unit
    // (nanoseconds with libstdc++, microseconds with libc++).
    const system_clock::time_point earliest = system_clock::time_point::min();
    const auto almost_a_second = std::chrono::duration_cast<system_clock::duration>(999'999'999ns);
    const std::vector<system_clock::time_point> nows = {earliest,
                                                        earliest + system_clock::duration(1),
                                                        earliest + almost_a_second,
                                                        system_clock::time_point{},
                                                        now,
                                                        system_clock::time_point::max() - 1s,
                                                        system_clock::time_point::max()};
    const std::vector<const char*> values = {
        "0", "1", "9223372035", "9223372036", "9223372037", "99999999999999999999999999999999999999",
        "Sat, 01 Jun 2024 12:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "Sat, 01 Jan 0000 00:00:00 GMT",
        "Mon, 01 Jan 1677 00:00:00 GMT", "Fri, 11 Apr 2262 23:47:16 GMT", "Friday, 31-Dec-99 23:59:59 GMT",
        "Sun Nov  6 08:49:37 1994", "Fri Dec 31 23:59:59 9999"};
    for (const auto at : nows) {
        for (const char* value : values) {
            INFO(value << " at " << at.time_since_epoch().count());
            const auto d = parse_retry_after(value, at);
            REQUIRE(d.has_value());
            CHECK(*d >= Duration::zero());
        }
    }
    // Huge deltas and far dates saturate; the farthest past "now" still reads them as far.
    CHECK(parse_retry_after("99999999999999999999999999999999999999", now) == Duration::max());
    CHECK(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", system_clock::time_point::min()) == Duration::max());
    CHECK(parse_retry_after("Sat, 01 Jan 0000 00:00:00 GMT", system_clock::time_point::max()) == Duration::zero());
    CHECK(parse_retry_after("5", system_clock::time_point::max()) == Duration(5s));
    // An early date read at a `now` just under a second past the earliest time point.
    CHECK(parse_retry_after("Mon, 01 Jan 1677 00:00:00 GMT", earliest + almost_a_second).has_value());
}
