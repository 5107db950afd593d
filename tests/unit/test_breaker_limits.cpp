// The circuit breaker and the ErrorClass vocabulary at the edges: values outside the eight
// classes, thresholds at and above the cap, durations up to Duration::max(), clocks that start
// anywhere in the int64 nanosecond range, and a property over random sequences against a
// reference model.
#include <redress/circuit_breaker.hpp>
#include <redress/errors.hpp>
#include <redress/testing/manual_clock.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <climits>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using redress::BreakerPermit;
using redress::BreakerTransition;
using redress::CircuitBreaker;
using redress::CircuitBreakerOptions;
using redress::CircuitState;
using redress::Duration;
using redress::ErrorClass;
using redress::ErrorClassSet;
using redress::EventName;
using redress::TimePoint;
using redress::testing::ManualClock;

namespace {

constexpr ErrorClass cls(int v) noexcept { return static_cast<ErrorClass>(v); }

// Values outside the eight classes, from just past the end to the extremes of int; 32 and 40
// are where `1U << value` was undefined, 8-31 where the bit fell off a uint8_t.
const std::vector<int> out_of_range_values{8, 9, 15, 16, 31, 32, 33, 40, 63, 64, 255, 256, 1 << 20, -1, -8, INT_MAX, INT_MIN};

const std::vector<ErrorClass> all_classes{ErrorClass::Auth,      ErrorClass::Permission,  ErrorClass::Permanent,
                                          ErrorClass::Concurrency, ErrorClass::RateLimit, ErrorClass::ServerError,
                                          ErrorClass::Transient, ErrorClass::Unknown};

}  // namespace

// ---------------------------------------------------------------------------------------------
// The vocabulary: values outside the eight classes

TEST_CASE("ErrorClassSet holds only the eight classes, any other value is dropped and clears valid()") {
    // Usable in constant expressions, with out-of-range values too (no undefined shift).
    constexpr ErrorClassSet bad{cls(40)};
    STATIC_REQUIRE_FALSE(bad.valid());
    STATIC_REQUIRE(bad.empty());
    STATIC_REQUIRE_FALSE(bad.contains(cls(40)));
    constexpr ErrorClassSet good{ErrorClass::Auth, ErrorClass::Unknown};
    STATIC_REQUIRE(good.valid());
    STATIC_REQUIRE(good.size() == 2);

    for (const int v : out_of_range_values) {
        INFO("value " << v);
        ErrorClassSet s{cls(v)};
        CHECK_FALSE(s.valid());
        CHECK_FALSE(s.contains(cls(v)));
        CHECK(s.empty());
        CHECK(s.size() == 0);
        for (const auto k : all_classes) CHECK_FALSE(s.contains(k));  // no bit of a real class was set

        ErrorClassSet t{ErrorClass::Transient};
        t.insert(cls(v));
        t.erase(cls(v));  // erasing a non-class is a no-op: it neither removes a class nor revalidates
        CHECK(t.contains(ErrorClass::Transient));
        CHECK(t.size() == 1);
        CHECK_FALSE(t.valid());
        CHECK(t != ErrorClassSet{ErrorClass::Transient});
    }
    for (const auto k : all_classes) {
        ErrorClassSet s{k};
        CHECK(s.valid());
        CHECK(s.contains(k));
        CHECK(s.size() == 1);
        s.erase(k);
        CHECK(s.empty());
        CHECK(s.valid());
    }
}

TEST_CASE("PerClass lookups are total: a value outside ErrorClass is never found and never terminates") {
    redress::PerClass<int> table{{ErrorClass::RateLimit, 3}, {ErrorClass::Unknown, 7}};
    STATIC_REQUIRE(noexcept(table.find(cls(8))));
    STATIC_REQUIRE(noexcept(table.contains(cls(8))));
    STATIC_REQUIRE(noexcept(table.erase(cls(8))));
    for (const int v : out_of_range_values) {
        INFO("value " << v);
        CHECK(table.find(cls(v)) == nullptr);
        CHECK_FALSE(table.contains(cls(v)));
        table.erase(cls(v));
        CHECK_THROWS_AS(table.set(cls(v), 1), std::invalid_argument);
        CHECK_THROWS_AS((redress::PerClass<int>{{cls(v), 1}}), std::invalid_argument);
        // A class_thresholds key outside ErrorClass never reaches the breaker.
        CHECK_THROWS_AS((CircuitBreakerOptions{.class_thresholds = {{cls(v), 3}}}), std::invalid_argument);
    }
    // The real entries are untouched.
    REQUIRE(table.find(ErrorClass::RateLimit) != nullptr);
    CHECK(*table.find(ErrorClass::RateLimit) == 3);
    CHECK(*table.find(ErrorClass::Unknown) == 7);
    CHECK_FALSE(table.contains(ErrorClass::Auth));
}

// ---------------------------------------------------------------------------------------------
// The breaker's options and inputs: classes outside the eight, thresholds

namespace {

constexpr int cap = CircuitBreakerOptions::max_threshold;

const BreakerTransition opened{EventName::CircuitOpened, CircuitState::Open};
const BreakerTransition half_open{EventName::CircuitHalfOpen, CircuitState::HalfOpen};
const BreakerTransition closed{EventName::CircuitClosed, CircuitState::Closed};
const BreakerTransition rejected_open{EventName::CircuitRejected, CircuitState::Open};
const BreakerTransition rejected_half_open{EventName::CircuitRejected, CircuitState::HalfOpen};

// The InvalidOption a breaker built from `o` throws, if any.
std::optional<redress::InvalidOption> invalid(const CircuitBreakerOptions& o) {
    try {
        CircuitBreaker b{o};
    } catch (const redress::InvalidOption& e) {
        return e;
    }
    return std::nullopt;
}

// Runs one allowed call that fails with `klass`; returns what the failure report said.
std::optional<BreakerTransition> fail_once(CircuitBreaker& b, ErrorClass klass = ErrorClass::Transient) {
    const auto permit = b.allow();
    REQUIRE(permit.allowed);
    return b.record_failure(klass, permit);
}

}  // namespace

TEST_CASE("a breaker rejects a trip_on holding a value outside ErrorClass, naming trip_on") {
    for (const int v : out_of_range_values) {
        INFO("value " << v);
        const auto e = invalid({.trip_on = {ErrorClass::Transient, cls(v)}});
        REQUIRE(e.has_value());
        CHECK(e->component() == "CircuitBreakerOptions");
        CHECK(e->option() == "trip_on");
        CHECK_THAT(std::string(e->what()), Catch::StartsWith("redress: CircuitBreakerOptions::trip_on "));
    }
    // Every subset of the eight classes is accepted.
    for (unsigned mask = 0; mask < 256; ++mask) {
        ErrorClassSet s;
        for (unsigned i = 0; i < 8; ++i)
            if ((mask >> i & 1U) != 0) s.insert(cls(static_cast<int>(i)));
        CHECK_FALSE(invalid({.trip_on = s}).has_value());
    }
}

TEST_CASE("record_failure counts a class outside ErrorClass as Unknown") {
    for (const int v : out_of_range_values) {
        INFO("value " << v);
        ManualClock clock;

        // Not counted when Unknown is not in trip_on (the default).
        CircuitBreaker plain{{.failure_threshold = 1, .clock = clock}};
        for (int i = 0; i < 5; ++i) CHECK_FALSE(fail_once(plain, cls(v)).has_value());
        CHECK(plain.state() == CircuitState::Closed);

        // Counted when Unknown is in trip_on, together with Unknown itself.
        CircuitBreaker unknown{{.failure_threshold = 2, .trip_on = {ErrorClass::Unknown}, .clock = clock}};
        CHECK_FALSE(fail_once(unknown, cls(v)).has_value());
        CHECK(fail_once(unknown, ErrorClass::Unknown) == opened);

        // Counted against Unknown's own threshold.
        CircuitBreaker own{{.failure_threshold = 100, .class_thresholds = {{ErrorClass::Unknown, 2}}, .clock = clock}};
        CHECK_FALSE(fail_once(own, ErrorClass::Unknown).has_value());
        CHECK(fail_once(own, cls(v)) == opened);

        // A probe failing with it closes the breaker (outside trip_on)...
        CircuitBreaker probed{{.failure_threshold = 1, .recovery_timeout = 1s, .clock = clock}};
        REQUIRE(fail_once(probed) == opened);
        clock.advance(1s);
        auto probe = probed.allow();
        REQUIRE(probe.probe);
        CHECK(probed.record_failure(cls(v), probe) == closed);
        // ...or reopens it when Unknown trips.
        CircuitBreaker reopened{{.failure_threshold = 1, .recovery_timeout = 1s, .trip_on = {ErrorClass::Unknown}, .clock = clock}};
        REQUIRE(fail_once(reopened, ErrorClass::Unknown) == opened);
        clock.advance(1s);
        probe = reopened.allow();
        REQUIRE(probe.probe);
        CHECK(reopened.record_failure(cls(v), probe) == opened);

        // Ratio mode: a call that is not a failure...
        CircuitBreaker ratio{{.failure_ratio = 0.5, .minimum_throughput = 2, .clock = clock}};
        CHECK_FALSE(fail_once(ratio, cls(v)).has_value());
        CHECK(fail_once(ratio) == opened);  // 1 failure of 2 calls
        // ...or a failure when Unknown trips.
        CircuitBreaker ratio_unknown{{.trip_on = {ErrorClass::Unknown}, .failure_ratio = 1.0, .minimum_throughput = 2, .clock = clock}};
        CHECK_FALSE(fail_once(ratio_unknown, cls(v)).has_value());  // 1 of 1, below the throughput
        CHECK(fail_once(ratio_unknown, cls(v)) == opened);           // 2 of 2
    }
}

TEST_CASE("thresholds below 1 or above max_threshold are rejected with InvalidOption naming the option") {
    STATIC_REQUIRE(cap == 10'000);
    for (const int n : {0, -1, INT_MIN, cap + 1, 1'000'000, INT_MAX}) {
        INFO("threshold " << n);
        auto e = invalid({.failure_threshold = n});
        REQUIRE(e.has_value());
        CHECK(e->component() == "CircuitBreakerOptions");
        CHECK(e->option() == "failure_threshold");
        CHECK_THAT(std::string(e->what()), Catch::Contains("(is " + std::to_string(n) + ")"));
        // Validated in ratio mode too, where the count is unused: the option is wrong either way.
        e = invalid({.failure_threshold = n, .failure_ratio = 0.5});
        REQUIRE(e.has_value());
        CHECK(e->option() == "failure_threshold");

        e = invalid({.class_thresholds = {{ErrorClass::RateLimit, n}}});
        REQUIRE(e.has_value());
        CHECK(e->component() == "CircuitBreakerOptions");
        CHECK(e->option() == "class_thresholds");
        CHECK_THAT(std::string(e->what()), Catch::Contains("RATE_LIMIT"));
    }
    CHECK_FALSE(invalid({.failure_threshold = 1}).has_value());
    CHECK_FALSE(invalid({.failure_threshold = cap}).has_value());
    CHECK_FALSE(invalid({.class_thresholds = {{ErrorClass::RateLimit, cap}}}).has_value());
}

TEST_CASE("count mode is exact at the threshold cap") {
    ManualClock clock;
    SECTION("failure_threshold") {
        CircuitBreaker b{{.failure_threshold = cap, .window = 1h, .clock = clock}};
        CHECK_FALSE(fail_once(b).has_value());  // t = 0
        clock.advance(1s);
        for (int i = 2; i < cap; ++i) REQUIRE_FALSE(fail_once(b).has_value());  // cap - 2 at t = 1 s
        clock.advance(1h - 1s);
        // t = 1 h: cap failures, but the first is exactly one window old.
        CHECK_FALSE(fail_once(b).has_value());
        CHECK(fail_once(b) == opened);  // cap - 2 at 1 s, 2 at 1 h: all within the window
    }
    SECTION("a class threshold") {
        CircuitBreaker b{{.failure_threshold = cap, .window = 1h, .class_thresholds = {{ErrorClass::RateLimit, cap}}, .clock = clock}};
        for (int i = 1; i < cap; ++i) REQUIRE_FALSE(fail_once(b, ErrorClass::RateLimit).has_value());
        CHECK(fail_once(b, ErrorClass::RateLimit) == opened);
    }
}

TEST_CASE("minimum_throughput at INT_MAX never lets the ratio open, and a class threshold still does") {
    ManualClock clock;
    CircuitBreaker b{{.window = 1h,
                      .class_thresholds = {{ErrorClass::RateLimit, 3}},
                      .failure_ratio = 1e-9,
                      .minimum_throughput = INT_MAX,
                      .clock = clock}};
    for (int i = 0; i < 1000; ++i) REQUIRE_FALSE(fail_once(b).has_value());
    CHECK(b.state() == CircuitState::Closed);
    CHECK_FALSE(fail_once(b, ErrorClass::RateLimit).has_value());
    CHECK_FALSE(fail_once(b, ErrorClass::RateLimit).has_value());
    CHECK(fail_once(b, ErrorClass::RateLimit) == opened);
}

// ---------------------------------------------------------------------------------------------
// Extreme durations and clock readings

namespace {

using Rep = Duration::rep;
constexpr Rep rep_max = std::numeric_limits<Rep>::max();
constexpr Rep rep_min = std::numeric_limits<Rep>::min();

TimePoint at(Rep ns) { return TimePoint{Duration{ns}}; }

constexpr Rep year = 8766LL * 3'600'000'000'000LL;  // 365.25 days

// The clock origins of the long-uptime tests: a clock that starts at 0 (reads 0 at first),
// after an hour, 80 days, 5 years, and 290 years (2.27 years short of the int64 limit).
const std::vector<std::pair<std::string, TimePoint>> uptime_origins{
    {"0", at(0)},
    {"1 h", TimePoint{1h}},
    {"80 days", TimePoint{std::chrono::hours(80 * 24)}},
    {"5 years", at(5 * year)},
    {"290 years", at(290 * year)},
};

// Wider still, for the overflow sweeps: negative readings (a user clock may produce them) and
// both ends of the representable range.
const std::vector<Rep> extreme_origins{rep_min, rep_min + 1, -290 * year, -3'600'000'000'000LL, -1, 0, 1,
                                       3'600'000'000'000LL, 80LL * 24 * 3'600'000'000'000LL, 5 * year,
                                       290 * year, rep_max - 1, rep_max};

// Advances `clock` by `ns` nanoseconds, which may exceed Duration::max() (two steps then).
void advance_by(const ManualClock& clock, std::uint64_t ns) {
    while (ns > 0) {
        const auto step = ns > static_cast<std::uint64_t>(rep_max) ? static_cast<std::uint64_t>(rep_max) : ns;
        clock.advance(Duration{static_cast<Rep>(step)});
        ns -= step;
    }
}

// Nanoseconds from `t` to the end of the range (how far a clock at `t` can still advance).
std::uint64_t room_after(Rep t) { return static_cast<std::uint64_t>(rep_max) - static_cast<std::uint64_t>(t); }

}  // namespace

TEST_CASE("window up to Duration::max() decides exactly at every clock origin, without overflow") {
    const std::vector<Rep> windows{1, 1'000'000'000, 3'600'000'000'000LL, 100 * year, rep_max / 2, rep_max - 1, rep_max};
    for (const Rep origin : extreme_origins) {
        const auto room = room_after(origin);
        for (const Rep w : windows) {
            const auto uw = static_cast<std::uint64_t>(w);
            for (const std::uint64_t gap : {std::uint64_t{0}, uw - 1, uw, uw + 1, room}) {
                if (gap > room) continue;
                INFO("origin " << origin << " ns, window " << w << " ns, gap " << gap << " ns");
                ManualClock clock{at(origin)};
                CircuitBreaker b{{.failure_threshold = 2, .window = Duration{w}, .clock = clock}};
                REQUIRE_FALSE(fail_once(b).has_value());
                advance_by(clock, gap);
                const auto t = fail_once(b);
                // The first failure still counts exactly while it is less than a window old.
                CHECK(t.has_value() == (gap < uw));
            }
        }
    }
}

TEST_CASE("recovery_timeout up to Duration::max() decides exactly at every clock origin, without overflow") {
    const std::vector<Rep> timeouts{0, 1, 3'600'000'000'000LL, 100 * year, rep_max - 1, rep_max};
    for (const Rep origin : extreme_origins) {
        const auto room = room_after(origin);
        for (const Rep r : timeouts) {
            const auto ur = static_cast<std::uint64_t>(r);
            for (const std::uint64_t gap : {std::uint64_t{0}, ur == 0 ? 0 : ur - 1, ur, ur + 1, room}) {
                if (gap > room) continue;
                INFO("origin " << origin << " ns, recovery_timeout " << r << " ns, gap " << gap << " ns");
                ManualClock clock{at(origin)};
                CircuitBreaker b{{.failure_threshold = 1, .recovery_timeout = Duration{r}, .clock = clock}};
                REQUIRE(fail_once(b) == opened);
                advance_by(clock, gap);
                const auto p = b.allow();
                CHECK(p.probe == (gap >= ur));
                CHECK(p.transition == (gap >= ur ? half_open : rejected_open));
            }
        }
    }
}

TEST_CASE("ratio mode buckets stay exact at every clock origin and window size") {
    const std::vector<Rep> windows{1, 32, 33, 1'000'000'000, 3'600'000'000'000LL, 100 * year, rep_max};
    for (const Rep origin : extreme_origins) {
        const auto room = room_after(origin);
        for (const Rep w : windows) {
            const auto width = static_cast<std::uint64_t>(w / 32 + (w % 32 != 0 ? 1 : 0));
            // A call counts while fewer than 32 buckets have started since its own: surely
            // within 31 widths, never from 32 on (see docs/circuit_breaker.md, "Ratio mode").
            const std::uint64_t counted = 30 * width;
            const std::uint64_t forgotten = 32 * width;
            for (const std::uint64_t gap : {std::uint64_t{0}, counted, forgotten, room}) {
                if (gap > room) continue;
                INFO("origin " << origin << " ns, window " << w << " ns, gap " << gap << " ns");
                ManualClock clock{at(origin)};
                CircuitBreaker b{{.window = Duration{w}, .failure_ratio = 0.5, .minimum_throughput = 2, .clock = clock}};
                const auto p = b.allow();
                REQUIRE_FALSE(b.record_success(p).has_value());
                advance_by(clock, gap);
                // 1 of 2 calls when the success still counts (opens); else 1 of 1, below throughput.
                const auto t = fail_once(b);
                if (gap <= counted) CHECK(t == opened);
                if (gap >= forgotten) CHECK_FALSE(t.has_value());
            }
            // A lone failure at ratio 1 with throughput 1 opens at once, wherever the clock is.
            ManualClock clock{at(origin)};
            CircuitBreaker one{{.window = Duration{w}, .failure_ratio = 1.0, .minimum_throughput = 1, .clock = clock}};
            CHECK(fail_once(one) == opened);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Long uptime: one script at clock origins from 0 to 290 years

namespace {

// One character per step: allow gave A (admitted), P (probe; h follows when it reported
// circuit_half_open), R (rejected open) or r (rejected half-open); a report gave - (nothing),
// O (circuit_opened) or C (circuit_closed). Steps are separated by spaces.
class Script {
public:
    explicit Script(TimePoint origin) : clock_(origin) {}
    const ManualClock& clock() const { return clock_; }

    BreakerPermit ask(CircuitBreaker& b) {
        const auto p = b.allow();
        out_ += ' ';
        if (!p.allowed) {
            out_ += p.transition == rejected_open ? "R" : p.transition == rejected_half_open ? "r" : "?";
        } else if (p.probe) {
            out_ += p.transition == half_open ? "Ph" : p.transition ? "?" : "P";
        } else {
            out_ += p.transition ? "?" : "A";
        }
        return p;
    }
    void told(const std::optional<BreakerTransition>& t) {
        out_ += !t ? "-" : *t == opened ? "O" : *t == closed ? "C" : "?";
    }
    // The report of a permit asked for earlier, as a step of its own.
    void later(const std::optional<BreakerTransition>& t) {
        out_ += ' ';
        told(t);
    }
    void fail(CircuitBreaker& b, ErrorClass k = ErrorClass::Transient) {
        const auto p = ask(b);
        if (p.allowed) told(b.record_failure(k, p));
    }
    void succeed(CircuitBreaker& b) {
        const auto p = ask(b);
        if (p.allowed) told(b.record_success(p));
    }
    void advance(Duration d) { clock_.advance(d); }
    void mark(const char* section) { (out_ += " | ") += section; }
    void append(const std::string& steps) { out_ += steps; }
    const std::string& text() const { return out_; }

private:
    ManualClock clock_;
    std::string out_;
};

std::string uptime_script(TimePoint origin) {
    Script s{origin};
    s.mark("count");
    {
        CircuitBreaker b{{.failure_threshold = 3,
                          .window = 10s,
                          .recovery_timeout = 30s,
                          .class_thresholds = {{ErrorClass::RateLimit, 2}},
                          .clock = s.clock()}};
        s.fail(b);  // t = 0
        s.advance(5s);
        s.fail(b);  // 5
        s.advance(5s);
        s.fail(b);  // 10: the first is exactly one window old, forgotten
        s.advance(4s);
        s.fail(b);  // 14: 5, 10, 14 open it
        s.advance(29s);
        s.fail(b);  // rejected: 29 s of 30
        s.advance(1s);
        const auto probe = s.ask(b);
        s.fail(b);  // rejected while the probe runs
        s.later(b.record_failure(ErrorClass::ServerError, probe));  // reopens
        s.advance(30s - 1ns);
        s.fail(b);  // rejected, 1 ns early
        s.advance(1ns);
        s.succeed(b);  // the probe closes it
        s.mark("class");
        s.fail(b, ErrorClass::RateLimit);
        s.advance(10s - 1ns);
        s.fail(b, ErrorClass::RateLimit);  // 2 rate limits within 10 s
        s.advance(30s);
        const auto cancelled = s.ask(b);
        s.later(b.record_cancel(cancelled));
        s.fail(b, ErrorClass::Auth);  // the next call probes; outside trip_on: closes
        s.fail(b, ErrorClass::RateLimit);
        s.advance(10s);
        s.fail(b, ErrorClass::RateLimit);  // the first is forgotten
        s.advance(10s);
        s.fail(b);  // 3 within 20 s, not 10
        s.succeed(b);
        s.fail(b, ErrorClass::ServerError);  // RateLimit at 10, Transient and ServerError at 20
        s.advance(1ns);
        s.fail(b);  // the rate limit at 10 is now older than the window; three at 20 remain
    }
    s.mark("long");
    {
        const Duration eighty_days = std::chrono::hours(80 * 24);
        CircuitBreaker b{{.failure_threshold = 2, .window = eighty_days, .recovery_timeout = eighty_days, .clock = s.clock()}};
        s.fail(b);
        s.advance(eighty_days - 1ns);
        s.fail(b);  // opens
        s.advance(eighty_days - 1ns);
        s.fail(b);  // rejected
        s.advance(1ns);
        s.succeed(b);  // probe closes
        s.fail(b);
        s.advance(eighty_days);
        s.fail(b);  // exactly a window apart: no
    }
    s.mark("ratio");
    {
        // A fresh clock at the origin itself: buckets are whole seconds (window 32 s), so the
        // script sees the same bucket boundaries at every origin that is a whole second.
        Script r{origin};
        CircuitBreaker b{{.window = 32s, .recovery_timeout = 5s, .failure_ratio = 0.5, .minimum_throughput = 4, .clock = r.clock()}};
        for (int i = 0; i < 3; ++i) r.succeed(b);
        r.fail(b);                         // 1 of 4
        r.fail(b);                         // 2 of 5
        r.fail(b, ErrorClass::Permanent);  // a call, not a failure: 2 of 6
        r.fail(b);                         // 3 of 7
        r.fail(b);                         // 4 of 8: opens
        r.advance(4s);
        r.fail(b);  // rejected
        r.advance(1s);
        r.succeed(b);  // the probe closes it, counts cleared
        for (int i = 0; i < 4; ++i) r.succeed(b);
        r.advance(31s);
        r.fail(b);  // the 4 successes still count: 1 of 5
        r.advance(1s);
        r.fail(b);  // now they are 32 buckets old, forgotten: 2 of 2, below throughput
        r.fail(b);  // 3 of 3
        r.fail(b);  // 4 of 4: opens
        s.append(r.text());
    }
    return s.text();
}

}  // namespace

TEST_CASE("long uptime: count, class thresholds, recovery and ratio mode behave identically from 0 to 290 years") {
    const std::string expected =
        " | count A- A- A- AO R Ph r O R PhC | class A- AO Ph - PC A- A- A- A- A- AO"
        " | long A- AO R PhC A- A- | ratio A- A- A- A- A- A- A- AO R PhC A- A- A- A- A- A- A- AO";
    for (const auto& [name, origin] : uptime_origins) {
        INFO("clock origin " << name);
        CHECK(uptime_script(origin) == expected);
    }
    // Negative readings too (a user clock may start below zero).
    CHECK(uptime_script(at(-290 * year)) == expected);
    CHECK(uptime_script(at(-3'600'000'000'000LL)) == expected);
}

// ---------------------------------------------------------------------------------------------
// Property: against a reference model, over random options, clock origins and sequences

namespace {

// The breaker as the docs describe it, written plainly: the log of every trip_on failure
// recorded since the breaker last closed, and the window/threshold rule applied to it.
class Model {
public:
    enum Phase { Closed, Open, Probing, HalfOpenIdle };

    Model(Rep window, Rep recovery, int threshold, ErrorClassSet trip_on, std::optional<int> class_n)
        : window_(window), recovery_(recovery), threshold_(threshold), trip_on_(trip_on), class_n_(class_n) {
        if (class_n_) trip_on_.insert(class_k);
    }

    static constexpr ErrorClass class_k = ErrorClass::RateLimit;

    struct Allow {
        bool allowed;
        bool probe;
        std::optional<BreakerTransition> transition;
    };

    Allow allow(Rep now) {
        switch (phase_) {
            case Closed: return {true, false, std::nullopt};
            case Probing: return {false, false, rejected_half_open};
            case HalfOpenIdle: phase_ = Probing; return {true, true, std::nullopt};
            case Open:
                if (now - opened_at_ < recovery_) return {false, false, rejected_open};
                phase_ = Probing;
                return {true, true, half_open};
        }
        return {};
    }

    std::optional<BreakerTransition> success(bool probe) {
        if (probe) return close();
        return std::nullopt;
    }

    // A failure of `k` reported now. A probe reopens (trip_on) or closes. A closed-state
    // trip_on failure is logged, and opens the breaker exactly when a count within the window
    // reaches its threshold: never below it, always at it. `why` gets the counts.
    std::optional<BreakerTransition> failure(ErrorClass k, bool probe, Rep now, std::string& why) {
        if (static_cast<unsigned>(k) >= 8) k = ErrorClass::Unknown;
        const bool trips = trip_on_.contains(k);
        if (probe) return trips ? open(now) : close();
        if (phase_ != Closed || !trips) return std::nullopt;
        all_.push_back(now);
        if (k == class_k && class_n_) own_.push_back(now);
        const int in_all = in_window(all_, now);
        const int in_own = k == class_k && class_n_ ? in_window(own_, now) : 0;
        why = "trip_on failures within the window: " + std::to_string(in_all) + " (threshold " +
              std::to_string(threshold_) + "), of the class " + std::to_string(in_own);
        if (in_all >= threshold_ || (class_n_ && in_own >= *class_n_)) return open(now);
        return std::nullopt;
    }

    void cancel(bool probe) {
        if (probe) phase_ = HalfOpenIdle;
    }

    [[nodiscard]] CircuitState state() const {
        return phase_ == Closed ? CircuitState::Closed : phase_ == Open ? CircuitState::Open : CircuitState::HalfOpen;
    }

private:
    // Failures at most `window` - 1 ns old, counted from the newest (the log is in time order).
    [[nodiscard]] int in_window(const std::vector<Rep>& log, Rep now) const {
        int n = 0;
        for (auto it = log.rbegin(); it != log.rend() && now - *it < window_; ++it) ++n;
        return n;
    }
    std::optional<BreakerTransition> open(Rep now) {
        phase_ = Open;
        opened_at_ = now;
        return opened;
    }
    std::optional<BreakerTransition> close() {
        phase_ = Closed;
        all_.clear();
        own_.clear();
        return closed;
    }

    Rep window_;
    Rep recovery_;
    int threshold_;
    ErrorClassSet trip_on_;
    std::optional<int> class_n_;
    Phase phase_ = Closed;
    Rep opened_at_ = 0;
    std::vector<Rep> all_;
    std::vector<Rep> own_;
};

// A duration between 1 and `max` ns, spread evenly over the orders of magnitude.
Rep log_uniform(std::mt19937_64& rng, Rep max) {
    const auto bits = 1 + rng() % 62;
    const auto v = static_cast<Rep>(1 + rng() % (std::uint64_t{1} << bits));
    return v > max ? 1 + static_cast<Rep>(rng() % static_cast<std::uint64_t>(max)) : v;
}

std::string text(const std::optional<BreakerTransition>& t) {
    if (!t) return "nothing";
    return std::string(redress::to_string(t->name)) + "/" + std::string(redress::to_string(t->state));
}

}  // namespace

TEST_CASE("property: the breaker opens exactly when threshold trip_on failures lie within the window") {
    constexpr Rep hour = 3'600'000'000'000LL;
    const std::vector<ErrorClass> pool{ErrorClass::Transient, ErrorClass::ServerError, ErrorClass::RateLimit,
                                       ErrorClass::Transient, ErrorClass::Auth,        ErrorClass::Permanent,
                                       ErrorClass::Unknown,   cls(8),                  cls(40)};
    std::mt19937_64 rng(20240612);
    int runs = 0;
    long openings = 0;
    long closings = 0;
    long counted_failures = 0;
    std::string failure;  // the first disagreement, with everything needed to replay it

    for (int run = 0; run < 300 && failure.empty(); ++run) {
        const Rep window = log_uniform(rng, hour);
        const Rep recovery = rng() % 4 == 0 ? 0 : log_uniform(rng, 2 * hour);
        const int threshold = 1 + static_cast<int>(rng() % 50);
        const std::optional<int> class_n = rng() % 2 == 0 ? std::optional<int>(1 + static_cast<int>(rng() % 50)) : std::nullopt;
        ErrorClassSet trip_on{ErrorClass::Transient, ErrorClass::ServerError};
        if (rng() % 3 == 0) trip_on.insert(ErrorClass::Unknown);
        Rep origin = 0;
        switch (rng() % 4) {
            case 0: origin = uptime_origins[rng() % uptime_origins.size()].second.time_since_epoch().count(); break;
            case 1: origin = -290 * year + static_cast<Rep>(rng() % 1'000'000); break;
            case 2: origin = rep_max - 10'000 * hour; break;  // a run advances by at most 2,400 h
            default: origin = static_cast<Rep>(rng() >> 2) - (Rep{1} << 61); break;
        }

        ManualClock clock{at(origin)};
        CircuitBreakerOptions options{.failure_threshold = threshold,
                                      .window = Duration{window},
                                      .recovery_timeout = Duration{recovery},
                                      .trip_on = trip_on,
                                      .clock = clock};
        if (class_n) options.class_thresholds.set(Model::class_k, *class_n);
        CircuitBreaker b{options};
        Model model{window, recovery, threshold, trip_on, class_n};
        ++runs;

        std::vector<BreakerPermit> held;
        const std::string where = "run " + std::to_string(run) + " (window " + std::to_string(window) + " ns, recovery " +
                                  std::to_string(recovery) + " ns, threshold " + std::to_string(threshold) +
                                  ", class threshold " + (class_n ? std::to_string(*class_n) : "none") +
                                  ", origin " + std::to_string(origin) + " ns)";

        for (int step = 0; step < 600 && failure.empty(); ++step) {
            const auto now = clock.now().time_since_epoch().count();
            const auto roll = rng() % 100;
            if (roll < 25) {
                Rep gap = 0;
                switch (rng() % 8) {
                    case 0: gap = 0; break;
                    case 1: gap = window; break;
                    case 2: gap = window - 1; break;
                    case 3: gap = recovery; break;
                    default: gap = log_uniform(rng, 2 * (window > recovery ? window : recovery)); break;
                }
                clock.advance(Duration{gap});
            } else if (roll < 55 && held.size() < 3) {
                const auto p = b.allow();
                const auto m = model.allow(now);
                if (p.allowed != m.allowed || p.probe != m.probe || p.transition != m.transition) {
                    failure = where + ", step " + std::to_string(step) + ": allow() gave " + text(p.transition) +
                              (p.probe ? " (probe)" : "") + ", the model " + text(m.transition) + (m.probe ? " (probe)" : "");
                }
                held.push_back(p);
            } else if (!held.empty()) {
                const auto i = rng() % held.size();
                const auto permit = held[i];
                held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
                const bool counts = permit.allowed;  // a rejected permit changes nothing, in both
                const auto what = rng() % 10;
                std::optional<BreakerTransition> got;
                std::optional<BreakerTransition> want;
                std::string why;
                std::string report;
                if (what < 3) {
                    report = "success";
                    got = b.record_success(permit);
                    if (counts) want = model.success(permit.probe);
                } else if (what < 9) {
                    const auto k = pool[rng() % pool.size()];
                    report = "failure " + std::to_string(static_cast<int>(k));
                    got = b.record_failure(k, permit);
                    if (counts) want = model.failure(k, permit.probe, now, why);
                    if (counts && !permit.probe && !why.empty()) ++counted_failures;
                } else {
                    report = "cancel";
                    got = b.record_cancel(permit);
                    if (counts) model.cancel(permit.probe);
                }
                if (got != want) {
                    failure = where + ", step " + std::to_string(step) + ": " + report + " gave " + text(got) +
                              ", the model " + text(want) + "; " + why;
                }
                if (got == opened) ++openings;
                if (got == closed) ++closings;
            }
            if (failure.empty() && b.state() != model.state()) {
                failure = where + ", step " + std::to_string(step) + ": state " +
                          std::string(redress::to_string(b.state())) + ", the model " +
                          std::string(redress::to_string(model.state()));
            }
        }
    }
    INFO(failure);
    CHECK(failure.empty());
    INFO("runs " << runs << ", openings " << openings << ", closings " << closings << ", counted failures "
                 << counted_failures);
    // The sequences exercise what they claim to (hundreds of each in practice).
    CHECK(runs == 300);
    CHECK(openings > 300);
    CHECK(closings > 150);
    CHECK(counted_failures > 10000);
}
