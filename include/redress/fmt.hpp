// {fmt} integration: formatters for redress types and one-line event formatting (see
// docs/observability.md).
//
// This is the only redress header that includes {fmt} (9 or later); link `redress::fmt`,
// which brings fmt. The core headers never include it.
//
//   fmt::print("{}\n", redress::ErrorClass::RateLimit);   // RATE_LIMIT
//   fmt::print("{:>12}|\n", redress::CircuitState::Open);  //         open|
//   on_log = [](const redress::Event& e) { fmt::print(stderr, "{}\n", e); };
//   // retry attempt=2 sleep=250ms error_class=TRANSIENT error_type=std::runtime_error cause=exception operation=fetch
//   fmt::print("{}\n", outcome);                           // failed stop_reason=... elapsed=312.457ms
//   fmt::print("{}\n", redress::fmt_duration(outcome.elapsed));  // 312.457ms
//   fmt::print("{}\n", outcome.elapsed);                   // 312456789ns (fmt's chrono formatter)
//   fmt::print("{}\n", breaker.snapshot());                // open since=12s mode=ratio failures=0 ... recovery_timeout=30s
//
// Formatters are defined for redress's own types only. Standard types belong to fmt:
// durations use fmt's chrono formatter (<fmt/chrono.h>, included here so that
// `outcome.elapsed` prints), and `std::optional` is formatted by fmt 10 and later
// (<fmt/std.h>); for fmt 9, which has no std::optional formatter, this header supplies one
// for the redress enums that prints what fmt 10 prints (`optional(SCHEDULED)`, `none`).
#pragma once

#include <chrono>
#include <optional>
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <redress/vocabulary.hpp>
#include <redress/circuit_breaker.hpp>
#include <redress/classification.hpp>
#include <redress/clock.hpp>
#include <redress/detail/wire_enum.hpp>
#include <redress/error_class.hpp>
#include <redress/event.hpp>
#include <redress/outcome.hpp>

/// 1 when {fmt} formats `std::optional` itself (fmt 10.0.0 added `formatter<std::optional<T>>`
/// to <fmt/std.h>); redress then defines no `std::optional` formatter, since a second one
/// would make `fmt::print("{}", outcome.stop_reason)` ambiguous. 0 (fmt 9): redress formats
/// `std::optional<E>` for its own enums `E`. Derived from FMT_VERSION; define it before
/// including this header only for a fmt that differs from its version (a patched fmt 9).
#ifndef REDRESS_FMT_HAS_STD_OPTIONAL
#if FMT_VERSION >= 100000
#define REDRESS_FMT_HAS_STD_OPTIONAL 1
#else
#define REDRESS_FMT_HAS_STD_OPTIONAL 0
#endif
#endif

namespace redress::detail {

/// Writes a duration compactly: the largest exact unit when one fits (`0ms`, `2s`, `250ms`,
/// `40us`, `7ns`), otherwise milliseconds rounded to the microsecond with trailing zeros
/// dropped (`312.457ms`, `1500.5ms`). Never overflows, also for `Duration::max()`.
template <class OutputIt>
OutputIt format_duration_to(OutputIt out, Duration d) {
    constexpr std::int64_t ns_per_us = 1'000;
    constexpr std::int64_t ns_per_ms = 1'000'000;
    constexpr std::int64_t ns_per_s = 1'000'000'000;
    const std::int64_t ns = d.count();
    if (ns == 0) return fmt::format_to(out, "0ms");
    if (ns % ns_per_s == 0) return fmt::format_to(out, "{}s", ns / ns_per_s);
    if (ns % ns_per_ms == 0) return fmt::format_to(out, "{}ms", ns / ns_per_ms);
    if (ns > -ns_per_ms && ns < ns_per_ms) {
        if (ns % ns_per_us == 0) return fmt::format_to(out, "{}us", ns / ns_per_us);
        return fmt::format_to(out, "{}ns", ns);
    }
    // Round to whole microseconds, half away from zero, without adding to `ns` (no overflow).
    std::int64_t us = ns / ns_per_us;
    const std::int64_t rest = ns % ns_per_us;
    if (rest >= ns_per_us / 2) ++us;
    if (rest <= -ns_per_us / 2) --us;
    const std::int64_t whole_ms = us / 1'000;
    std::int64_t frac = us % 1'000;
    if (frac < 0) frac = -frac;
    if (frac == 0) return fmt::format_to(out, "{}ms", whole_ms);
    int digits = 3;
    while (frac % 10 == 0) {
        frac /= 10;
        --digits;
    }
    const std::string_view sign = (us < 0 && whole_ms == 0) ? "-" : "";
    return fmt::format_to(out, "{}{}.{:0{}}ms", sign, whole_ms, frac, digits);
}

/// Writes a tag value as logfmt does: bare when it is a plain word, otherwise in double
/// quotes with `"` and `\` escaped (so `operation=GET /users` stays one field).
template <class OutputIt>
OutputIt format_tag_value_to(OutputIt out, std::string_view value) {
    bool plain = !value.empty();
    for (const char c : value) {
        if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
            plain = false;
            break;
        }
    }
    if (plain) return fmt::format_to(out, "{}", value);
    *out++ = '"';
    for (const char c : value) {
        if (c == '"' || c == '\\') *out++ = '\\';
        *out++ = c;
    }
    *out++ = '"';
    return out;
}

/// Shared `parse` for formatters that take no format specification: `{}` only.
struct NoSpecFormatter {
    constexpr auto parse(fmt::format_parse_context& ctx) -> decltype(ctx.begin()) {
        const auto it = ctx.begin();
        if (it != ctx.end() && *it != '}') throw fmt::format_error("redress formatters take no format spec; use {}");
        return it;
    }
};

}  // namespace redress::detail

// Doxygen cannot place specializations of `fmt::formatter` (their scope is fmt's), so the
// API reference skips them; their comments below are the documentation.
/// @cond
/// Every redress enum formats as its wire value (`RATE_LIMIT`, `retry`, `half_open`) and
/// accepts the string format specification (`{:>12}`, `{:<8}`).
template <redress::detail::WireEnum E>
struct fmt::formatter<E, char> : fmt::formatter<fmt::string_view, char> {
    template <class FormatContext>
    auto format(E value, FormatContext& ctx) const -> decltype(ctx.out()) {
        const std::string_view name = redress::to_string(value);
        return fmt::formatter<fmt::string_view, char>::format(fmt::string_view(name.data(), name.size()), ctx);
    }
    // A wire value is a name, not a string: inside a range or an optional it stays bare
    // (`[TRANSIENT, AUTH]`, `optional(SCHEDULED)`) instead of quoted as strings are. fmt
    // quotes an element when its formatter has set_debug_format (fmt 9 calls it with no
    // argument, fmt 10 with a bool); a deleted one opts out, as fmt's own ostream formatter does.
    void set_debug_format(bool = true) = delete;
};

/// An event as one logfmt-style line: the event name, `attempt`, `sleep` (on `retry`, or
/// when non-zero), then only the tags that are set, in the order error_class, error_type,
/// stop_reason, cause, operation, state, retry_after, trigger, in_flight, and last the event's
/// tags as `key=value`:
/// `retry attempt=2 sleep=250ms error_class=TRANSIENT error_type=std::runtime_error cause=exception operation=fetch`.
template <>
struct fmt::formatter<redress::Event, char> : redress::detail::NoSpecFormatter {
    template <class FormatContext>
    auto format(const redress::Event& e, FormatContext& ctx) const -> decltype(ctx.out()) {
        namespace d = redress::detail;
        auto out = fmt::format_to(ctx.out(), "{} attempt={}", e.name, e.attempt);
        if (e.name == redress::EventName::Retry || e.sleep != redress::Duration::zero()) {
            out = d::format_duration_to(fmt::format_to(out, " sleep="), e.sleep);
        }
        if (e.error_class) out = fmt::format_to(out, " error_class={}", *e.error_class);
        if (!e.error_type.empty()) out = d::format_tag_value_to(fmt::format_to(out, " error_type="), e.error_type);
        if (e.stop_reason) out = fmt::format_to(out, " stop_reason={}", *e.stop_reason);
        if (e.cause) out = fmt::format_to(out, " cause={}", *e.cause);
        if (!e.operation.empty()) out = d::format_tag_value_to(fmt::format_to(out, " operation="), e.operation);
        if (e.state) out = fmt::format_to(out, " state={}", *e.state);
        if (e.retry_after) out = d::format_duration_to(fmt::format_to(out, " retry_after="), *e.retry_after);
        if (e.trigger) out = fmt::format_to(out, " trigger={}", *e.trigger);
        if (e.in_flight) out = fmt::format_to(out, " in_flight={}", *e.in_flight);
        for (const redress::Tag& tag : e.tags)
            out = d::format_tag_value_to(fmt::format_to(out, " {}=", tag.key), tag.value);
        return out;
    }
};

/// A classification as its class, then `retry_after` and `details` when present:
/// `RATE_LIMIT retry_after=2s details="quota exceeded"`.
template <>
struct fmt::formatter<redress::Classification, char> : redress::detail::NoSpecFormatter {
    template <class FormatContext>
    auto format(const redress::Classification& c, FormatContext& ctx) const -> decltype(ctx.out()) {
        namespace d = redress::detail;
        auto out = fmt::format_to(ctx.out(), "{}", c.klass);
        if (c.retry_after) out = d::format_duration_to(fmt::format_to(out, " retry_after="), *c.retry_after);
        if (!c.details.empty()) out = d::format_tag_value_to(fmt::format_to(out, " details="), c.details);
        return out;
    }
};
/// @endcond

namespace redress {

/// The line `fmt::format("{}", event)` gives; handy as an `on_log` body:
/// `.on_log = [](const Event& e) { spdlog::info(redress::format_event(e)); }`.
/// Allocates the returned string; thread-safe (reads only `event`).
[[nodiscard]] inline std::string format_event(const Event& event) { return fmt::format("{}", event); }

/// A duration that fmt prints in redress's compact form; made by `fmt_duration`. A plain
/// value: copy it freely, format it from any thread.
struct CompactDuration {
    Duration value{};  ///< The duration to print.
};

/// Wraps a duration so that fmt prints it as redress's event and outcome lines do:
/// `fmt::print("took {}", redress::fmt_duration(outcome.elapsed))` prints `took 312.457ms`.
/// The text is the largest exact unit when one fits (`0ms`, `2s`, `250ms`, `40us`, `7ns`),
/// otherwise milliseconds rounded to the microsecond (`312.457ms`, `-1.501ms`); it never
/// overflows. The format specification is a string's: fill, alignment, width (`{:>10}`).
/// Any duration that converts to `Duration` without loss is accepted (`std::chrono::seconds`,
/// `milliseconds`, ...). Plain `{}` on a duration is fmt's own chrono formatter instead
/// (`312456789ns`). Free to make; formatting it does not allocate and is thread-safe.
[[nodiscard]] constexpr CompactDuration fmt_duration(Duration d) noexcept { return CompactDuration{d}; }

}  // namespace redress

/// @cond
/// `redress::fmt_duration(d)`: the compact text, padded and aligned as a string would be.
template <>
struct fmt::formatter<redress::CompactDuration, char> {
    constexpr auto parse(fmt::format_parse_context& ctx) -> decltype(ctx.begin()) { return text_.parse(ctx); }

    template <class FormatContext>
    auto format(redress::CompactDuration d, FormatContext& ctx) const -> decltype(ctx.out()) {
        fmt::basic_memory_buffer<char, 32> text;  // the longest text (Duration::min()) is 20 chars
        redress::detail::format_duration_to(fmt::appender(text), d.value);
        return text_.format(fmt::string_view(text.data(), text.size()), ctx);
    }

private:
    fmt::formatter<fmt::string_view, char> text_;
};
/// @endcond

// ==== Outcome and timeline formatters ========================================================

/// @cond
#if !REDRESS_FMT_HAS_STD_OPTIONAL
/// fmt 9 only (fmt 10 and later format std::optional themselves, see
/// REDRESS_FMT_HAS_STD_OPTIONAL): an optional redress enum, as `Outcome::stop_reason` and
/// `Outcome::last_class` are, formats as fmt 10's std::optional formatter would print it,
/// so the text does not change when fmt is upgraded: `optional(SCHEDULED)` or `none`. A
/// format specification applies to the value: `{:>10}` gives `optional( SCHEDULED)`.
template <redress::detail::WireEnum E>
struct fmt::formatter<std::optional<E>, char> {
    constexpr auto parse(fmt::format_parse_context& ctx) -> decltype(ctx.begin()) { return value_.parse(ctx); }

    template <class FormatContext>
    auto format(const std::optional<E>& value, FormatContext& ctx) const -> decltype(ctx.out()) {
        if (!value) return fmt::format_to(ctx.out(), "none");
        ctx.advance_to(fmt::format_to(ctx.out(), "optional("));
        auto out = value_.format(*value, ctx);
        *out++ = ')';
        return out;
    }

private:
    fmt::formatter<E, char> value_;
};
#endif

/// An outcome as one line: `ok attempts=1 elapsed=2ms`, or
/// `failed stop_reason=MAX_ATTEMPTS_GLOBAL attempts=5 last_class=TRANSIENT cause=exception elapsed=1.2s`
/// (`next_sleep=` when a retry was deferred). The value is not printed.
template <class T>
struct fmt::formatter<redress::Outcome<T>, char> : redress::detail::NoSpecFormatter {
    template <class FormatContext>
    auto format(const redress::Outcome<T>& o, FormatContext& ctx) const -> decltype(ctx.out()) {
        namespace d = redress::detail;
        auto out = fmt::format_to(ctx.out(), "{}", o.ok ? "ok" : "failed");
        if (o.stop_reason) out = fmt::format_to(out, " stop_reason={}", *o.stop_reason);
        out = fmt::format_to(out, " attempts={}", o.attempts);
        if (o.last_class) out = fmt::format_to(out, " last_class={}", *o.last_class);
        if (o.cause) out = fmt::format_to(out, " cause={}", *o.cause);
        out = d::format_duration_to(fmt::format_to(out, " elapsed="), o.elapsed);
        if (o.next_sleep) out = d::format_duration_to(fmt::format_to(out, " next_sleep="), *o.next_sleep);
        return out;
    }
};

/// A timeline entry as the event line with its time since the start first:
/// `+250ms retry attempt=1 sleep=250ms error_class=TRANSIENT ...`.
template <>
struct fmt::formatter<redress::TimelineEvent, char> : redress::detail::NoSpecFormatter {
    template <class FormatContext>
    auto format(const redress::TimelineEvent& t, FormatContext& ctx) const -> decltype(ctx.out()) {
        redress::Event e;
        e.name = t.event;
        e.attempt = t.attempt;
        e.sleep = t.sleep;
        e.error_class = t.error_class;
        e.error_type = t.error_type;
        e.stop_reason = t.stop_reason;
        e.cause = t.cause;
        e.operation = t.operation;
        e.state = t.state;
        e.retry_after = t.retry_after;
        e.tags = t.tags.view();
        auto out = redress::detail::format_duration_to(fmt::format_to(ctx.out(), "+"), t.elapsed);
        return fmt::format_to(out, " {}", e);
    }
};

/// A timeline as its entries, one per line.
template <>
struct fmt::formatter<redress::RetryTimeline, char> : redress::detail::NoSpecFormatter {
    template <class FormatContext>
    auto format(const redress::RetryTimeline& timeline, FormatContext& ctx) const -> decltype(ctx.out()) {
        auto out = ctx.out();
        bool first = true;
        for (const auto& entry : timeline.events) {
            if (!first) out = fmt::format_to(out, "\n");
            first = false;
            out = fmt::format_to(out, "{}", entry);
        }
        return out;
    }
};
/// A breaker snapshot as one line: the state (and `isolated`), then `since` (the clock
/// reading, as a duration from the clock's epoch), `mode`, `failures`, `calls` and
/// `failure_ratio` when present, the probes, `openings` and `recovery_timeout`:
/// `closed since=12s mode=ratio failures=3 calls=10 failure_ratio=0.3 probes_in_flight=0
/// probe_successes=0 openings=0 recovery_timeout=30s`; with a store, then `fleet` and
/// `store_unavailable`.
template <>
struct fmt::formatter<redress::BreakerSnapshot, char> : redress::detail::NoSpecFormatter {
    template <class FormatContext>
    auto format(const redress::BreakerSnapshot& s, FormatContext& ctx) const -> decltype(ctx.out()) {
        namespace d = redress::detail;
        auto out = fmt::format_to(ctx.out(), "{}", s.state);
        if (s.isolated) out = fmt::format_to(out, " isolated");
        out = d::format_duration_to(fmt::format_to(out, " since="), s.since.time_since_epoch());
        out = fmt::format_to(out, " mode={} failures={}", s.mode, s.failures);
        if (s.calls) out = fmt::format_to(out, " calls={}", *s.calls);
        if (s.failure_ratio) out = fmt::format_to(out, " failure_ratio={}", *s.failure_ratio);
        out = fmt::format_to(out, " probes_in_flight={} probe_successes={} openings={}", s.probes_in_flight,
                             s.probe_successes, s.openings);
        out = d::format_duration_to(fmt::format_to(out, " recovery_timeout="), s.recovery_timeout);
        if (s.store_unavailable) out = fmt::format_to(out, " fleet={} store_unavailable={}", s.fleet, *s.store_unavailable);
        return out;
    }
};

/// A breaker's state change as one line: `closed -> open reason=failures at=12s`.
template <>
struct fmt::formatter<redress::BreakerStateChange, char> : redress::detail::NoSpecFormatter {
    template <class FormatContext>
    auto format(const redress::BreakerStateChange& c, FormatContext& ctx) const -> decltype(ctx.out()) {
        auto out = fmt::format_to(ctx.out(), "{} -> {} reason={} at=", c.from, c.to, c.reason);
        return redress::detail::format_duration_to(out, c.at.time_since_epoch());
    }
};
/// @endcond
