// spdlog integration: an `on_log` hook that writes one structured line per event (see
// docs/integrations.md, "Logs with spdlog").
//
//   redress::Retry{..., .on_log = redress::contrib::SpdlogHook(spdlog::get("http"))}
//   // [warning] event=retry attempt=1 operation="GET /users" class=SERVER_ERROR sleep_ms=100 cause=exception error_type=redress::ServerError
//
// Link `redress::spdlog`, which brings spdlog (1.10 or later) and the fmt it uses.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>

#include <redress/vocabulary.hpp>
#include <redress/clock.hpp>
#include <redress/event.hpp>

namespace redress::contrib {

namespace detail {

/// Whether a logfmt value must be quoted: empty, or holding a space, `=`, `"`, `\`, a control
/// character or DEL. Other bytes (UTF-8 included) stay bare.
[[nodiscard]] constexpr bool logfmt_needs_quotes(std::string_view value) noexcept {
    if (value.empty()) return true;
    for (const char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f || c == '=' || c == '"' || c == '\\') return true;
    }
    return false;
}

/// Appends ` key=value` in logfmt: the value bare when it is one plain word, otherwise in
/// double quotes with `"` and `\` escaped and control characters written as `\n`, `\r`,
/// `\t` or `\xHH`, so a value never ends the field or the line early.
inline void append_logfmt_field(fmt::memory_buffer& out, std::string_view key, std::string_view value) {
    out.push_back(' ');
    out.append(key);
    out.push_back('=');
    if (!logfmt_needs_quotes(value)) {
        out.append(value);
        return;
    }
    constexpr std::string_view hex = "0123456789abcdef";
    out.push_back('"');
    for (const char c : value) {
        const auto u = static_cast<unsigned char>(c);
        switch (c) {
            case '"': out.append(std::string_view("\\\"")); break;
            case '\\': out.append(std::string_view("\\\\")); break;
            case '\n': out.append(std::string_view("\\n")); break;
            case '\r': out.append(std::string_view("\\r")); break;
            case '\t': out.append(std::string_view("\\t")); break;
            default:
                if (u < 0x20 || u == 0x7f) {
                    const char escaped[] = {'\\', 'x', hex[u >> 4], hex[u & 0xf]};
                    out.append(std::string_view(escaped, sizeof escaped));
                } else {
                    out.push_back(c);
                }
        }
    }
    out.push_back('"');
}

/// Appends ` key=<milliseconds>`: an exact decimal, no trailing zeros (`100`, `1.5`,
/// `0.000001`), so a reader gets a number without units and nothing is rounded away.
inline void append_ms_field(fmt::memory_buffer& out, std::string_view key, Duration d) {
    constexpr std::int64_t ns_per_ms = 1'000'000;
    const std::int64_t ns = d.count();
    // Magnitudes as unsigned, so Duration::min() does not overflow when negated.
    const std::uint64_t magnitude = ns < 0 ? 0 - static_cast<std::uint64_t>(ns) : static_cast<std::uint64_t>(ns);
    std::uint64_t frac = magnitude % ns_per_ms;
    fmt::format_to(fmt::appender(out), " {}={}{}", key, ns < 0 ? "-" : "", magnitude / ns_per_ms);
    if (frac == 0) return;
    int digits = 6;
    while (frac % 10 == 0) {
        frac /= 10;
        --digits;
    }
    fmt::format_to(fmt::appender(out), ".{:0{}}", frac, digits);
}

}  // namespace detail

/// Writes an event's fields as one logfmt line into `out`: `event=retry attempt=2
/// operation=fetch class=TRANSIENT sleep_ms=250 cause=exception error_type=std::runtime_error`.
/// Only the fields that apply appear, always in this order: `event`, `attempt` (not on breaker
/// events, which concern no attempt), `operation` (when named), `class`, `sleep_ms` (on
/// `retry`, on `scheduled` for the deferred sleep, on `hedge_sent` for the delay), `stop_reason`,
/// `cause`, `error_type`, `retry_after_ms`, `state`, `trigger`, `in_flight`. Values with spaces, quotes, `=` or control characters are
/// quoted and escaped (`operation="GET /users/\"1\""`), so the line parses back into the same
/// fields. The event's tags (`Event::tags`: the policy's and the call's) come last, written
/// the same way: `... state=open trace_id=4bf92f35 tenant="acme corp"`.
/// Does not allocate while the line fits the buffer's inline storage (500 bytes).
inline void append_event_fields(fmt::memory_buffer& out, const Event& e) {
    out.append(std::string_view("event="));
    out.append(to_string(e.name));
    if (e.attempt != 0) fmt::format_to(fmt::appender(out), " attempt={}", e.attempt);
    if (!e.operation.empty()) detail::append_logfmt_field(out, "operation", e.operation);
    if (e.error_class) detail::append_logfmt_field(out, "class", to_string(*e.error_class));
    if (e.name == EventName::Retry || e.name == EventName::Scheduled || e.name == EventName::HedgeSent)
        detail::append_ms_field(out, "sleep_ms", e.sleep);
    if (e.stop_reason) detail::append_logfmt_field(out, "stop_reason", to_string(*e.stop_reason));
    if (e.cause) detail::append_logfmt_field(out, "cause", to_string(*e.cause));
    if (!e.error_type.empty()) detail::append_logfmt_field(out, "error_type", e.error_type);
    if (e.retry_after) detail::append_ms_field(out, "retry_after_ms", *e.retry_after);
    if (e.state) detail::append_logfmt_field(out, "state", to_string(*e.state));
    if (e.trigger) detail::append_logfmt_field(out, "trigger", to_string(*e.trigger));
    if (e.in_flight) fmt::format_to(fmt::appender(out), " in_flight={}", *e.in_flight);
    for (const Tag& tag : e.tags) detail::append_logfmt_field(out, tag.key, tag.value);
}

/// The line `append_event_fields` writes, as a string (for loggers other than spdlog).
[[nodiscard]] inline std::string format_event_fields(const Event& e) {
    fmt::memory_buffer out;
    append_event_fields(out, e);
    return fmt::to_string(out);
}

/// How `SpdlogHook` picks a level per event. The defaults:
/// `retry` warn; `success` info after retries and `first_attempt_success` (debug) on the
/// first attempt; `permanent_fail`, `deadline_exceeded`, `max_attempts_exceeded`,
/// `max_unknown_attempts_exceeded`, `no_strategy_configured`, `budget_exhausted` error;
/// `aborted` warn (the caller asked for it); `scheduled` info; `circuit_opened` warn,
/// `circuit_half_open` info, `circuit_closed` info, `circuit_rejected` warn;
/// `budget_backend_unavailable` warn; `hedge_sent` and `hedge_skipped` info.
struct SpdlogOptions {
    /// Levels that replace the defaults, by event: `{{redress::EventName::Retry, spdlog::level::info}}`.
    /// `spdlog::level::off` silences an event. For `Success` the entry is the level of a success
    /// after retries. Keys must be `EventName` values and levels spdlog levels (`trace` to `off`).
    std::map<EventName, spdlog::level::level_enum> levels{};
    /// The level of a `success` on the first attempt, the common case. Default debug, so a
    /// service at info logs only the calls that needed a retry.
    spdlog::level::level_enum first_attempt_success = spdlog::level::debug;
};

/// An `on_log` hook (an `EventHook`) writing each event to an spdlog logger as one line of
/// `key=value` fields (`append_event_fields`), at a level chosen by the event
/// (`SpdlogOptions`). A disabled level costs one comparison: nothing is formatted.
/// Thread-safe when the logger is (spdlog's `_mt` sinks are). Cheap to copy: a logger
/// pointer and a level table, which is what `std::function` stores.
class SpdlogHook {
public:
    /// The number of events, hence of entries in the level table.
    static constexpr std::size_t event_count = all_values<EventName>().size();

    /// Logs to `logger`; a null `logger` (the default) means spdlog's default logger as it is
    /// when each event arrives, so `spdlog::set_default_logger` later still takes effect.
    /// Throws `std::invalid_argument` naming the option for an invalid level or event.
    explicit SpdlogHook(std::shared_ptr<spdlog::logger> logger = nullptr, const SpdlogOptions& options = {})
        : logger_(std::move(logger)), first_attempt_success_(checked_level(options.first_attempt_success,
                                                                           "SpdlogOptions::first_attempt_success")) {
        for (const auto& [event, level] : options.levels) {
            const auto index = static_cast<std::size_t>(event);
            if (index >= event_count)
                throw std::invalid_argument("SpdlogOptions::levels: key " + std::to_string(index) +
                                            " is not an EventName value");
            levels_[index] = checked_level(level, "SpdlogOptions::levels");
        }
    }

    /// Logs `e` (one line) if the logger is enabled for its level. Never throws (spdlog
    /// reports its own sink errors through its error handler).
    void operator()(const Event& e) const noexcept {
        spdlog::logger* logger = logger_ ? logger_.get() : spdlog::default_logger_raw();
        const auto level = level_of(e);
        // spdlog itself would write a message at `off` to a logger at any level.
        if (level == spdlog::level::off || logger == nullptr || !logger->should_log(level)) return;
        try {
            fmt::memory_buffer line;
            append_event_fields(line, e);
            logger->log(level, spdlog::string_view_t(line.data(), line.size()));
        } catch (...) {
            // Only a failed allocation can get here; a log line is not worth failing a call for.
        }
    }

    /// The level `e` is logged at.
    [[nodiscard]] spdlog::level::level_enum level_of(const Event& e) const noexcept {
        if (e.name == EventName::Success && e.attempt <= 1) return first_attempt_success_;
        const auto index = static_cast<std::size_t>(e.name);
        return index < event_count ? levels_[index] : spdlog::level::err;
    }

    /// The logger given at construction (null: the default logger at each event).
    [[nodiscard]] const std::shared_ptr<spdlog::logger>& logger() const noexcept { return logger_; }

private:
    static spdlog::level::level_enum checked_level(spdlog::level::level_enum level, const char* option) {
        if (level < spdlog::level::trace || level > spdlog::level::off)
            throw std::invalid_argument(std::string(option) + ": " + std::to_string(static_cast<int>(level)) +
                                        " is not a spdlog level (trace to off)");
        return level;
    }

    static constexpr std::array<spdlog::level::level_enum, event_count> default_levels() noexcept {
        using enum spdlog::level::level_enum;
        std::array<spdlog::level::level_enum, event_count> levels{};
        const auto set = [&](EventName e, spdlog::level::level_enum l) { levels[static_cast<std::size_t>(e)] = l; };
        set(EventName::Success, info);
        set(EventName::Retry, warn);
        set(EventName::PermanentFail, err);
        set(EventName::DeadlineExceeded, err);
        set(EventName::MaxAttemptsExceeded, err);
        set(EventName::MaxUnknownAttemptsExceeded, err);
        set(EventName::NoStrategyConfigured, err);
        set(EventName::BudgetExhausted, err);
        set(EventName::Scheduled, info);
        set(EventName::Aborted, warn);
        set(EventName::CircuitOpened, warn);
        set(EventName::CircuitHalfOpen, info);
        set(EventName::CircuitClosed, info);
        set(EventName::CircuitRejected, warn);
        set(EventName::BudgetBackendUnavailable, warn);
        set(EventName::HedgeSent, info);
        set(EventName::HedgeSkipped, info);
        return levels;
    }

    std::shared_ptr<spdlog::logger> logger_;
    std::array<spdlog::level::level_enum, event_count> levels_ = default_levels();
    spdlog::level::level_enum first_attempt_success_;
};

}  // namespace redress::contrib
