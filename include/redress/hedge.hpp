// Hedge: the hedging component of a policy — when an attempt is slower than usual, start
// another and take whichever answers first (docs/hedging.md). Its options, their validation,
// and the latency ring a percentile trigger learns from.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include <redress/budget.hpp>
#include <redress/clock.hpp>
#include <redress/detail/math.hpp>
#include <redress/detail/message.hpp>
#include <redress/errors.hpp>
#include <redress/vocabulary.hpp>

namespace redress {

/// The hedging component: `Policy{retry, hedge}` or `Policy{retry, breaker, hedge}`. While an
/// attempt runs longer than the hedge's delay, the policy starts another attempt of the same
/// operation (up to `max_hedges` besides the first); the first success wins and the others are
/// asked to stop through their stop token. Every hedge is an attempt: numbered, announced to
/// `on_attempt_start` / `on_attempt_end`, classified, and counted toward `Retry::max_attempts`.
/// Each hedge takes one unit of `budget` (else of `Retry::budget`) and none is sent while the
/// breaker is open or half-open. Runs on `async_call` / `async_execute` with `redress::Task`
/// or `asio::awaitable` (<redress/asio.hpp>), and on `call` / `execute` given an executor
/// (`redress::hedge_on`). An aggregate, written with designated initializers in this order:
/// ```
/// redress::Hedge{.delay = 50ms, .percentile = 0.95, .max_hedges = 1}
/// ```
struct Hedge {
    /// The delay after an attempt's start at which the next hedge is sent; with `percentile`,
    /// the fallback until `min_samples` latencies are known. Must be > 0.
    Duration delay{};
    /// Learn the delay instead: this percentile (e.g. 0.9, 0.95, 0.99) of the latencies of
    /// the policy's recent successful attempts (the last 128). Must be in (0, 1). Default none.
    std::optional<double> percentile{};
    /// The least delay a percentile may give (so a burst of fast answers cannot make every
    /// call a hedged one). Must be >= 0. Default 1 ms.
    Duration min_delay = std::chrono::milliseconds(1);
    /// Successful attempts needed before the percentile is used; until then `delay`. Must be
    /// in [1, 128]. Default 20.
    int min_samples = 20;
    /// Hedges in flight besides the first attempt; must be in [1, 3]. Default 1.
    int max_hedges = 1;
    /// Whether the first non-retryable failure (`Permanent`, `Auth`, `Permission`) ends the
    /// operation while other attempts are still in flight: it is an answer, as a success is.
    /// False waits for the others. Default true.
    bool non_retryable_ends = true;
    /// A budget for hedges alone; when empty, hedges spend from `Retry::budget` (and are not
    /// limited when that is empty too). Default none.
    std::optional<Budget> budget{};
};

/// The delay a policy's hedge would use now, and what set it.
struct HedgeDelay {
    /// How long after an attempt starts the next hedge is sent.
    Duration delay{};
    /// `Fixed` (the `delay` option, or its fallback before `min_samples`) or `Percentile`.
    HedgeTrigger trigger = HedgeTrigger::Fixed;
};

/// The component slot of a policy that does not hedge.
struct NoHedge {};

namespace detail {

/// The most hedges a `Hedge` may keep in flight besides the first attempt.
inline constexpr int max_hedges_cap = 3;

/// The latencies of a policy's recent successful attempts: a lock-free ring of the last 128,
/// shared by every copy of the policy. `record` is two relaxed atomic operations;
/// `percentile` copies the ring and selects (about 1 µs), once per hedged round. Thread-safe:
/// a reader racing writers sees each slot either old or new, which a percentile tolerates.
class LatencyRing {
public:
    static constexpr std::size_t capacity = 128;

    void record(Duration latency) noexcept {
        const std::uint64_t i = next_.fetch_add(1, std::memory_order_relaxed);
        slots_[i % capacity].store(latency.count(), std::memory_order_relaxed);
    }

    /// The `p` percentile (nearest rank) of the recorded latencies; empty below `min_samples`.
    [[nodiscard]] std::optional<Duration> percentile(double p, int min_samples) const noexcept {
        const std::uint64_t recorded = next_.load(std::memory_order_relaxed);
        const std::size_t n = recorded < capacity ? static_cast<std::size_t>(recorded) : capacity;
        if (n == 0 || n < static_cast<std::size_t>(min_samples)) return std::nullopt;
        std::array<Duration::rep, capacity> copy{};
        for (std::size_t i = 0; i < n; ++i) copy[i] = slots_[i].load(std::memory_order_relaxed);
        auto rank = static_cast<std::size_t>(p * static_cast<double>(n));
        if (rank >= n) rank = n - 1;
        select_nth(copy.data(), rank, n);
        return Duration(copy[rank]);
    }

private:
    std::atomic<std::uint64_t> next_{0};
    std::array<std::atomic<Duration::rep>, capacity> slots_{};
};

/// A policy's hedge: its options and, for a percentile trigger, the latencies it learns from.
class HedgeState {
public:
    explicit HedgeState(Hedge options)
        : options_(validated(std::move(options))),
          latencies_(options_.percentile ? std::make_shared<LatencyRing>() : nullptr) {}

    [[nodiscard]] const Hedge& options() const noexcept { return options_; }

    /// The delay of the next hedge: the percentile (not below `min_delay`) once enough
    /// latencies are known, else the fixed `delay`.
    [[nodiscard]] HedgeDelay delay() const noexcept {
        if (latencies_) {
            if (auto p = latencies_->percentile(*options_.percentile, options_.min_samples))
                return {max_of(*p, options_.min_delay), HedgeTrigger::Percentile};
        }
        return {options_.delay, HedgeTrigger::Fixed};
    }

    /// A successful attempt's latency (kept only by a percentile trigger).
    void record(Duration latency) const noexcept {
        if (latencies_) latencies_->record(latency);
    }

private:
    static Hedge validated(Hedge h) {
        if (h.delay <= Duration::zero()) invalid_option("Hedge", "delay", "must be > 0");
        if (h.percentile && !(*h.percentile > 0.0 && *h.percentile < 1.0))
            invalid_option("Hedge", "percentile", "must be in (0, 1), e.g. 0.95 for p95");
        if (h.min_delay < Duration::zero()) invalid_option("Hedge", "min_delay", "must be >= 0");
        if (h.min_samples < 1 || h.min_samples > static_cast<int>(LatencyRing::capacity))
            invalid_option("Hedge", "min_samples", Message{} << "must be in [1, 128] (is " << h.min_samples << ")");
        if (h.max_hedges < 1 || h.max_hedges > max_hedges_cap)
            invalid_option("Hedge", "max_hedges", Message{} << "must be in [1, 3] (is " << h.max_hedges << ")");
        return h;
    }

    Hedge options_;
    std::shared_ptr<LatencyRing> latencies_;
};

}  // namespace detail
}  // namespace redress
