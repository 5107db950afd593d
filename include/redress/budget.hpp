// Budget: a rolling-window cap on retries shared by policies and threads (SPEC §7).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <utility>

#include <redress/clock.hpp>

namespace redress {

/// Settings of a `Budget`: at most `max_retries` retries within any `window`.
struct BudgetOptions {
    /// Retries admitted within any `window`; must be >= 0 (0 admits none). Default 100.
    int max_retries = 100;
    /// The rolling window; must be > 0. Default 60 s.
    Duration window = std::chrono::seconds(60);
    /// The clock; default `std::chrono::steady_clock`.
    AnyClock clock{};
};

namespace detail {

/// The shared state behind `Budget` handles: a lock-free ring of time buckets.
///
/// Time is cut into buckets of `width = ceil(window / 32)`. The current bucket lives in one
/// atomic word `head_ = bucket index << 32 | count`; the 32 buckets before it are in `slots_`,
/// written once when the head moves on (a max-merge, so a late, stale write cannot lower a
/// count) and read-only afterwards. Admission is a compare-exchange on `head_` from the very
/// value the decision was computed on, so two threads can never both take the last retry.
///
/// A retry stays counted until its bucket's end is a whole `window` old: it is forgotten
/// between `window` and `window + width` after it was taken. The budget is therefore
/// conservative (it may refuse up to one bucket's worth of time early) and never over-admits.
/// The first call in a new bucket moves the head (one compare-exchange) and sums the 32 old
/// buckets once (cached); every other call reads the clock, the head and that cached sum.
class BudgetCore {
public:
    static constexpr std::uint32_t buckets = 32;

    explicit BudgetCore(BudgetOptions options) : options_(std::move(options)) {
        if (options_.max_retries < 0)
            throw std::invalid_argument("redress: BudgetOptions::max_retries must be >= 0");
        if (options_.window <= Duration::zero())
            throw std::invalid_argument("redress: BudgetOptions::window must be > 0");
        const auto n = static_cast<Duration::rep>(buckets);
        const auto w = options_.window.count();
        width_ = w / n + (w % n != 0 ? 1 : 0);
        const auto start = bucket_at(options_.clock.now());
        head_.store(pack(start, 0), std::memory_order_relaxed);
        older_sum_.store(pack(start, 0), std::memory_order_relaxed);
        for (auto& s : slots_) s.store(0, std::memory_order_relaxed);  // count 0: contributes nothing
    }

    bool consume(int cost) {
        if (cost < 1) throw std::invalid_argument("redress: Budget::consume: cost must be >= 1");
        const auto max = static_cast<std::int64_t>(options_.max_retries);
        if (cost > max) return false;
        auto c = bucket_at(options_.clock.now());
        auto w = head_.load(std::memory_order_acquire);
        int rereads = 0;
        for (;;) {
            if (ahead(index_of(w), c)) {
                // Another thread read the clock after us and moved the head on: read it again,
                // so the decision is made at a time the head has reached (a monotonic clock
                // gets there at once; a misbehaving one is charged to the head's bucket).
                if (rereads++ < 2) {
                    c = bucket_at(options_.clock.now());
                    w = head_.load(std::memory_order_acquire);
                    continue;
                }
                c = index_of(w);
            }
            if (index_of(w) != c) {
                // Time moved on: the head's bucket becomes an old one, then the head moves to
                // `c` empty. Whoever wins the exchange, the head is then at `c` or later.
                publish(w);
                (void)head_.compare_exchange_strong(w, pack(c, 0), std::memory_order_acq_rel,
                                                    std::memory_order_acquire);
                w = head_.load(std::memory_order_acquire);
                continue;
            }
            // The head is at `c`, so the buckets before it are final: their sum is cached.
            if (older_than(c) + count_of(w) + cost > max) return false;
            if (head_.compare_exchange_weak(w, pack(c, count_of(w) + static_cast<std::uint32_t>(cost)),
                                            std::memory_order_acq_rel, std::memory_order_acquire)) {
                return true;
            }
        }
    }

    [[nodiscard]] int remaining() const {
        auto c = bucket_at(options_.clock.now());
        const auto w = head_.load(std::memory_order_acquire);
        if (ahead(index_of(w), c)) c = index_of(w);
        const auto used = index_of(w) == c ? older_than(c) + count_of(w) : used_at(c, w);
        const auto left = static_cast<std::int64_t>(options_.max_retries) - used;
        return left > 0 ? static_cast<int>(left) : 0;
    }

    [[nodiscard]] const BudgetOptions& options() const noexcept { return options_; }

private:
    static std::uint64_t pack(std::uint32_t index, std::uint32_t count) noexcept {
        return (static_cast<std::uint64_t>(index) << 32) | count;
    }
    static std::uint32_t index_of(std::uint64_t w) noexcept { return static_cast<std::uint32_t>(w >> 32); }
    static std::uint32_t count_of(std::uint64_t w) noexcept { return static_cast<std::uint32_t>(w); }
    /// True when bucket `a` is later than bucket `b` (indices wrap modulo 2^32; buckets far
    /// apart never meet in one decision).
    static bool ahead(std::uint32_t a, std::uint32_t b) noexcept { return static_cast<std::int32_t>(a - b) > 0; }

    [[nodiscard]] std::uint32_t bucket_at(TimePoint t) const noexcept {
        const auto ns = t.time_since_epoch().count();
        auto q = ns / width_;
        if (ns % width_ < 0) --q;
        return static_cast<std::uint32_t>(static_cast<std::uint64_t>(q));
    }

    /// Retries in the 32 buckets before `c`. Only called once the head has reached `c`: those
    /// buckets are then final, so the sum is computed once per bucket and cached (a stale
    /// cache entry only costs a recomputation).
    [[nodiscard]] std::int64_t older_than(std::uint32_t c) const noexcept {
        const auto cached = older_sum_.load(std::memory_order_acquire);
        if (index_of(cached) == c) return count_of(cached);
        std::uint32_t sum = 0;
        for (std::uint32_t back = 1; back <= buckets; ++back) {
            const std::uint32_t k = c - back;
            const auto s = slots_[k % buckets].load(std::memory_order_acquire);
            if (index_of(s) == k) sum += count_of(s);
        }
        older_sum_.store(pack(c, sum), std::memory_order_release);
        return sum;
    }

    /// Retries counted at bucket `c` whatever the head: buckets c-32 .. c. The head `w` may be
    /// one of them and may also have been published already; the larger count is the true one.
    /// (Used by `remaining()` when no call has moved the head to `c` yet.)
    [[nodiscard]] std::int64_t used_at(std::uint32_t c, std::uint64_t w) const noexcept {
        std::int64_t used = 0;
        for (std::uint32_t back = 0; back <= buckets; ++back) {
            const std::uint32_t k = c - back;
            std::uint32_t n = 0;
            if (back > 0) {
                const auto s = slots_[k % buckets].load(std::memory_order_acquire);
                if (index_of(s) == k) n = count_of(s);
            }
            if (index_of(w) == k && count_of(w) > n) n = count_of(w);
            used += n;
        }
        return used;
    }

    /// Records the head's bucket among the old ones. Counts of one bucket only grow and
    /// buckets only move forward, so keeping the larger value makes every write idempotent.
    void publish(std::uint64_t w) noexcept {
        auto& slot = slots_[index_of(w) % buckets];
        auto cur = slot.load(std::memory_order_acquire);
        while ((ahead(index_of(w), index_of(cur)) || (index_of(w) == index_of(cur) && count_of(w) > count_of(cur))) &&
               !slot.compare_exchange_weak(cur, w, std::memory_order_acq_rel, std::memory_order_acquire)) {
        }
    }

    BudgetOptions options_;
    Duration::rep width_ = 1;
    alignas(64) std::atomic<std::uint64_t> head_{0};
    alignas(64) std::array<std::atomic<std::uint64_t>, buckets> slots_{};
    /// `c << 32 | retries in the 32 buckets before c`, for the latest `c` computed.
    mutable std::atomic<std::uint64_t> older_sum_{0};
};

}  // namespace detail

/// A retry budget (SPEC §7): at most `max_retries` retries within any rolling `window`,
/// shared by any number of policies and threads.
///
/// A handle: copies share one budget (hand a copy to every policy that should draw from it);
/// moving copies too, so a handle is never empty. Thread-safe and lock-free.
///
/// Cost: `consume()` reads the clock once and two atomic words, and admits with one
/// compare-exchange; once per bucket (window / 32) a call also sums the 32 old buckets. Time
/// and memory do not depend on `max_retries`; no allocation after construction.
///
/// Granularity: the window is cut into 32 buckets; a retry stays counted until its bucket has
/// wholly left the window, i.e. for between `window` and `window + window / 32`. The budget may
/// thus refuse slightly early, never late: within any interval of length `window`, at most
/// `max_retries` retries are admitted.
class Budget {
public:
    /// Validates `options`: `max_retries >= 0`, `window > 0`; throws `std::invalid_argument`
    /// naming the option.
    explicit Budget(BudgetOptions options) : core_(std::make_shared<detail::BudgetCore>(std::move(options))) {}

    /// `Budget{100, 60s}`: same as `Budget{{.max_retries = 100, .window = 60s}}`.
    Budget(int max_retries, Duration window) : Budget(BudgetOptions{max_retries, window, AnyClock{}}) {}

    /// Copies the handle: both share one budget. Never allocates.
    Budget(const Budget&) = default;
    /// Makes this handle share the other's budget (this one's is released if it was the last).
    Budget& operator=(const Budget&) = default;
    ~Budget() = default;

    /// Takes `cost` retries if the retries inside the window plus `cost` stay within
    /// `max_retries`; returns false (taking nothing) otherwise. Throws `std::invalid_argument`
    /// when `cost < 1`. Const because the handle is: the shared count changes.
    bool consume(int cost = 1) const { return core_->consume(cost); }

    /// Retries that could be taken now (0 when exhausted). A snapshot: other threads may take
    /// them first.
    [[nodiscard]] int remaining() const { return core_->remaining(); }

    /// The validated options.
    [[nodiscard]] const BudgetOptions& options() const noexcept { return core_->options(); }

private:
    std::shared_ptr<detail::BudgetCore> core_;
};

}  // namespace redress
