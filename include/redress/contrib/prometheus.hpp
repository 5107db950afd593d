// Prometheus metrics: an `on_metric` sink that counts events in atomics and renders the
// Prometheus text exposition format (see docs/integrations.md, "Metrics in the Prometheus
// text format"). Standard library only: serve `render()` from your own HTTP handler.
//
//   redress::contrib::PrometheusSink metrics;                  // one per process, shared
//   redress::Retry{..., .on_metric = metrics}                   // a handle: copies share the counters
//   http.get("/metrics", [&] { return reply(200, PrometheusSink::content_type, metrics.render()); });
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include <redress/vocabulary.hpp>
#include <redress/event.hpp>

namespace redress::contrib {

/// The options of a `PrometheusSink`, validated at construction (`std::invalid_argument`
/// naming the option).
struct PrometheusOptions {
    /// The largest `max_operations` accepted (each operation costs about 1.2 KB of counters).
    static constexpr std::size_t max_operations_limit = 10'000;
    /// The most `attempt_buckets` accepted.
    static constexpr std::size_t max_buckets = 32;

    /// Start of every metric name (`redress_events_total`, ...): `[a-zA-Z_][a-zA-Z0-9_]*`.
    std::string prefix = "redress";
    /// Distinct `operation` label values kept, 1 to `max_operations_limit`. Further operation
    /// names are counted under `operation="other"`, which bounds the series a sink can
    /// export. An operation named `other` is counted there too.
    std::size_t max_operations = 100;
    /// Upper bounds (`le`) of the attempts histogram's buckets, strictly increasing, each >= 1,
    /// at most `max_buckets`; `+Inf` is always added.
    std::vector<int> attempt_buckets{1, 2, 3, 4, 5, 6, 8, 10};
};

namespace detail {

/// Appends `value` as a Prometheus label value: `\`, `"` and newline escaped, and byte
/// sequences that are not UTF-8 replaced by U+FFFD (the format is UTF-8; one stray byte in an
/// operation name must not make the whole exposition unreadable).
inline void append_label_value(std::string& out, std::string_view value) {
    const auto* p = reinterpret_cast<const unsigned char*>(value.data());
    const auto* const end = p + value.size();
    while (p < end) {
        const unsigned char c = *p;
        if (c < 0x80) {
            if (c == '\\') out += "\\\\";
            else if (c == '"') out += "\\\"";
            else if (c == '\n') out += "\\n";
            else out += static_cast<char>(c);
            ++p;
            continue;
        }
        // The length of a well-formed sequence starting with `c`, and the range its second
        // byte must fall in (excluding overlong forms, surrogates and code points > U+10FFFF).
        std::size_t length = 0;
        unsigned char lo = 0x80;
        unsigned char hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) {
            length = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            length = 3;
            if (c == 0xe0) lo = 0xa0;
            if (c == 0xed) hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            length = 4;
            if (c == 0xf0) lo = 0x90;
            if (c == 0xf4) hi = 0x8f;
        }
        bool valid = length != 0 && static_cast<std::size_t>(end - p) >= length && p[1] >= lo && p[1] <= hi;
        for (std::size_t i = 2; valid && i < length; ++i) valid = p[i] >= 0x80 && p[i] <= 0xbf;
        if (valid) {
            out.append(reinterpret_cast<const char*>(p), length);
            p += length;
        } else {
            out += "\xef\xbf\xbd";  // U+FFFD REPLACEMENT CHARACTER, for this one byte
            ++p;
        }
    }
}

inline void append_number(std::string& out, std::uint64_t value) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    out.append(digits, end);
}

}  // namespace detail

/// Counts a policy's events for Prometheus, as an `on_metric` hook, and renders them in the
/// text exposition format (`render()`). Three metric families, `redress` being `prefix`:
///
/// * `redress_events_total{operation, event, class}` (counter): every event; `class` only on
///   events that follow a failure.
/// * `redress_stops_total{operation, stop_reason}` (counter): operations that stopped without
///   success, by reason (a call the breaker rejected made no attempt and is counted only as
///   the `circuit_rejected` event).
/// * `redress_operation_attempts{operation}` (histogram): attempts per finished operation,
///   observed on its terminal event (`success`, or an event with a stop reason).
///
/// Thread-safe. The event path is lock-free: every counter an operation can touch is an
/// atomic allocated at construction, indexed by the event's enum values, and incremented
/// with a relaxed `fetch_add` (one to four per event). Operation names map to counter slots
/// through a fixed-size hash table read without locks; only the first event of a new
/// operation name takes a mutex, once, to claim a slot. Once `max_operations` names are
/// known, unknown names go to `other` without locking. Rendering reads the atomics while
/// events keep coming: each value is exact at the moment it is read, and a histogram's
/// buckets and `_count` agree with each other.
///
/// A handle: copies share the counters, so pass the sink itself as `on_metric`.
class PrometheusSink {
public:
    /// The HTTP `Content-Type` of `render()`'s text.
    static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

    /// Allocates every counter for `options.max_operations` operations plus `other` (about
    /// 1.2 KB each). Throws `std::invalid_argument` naming the option when one is invalid.
    explicit PrometheusSink(PrometheusOptions options = {}) : state_(std::make_shared<State>(validated(std::move(options)))) {}

    /// Counts `e`. Lock-free except for the first event of a new operation name (see the
    /// class comment); never throws, never blocks on rendering.
    void operator()(const Event& e) const noexcept {
        State& s = *state_;
        const auto event = static_cast<std::size_t>(e.name);
        if (event >= event_count) return;
        std::size_t klass = class_count;  // the "no class" column
        if (e.error_class) klass = std::min(static_cast<std::size_t>(*e.error_class), class_count);
        std::atomic<std::uint64_t>* counters = s.counters_of(s.slot_of(e.operation));
        counters[event * (class_count + 1) + klass].fetch_add(1, std::memory_order_relaxed);
        if (e.name != EventName::Success && !e.stop_reason) return;
        if (e.stop_reason) {
            const auto reason = static_cast<std::size_t>(*e.stop_reason);
            if (reason < stop_count) counters[stops_offset + reason].fetch_add(1, std::memory_order_relaxed);
        }
        const auto attempts = static_cast<std::uint64_t>(std::max(e.attempt, 0));
        counters[buckets_offset + s.bucket_of(e.attempt)].fetch_add(1, std::memory_order_relaxed);
        counters[s.sum_offset].fetch_add(attempts, std::memory_order_relaxed);
    }

    /// The text exposition format (version 0.0.4) of every counter: `# HELP` and `# TYPE`
    /// for each family, then its series, operations in label order. Series that never
    /// counted are left out. Safe to call while events arrive; allocates the string.
    [[nodiscard]] std::string render() const {
        const State& s = *state_;
        const std::string& prefix = s.options.prefix;

        // (label, slot), sorted by label so the text is stable from one scrape to the next.
        std::vector<std::pair<std::string_view, std::size_t>> slots;
        const std::size_t used = s.slots_used.load(std::memory_order_acquire);
        slots.reserve(used + 1);
        for (std::size_t slot = 0; slot < used; ++slot) slots.emplace_back(s.labels[slot], slot);
        slots.emplace_back(s.labels[s.other_slot()], s.other_slot());
        std::sort(slots.begin(), slots.end());

        std::string out;
        out.reserve(1024 + 256 * slots.size());
        const auto header = [&](std::string_view name, std::string_view type, std::string_view help) {
            out.append("# HELP ").append(prefix).append(name).append(" ").append(help).append("\n");
            out.append("# TYPE ").append(prefix).append(name).append(" ").append(type).append("\n");
        };
        const auto series = [&](std::string_view name, std::string_view label) {
            out.append(prefix).append(name).append("{operation=\"").append(label).append("\"");
        };

        header("_events_total", "counter",
               "Events of redress policies, by operation, event and error class (class only on events that follow a "
               "failure).");
        for (const auto& [label, slot] : slots) {
            const std::atomic<std::uint64_t>* c = s.counters_of(slot);
            for (std::size_t event = 0; event < event_count; ++event) {
                for (std::size_t klass = 0; klass <= class_count; ++klass) {
                    const std::uint64_t n = c[event * (class_count + 1) + klass].load(std::memory_order_relaxed);
                    if (n == 0) continue;
                    series("_events_total", label);
                    out.append(",event=\"").append(to_string(static_cast<EventName>(event))).append("\"");
                    if (klass < class_count)
                        out.append(",class=\"").append(to_string(static_cast<ErrorClass>(klass))).append("\"");
                    out.append("} ");
                    detail::append_number(out, n);
                    out += '\n';
                }
            }
        }

        header("_stops_total", "counter", "Operations that stopped without success, by operation and stop reason.");
        for (const auto& [label, slot] : slots) {
            const std::atomic<std::uint64_t>* c = s.counters_of(slot);
            for (std::size_t reason = 0; reason < stop_count; ++reason) {
                const std::uint64_t n = c[stops_offset + reason].load(std::memory_order_relaxed);
                if (n == 0) continue;
                series("_stops_total", label);
                out.append(",stop_reason=\"").append(to_string(static_cast<StopReason>(reason))).append("\"} ");
                detail::append_number(out, n);
                out += '\n';
            }
        }

        header("_operation_attempts", "histogram",
               "Attempts per finished operation (a success, or a stop with a reason), by operation.");
        const auto& bounds = s.options.attempt_buckets;
        std::vector<std::uint64_t> counts(bounds.size() + 1);
        for (const auto& [label, slot] : slots) {
            const std::atomic<std::uint64_t>* c = s.counters_of(slot);
            // One snapshot of the buckets: the cumulative values and _count come from it, so
            // they agree even while events arrive.
            std::uint64_t total = 0;
            for (std::size_t b = 0; b < counts.size(); ++b) {
                counts[b] = c[buckets_offset + b].load(std::memory_order_relaxed);
                total += counts[b];
            }
            if (total == 0) continue;
            const std::uint64_t sum = c[s.sum_offset].load(std::memory_order_relaxed);
            std::uint64_t cumulative = 0;
            for (std::size_t b = 0; b < counts.size(); ++b) {
                cumulative += counts[b];
                series("_operation_attempts_bucket", label);
                out.append(",le=\"");
                if (b < bounds.size()) detail::append_number(out, static_cast<std::uint64_t>(bounds[b]));
                else out.append("+Inf");
                out.append("\"} ");
                detail::append_number(out, cumulative);
                out += '\n';
            }
            series("_operation_attempts_sum", label);
            out.append("} ");
            detail::append_number(out, sum);
            out += '\n';
            series("_operation_attempts_count", label);
            out.append("} ");
            detail::append_number(out, total);
            out += '\n';
        }
        return out;
    }

    /// How many operation names have their own slot (at most `max_operations`).
    [[nodiscard]] std::size_t operations() const noexcept {
        return state_->slots_used.load(std::memory_order_acquire);
    }

    /// The options, as validated.
    [[nodiscard]] const PrometheusOptions& options() const noexcept { return state_->options; }

private:
    static constexpr std::size_t event_count = all_values<EventName>().size();
    static constexpr std::size_t class_count = all_values<ErrorClass>().size();
    static constexpr std::size_t stop_count = all_values<StopReason>().size();
    // One slot's counters: events by (event, class or none), stops by reason, the attempts
    // histogram's buckets (the last one past every bound), then the sum of attempts.
    static constexpr std::size_t stops_offset = event_count * (class_count + 1);
    static constexpr std::size_t buckets_offset = stops_offset + stop_count;

    static PrometheusOptions validated(PrometheusOptions options) {
        const auto& prefix = options.prefix;
        const auto word = [](char c, bool first) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
        };
        bool valid = !prefix.empty();
        for (std::size_t i = 0; valid && i < prefix.size(); ++i) valid = word(prefix[i], i == 0);
        if (!valid)
            throw std::invalid_argument("PrometheusOptions::prefix: \"" + prefix +
                                        "\" is not a metric name ([a-zA-Z_][a-zA-Z0-9_]*)");
        if (options.max_operations < 1 || options.max_operations > PrometheusOptions::max_operations_limit)
            throw std::invalid_argument("PrometheusOptions::max_operations: " + std::to_string(options.max_operations) +
                                        " is outside 1 to " + std::to_string(PrometheusOptions::max_operations_limit));
        const auto& bounds = options.attempt_buckets;
        if (bounds.size() > PrometheusOptions::max_buckets)
            throw std::invalid_argument("PrometheusOptions::attempt_buckets: " + std::to_string(bounds.size()) +
                                        " buckets, at most " + std::to_string(PrometheusOptions::max_buckets));
        for (std::size_t i = 0; i < bounds.size(); ++i) {
            if (bounds[i] < 1 || (i > 0 && bounds[i] <= bounds[i - 1]))
                throw std::invalid_argument("PrometheusOptions::attempt_buckets: bounds must be >= 1 and strictly "
                                            "increasing; entry " + std::to_string(i) + " is " +
                                            std::to_string(bounds[i]));
        }
        return options;
    }

    /// A known operation name and its slot. Immutable once published in the table.
    struct Entry {
        std::string name;
        std::size_t hash;
        std::size_t slot;
    };

    struct State {
        explicit State(PrometheusOptions o)
            : options(std::move(o)),
              sum_offset(buckets_offset + options.attempt_buckets.size() + 1),
              stride(sum_offset + 1),
              counters(std::make_unique<std::atomic<std::uint64_t>[]>(stride * (options.max_operations + 1))),
              table_mask(std::bit_ceil(2 * options.max_operations) - 1),
              table(std::make_unique<std::atomic<const Entry*>[]>(table_mask + 1)),
              labels(std::make_unique<std::string[]>(options.max_operations + 1)) {
            labels[other_slot()] = "other";
            slot_by_label.emplace("other", other_slot());
        }

        [[nodiscard]] std::size_t other_slot() const noexcept { return options.max_operations; }

        [[nodiscard]] std::atomic<std::uint64_t>* counters_of(std::size_t slot) const noexcept {
            return counters.get() + slot * stride;
        }

        [[nodiscard]] std::size_t bucket_of(int attempt) const noexcept {
            const auto& bounds = options.attempt_buckets;
            std::size_t b = 0;
            while (b < bounds.size() && attempt > bounds[b]) ++b;
            return b;
        }

        /// The slot of `name`: a lock-free probe of the table; on a miss, `claim` (once per
        /// name), or `other` without locking when every name slot is taken.
        [[nodiscard]] std::size_t slot_of(std::string_view name) noexcept {
            const std::size_t hash = std::hash<std::string_view>{}(name);
            for (std::size_t i = hash & table_mask;; i = (i + 1) & table_mask) {
                const Entry* entry = table[i].load(std::memory_order_acquire);
                if (entry == nullptr) break;
                if (entry->hash == hash && entry->name == name) return entry->slot;
            }
            if (entries.load(std::memory_order_relaxed) >= options.max_operations) return other_slot();
            return claim(name, hash);
        }

        /// Registers `name` under the mutex: a new slot, or the slot of a name with the same
        /// label (two byte strings the UTF-8 repair makes equal, or `other`).
        std::size_t claim(std::string_view name, std::size_t hash) noexcept {
            try {
                std::lock_guard lock(registration);
                std::size_t i = hash & table_mask;
                for (;; i = (i + 1) & table_mask) {  // another thread may have claimed it meanwhile
                    const Entry* entry = table[i].load(std::memory_order_relaxed);
                    if (entry == nullptr) break;
                    if (entry->hash == hash && entry->name == name) return entry->slot;
                }
                if (entries.load(std::memory_order_relaxed) >= options.max_operations) return other_slot();
                // Everything that can throw comes before the first change a reader can see.
                auto entry = std::make_unique<Entry>(Entry{std::string(name), hash, 0});
                owned.reserve(owned.size() + 1);
                std::string label;
                detail::append_label_value(label, name);
                const std::size_t next = slots_used.load(std::memory_order_relaxed);
                labels[next] = label;  // not read yet: `slots_used` does not cover it
                const auto [known, added] = slot_by_label.emplace(std::move(label), next);
                entry->slot = known->second;
                if (added) slots_used.store(next + 1, std::memory_order_release);  // publishes labels[next]
                table[i].store(entry.get(), std::memory_order_release);            // publishes the entry
                entries.fetch_add(1, std::memory_order_relaxed);
                owned.push_back(std::move(entry));
                return owned.back()->slot;
            } catch (...) {
                return other_slot();  // out of memory: the event still counts, under `other`
            }
        }

        const PrometheusOptions options;
        const std::size_t sum_offset;
        const std::size_t stride;
        const std::unique_ptr<std::atomic<std::uint64_t>[]> counters;
        const std::size_t table_mask;
        const std::unique_ptr<std::atomic<const Entry*>[]> table;
        /// Escaped label of each slot; written once under the mutex before `slots_used` covers it.
        const std::unique_ptr<std::string[]> labels;
        std::atomic<std::size_t> slots_used{0};
        std::atomic<std::size_t> entries{0};
        std::mutex registration;
        std::unordered_map<std::string, std::size_t> slot_by_label;  // guarded by `registration`
        std::vector<std::unique_ptr<Entry>> owned;                   // guarded by `registration`
    };

    std::shared_ptr<State> state_;
};

}  // namespace redress::contrib
