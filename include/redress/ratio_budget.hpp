// The ratio budget: retries capped at a share of recent requests plus a floor per second (the
// Finagle model; see docs/budgets.md, "Ratio budget"). Build it as
// `redress::Budget(redress::RatioBudgetOptions{...})`; <redress/budget.hpp> includes this header.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <utility>

#include <redress/budget.hpp>
#include <redress/clock.hpp>
#include <redress/detail/attributes.hpp>
#include <redress/detail/math.hpp>
#include <redress/errors.hpp>

namespace redress {

/// Settings of a ratio budget: within any `ttl`, at most `ratio` × the requests of that `ttl`
/// plus `min_retries_per_second` × `ttl` retries. The defaults are Finagle's `RetryBudget()`.
struct RatioBudgetOptions {
    /// Retries allowed per request: 0.2 lets one request in five be retried. In [0, 1000]
    /// (Finagle's range), taken to the nearest millionth. Default 0.2.
    double ratio = 0.2;
    /// How long a request (and a retry) counts; must be > 0. Default 10 s.
    Duration ttl = std::chrono::seconds(10);
    /// The floor: retries allowed per second of `ttl` whatever the traffic, for a client that
    /// has just started or sends few requests. >= 0, and `min_retries_per_second` × `ttl` at
    /// most INT_MAX retries; the product is taken to the nearest millionth. Default 10.
    double min_retries_per_second = 10.0;
    /// The clock; default `std::chrono::steady_clock`.
    AnyClock clock{};
};

namespace detail {

/// The shared state behind a ratio budget: lock-free, a fixed ring of time buckets.
///
/// Time is cut into buckets of `width = ceil(ttl / 32)`, numbered as the window budget's
/// (`bucket_of`). Requests and retries are kept as running totals, so a window's count is a
/// difference of two totals:
/// * `requests_`: every `record_request()` adds one (a relaxed add; the clock only now and
///   then, see `catch_up`);
/// * `head_` = `version << 40 | frozen bit | retries total` (mod 2^39): a retry is admitted by
///   one compare-exchange from the very value the decision was computed on;
/// * `bucket_[version & 1]`: the head's bucket; `bucket_[(version + 1) & 1]` the next one;
/// * `opened_[k % 64]`: both totals when bucket `k` opened (the head moved to it or past it),
///   tagged with the version of that move.
///
/// A decision in the head's bucket `h` counts the retries since bucket `h - 32` opened (33
/// buckets, at least `ttl`: a retry stays counted between `ttl` and `ttl + width`) and the
/// requests since bucket `h - m` opened, where `m = floor(ttl / width) - 1` (at most `ttl`: a
/// request counts for between `ttl - 2 width` and `ttl`, and `ttl - width` to `ttl` when 32
/// divides `ttl`). Both err on the safe side, so the budget never over-admits.
///
/// Moving the head (by whichever call first reads a later bucket; every step idempotent, and a
/// call meeting a frozen head completes the move, as in the window budget): freeze the head
/// (its retries total is then final), choose the next bucket, read the requests total, write
/// both totals into the slots of every bucket from the old head (excluded) to the new one, and
/// unfreeze with the next version. A request is credited to the head in place when its add
/// lands: never to a bucket that began after it returned (the next bucket is chosen from a
/// clock read made before the requests total is read), possibly to an earlier one (it is then
/// forgotten early; `catch_up` bounds how often).
///
/// A template only so that it can be compiled once (in redress::compiled) under separate
/// compilation; `RatioBudgetCore` is the one instantiation.
template <class = void>
class BasicRatioBudgetCore final : public BudgetBackend {
public:
    static constexpr std::uint64_t buckets = 32;  ///< buckets per `ttl`

    explicit BasicRatioBudgetCore(RatioBudgetOptions options) : options_(std::move(options)) {
        validate();
        const auto ttl = options_.ttl.count();
        width_ = bucket_width(ttl, static_cast<Duration::rep>(buckets));
        request_span_ = static_cast<std::uint64_t>(ttl / width_) - 1;
        ratio_ = static_cast<std::uint64_t>(llround(options_.ratio * 1e6));
        floor_ = static_cast<std::uint64_t>(
            llround(options_.min_retries_per_second * static_cast<double>(ttl) / 1e3));
        const auto first = bucket_of(now(), width_).bucket;
        bucket_[0].store(first, std::memory_order_relaxed);
        bucket_[1].store(first > 0 ? first - 1 : 0, std::memory_order_relaxed);  // "not chosen": <= bucket_[0]
        // Buckets before the first opened with both totals at 0; the tag matches no move yet.
        for (auto& s : opened_) {
            s.requests.store(pack(version_mask, 0), std::memory_order_relaxed);
            s.retries.store(pack(version_mask, 0), std::memory_order_relaxed);
        }
    }

    BudgetVerdict consume(int cost) override {
        if (cost < 1) throw std::invalid_argument("redress: Budget::consume: cost must be >= 1");
        // Requests are read before the clock: none recorded after this decision's time counts.
        const std::uint64_t requests = requests_.load(std::memory_order_acquire);
        std::uint64_t tick = bucket_of(now(), width_).bucket;
        for (;;) {
            std::uint64_t h = 0;
            const auto w = head_at(tick, h);
            if (tick < h) {
                // Another thread read the clock later and moved the head on: read it again, so
                // the decision is made at the time of this thread's own reading, however often
                // the head moves meanwhile (as the window budget). Only a clock that still
                // reads behind the head (not monotonic across threads) is charged to it.
                const std::uint64_t again = bucket_of(now(), width_).bucket;
                if (again >= h) {
                    tick = again;
                    continue;
                }
                tick = h;
            }
            const Window win = window(w, h, h, requests);
            if (head_.load(std::memory_order_acquire) != w) continue;  // the slots read may be a later move's
            if (win.used + static_cast<std::uint64_t>(cost) > win.allowed) return BudgetVerdict::Refused;
            auto expected = w;
            if (head_.compare_exchange_weak(expected, add_retries(w, static_cast<std::uint64_t>(cost)),
                                            std::memory_order_acq_rel, std::memory_order_acquire))
                return BudgetVerdict::Admitted;
        }
    }

    /// One relaxed add, and two relaxed loads that say whether the clock is due a look (see
    /// `catch_up`).
    // User-provided (not defaulted), so that separate compilation compiles it once with the
    // other members instead of in every translation unit that destroys one.
    ~BasicRatioBudgetCore() override {}

    void record_request() noexcept override {
        if (requests_.load(std::memory_order_relaxed) >= next_check_.load(std::memory_order_relaxed)) [[unlikely]]
            catch_up();
        requests_.fetch_add(1, std::memory_order_relaxed);
    }

    [[nodiscard]] bool counts_requests() const noexcept override { return true; }

    /// Retries that could be taken now. Reads without moving the head (it only completes a
    /// move another call has started).
    [[nodiscard]] int remaining() const override {
        const std::uint64_t requests = requests_.load(std::memory_order_acquire);
        const std::uint64_t tick = bucket_of(now(), width_).bucket;
        for (;;) {
            const auto w = head_.load(std::memory_order_acquire);
            if (is_frozen(w)) {
                help(w, tick);
                continue;
            }
            const auto h = bucket_[version_of(w) & 1].load(std::memory_order_acquire);
            const Window win = window(w, h, tick > h ? tick : h, requests);
            if (head_.load(std::memory_order_acquire) != w) continue;
            return win.used >= win.allowed ? 0 : static_cast<int>(win.allowed - win.used);
        }
    }

    [[nodiscard]] const RatioBudgetOptions& options() const noexcept { return options_; }

private:
    void validate() const {
        const double r = options_.ratio;
        if (!(r >= 0.0 && r <= 1000.0))  // (NaN fails both)
            invalid_option("RatioBudgetOptions", "ratio", "must be in [0, 1000]");
        if (options_.ttl <= Duration::zero()) invalid_option("RatioBudgetOptions", "ttl", "must be > 0");
        const double m = options_.min_retries_per_second;
        if (!(m >= 0.0 && is_finite(m)))
            invalid_option("RatioBudgetOptions", "min_retries_per_second", "must be finite and >= 0");
        if (m * std::chrono::duration<double>(options_.ttl).count() > static_cast<double>(INT_MAX))
            invalid_option("RatioBudgetOptions", "min_retries_per_second",
                           "times ttl must be at most INT_MAX retries");
    }

    [[nodiscard]] Duration::rep now() const { return options_.clock.now().time_since_epoch().count(); }

    /// The unfrozen head, moved on to bucket `tick` first if it is behind; `h` its bucket.
    std::uint64_t head_at(std::uint64_t tick, std::uint64_t& h) const noexcept {
        for (;;) {
            const auto w = head_.load(std::memory_order_acquire);
            if (is_frozen(w)) {
                help(w, tick);
                continue;
            }
            h = bucket_[version_of(w) & 1].load(std::memory_order_acquire);
            if (tick <= h) return w;
            freeze(w, tick);
        }
    }

    /// A request is credited to the head's bucket, so the head must follow the clock even when
    /// no retry moves it: each of the first 16 requests of a bucket reads the clock (and moves
    /// the head on), then one request in every `n / 8` where `n` is the bucket's count so far,
    /// and at least one in 64. So at a bucket change or after an idle period at most `n / 8`
    /// (and at most 64) requests can be credited to an earlier bucket and forgotten early,
    /// never late; a bucket of up to 16 requests is credited exactly.
    void catch_up() noexcept {
        try {
            std::uint64_t h = 0;
            (void)head_at(bucket_of(now(), width_).bucket, h);
            const auto total = requests_.load(std::memory_order_acquire);
            const auto in_bucket =
                (total - opened_[h % ring].requests.load(std::memory_order_acquire)) & requests_mask;
            const std::uint64_t step = in_bucket < 16 ? 1 : in_bucket / 8 < check_every ? in_bucket / 8 : check_every;
            next_check_.store(total + step, std::memory_order_relaxed);
        } catch (...) {
            // A clock that throws: the request is credited to the head as it is.
        }
    }

    // Words: a 24-bit version above 40 bits of payload. The head: a frozen bit and the
    // retries total mod 2^39; a slot: a total mod 2^40 (requests) or 2^39 (retries).
    static constexpr unsigned version_shift = 40;
    static constexpr std::uint64_t version_mask = (std::uint64_t{1} << 24) - 1;
    static constexpr std::uint64_t frozen_bit = std::uint64_t{1} << 39;
    static constexpr std::uint64_t retries_mask = frozen_bit - 1;
    static constexpr std::uint64_t requests_mask = (std::uint64_t{1} << version_shift) - 1;
    static constexpr std::uint64_t ring = 64;
    static constexpr std::uint64_t check_every = 64;  ///< requests between clock reads, at most

    static std::uint64_t pack(std::uint64_t version, std::uint64_t payload) noexcept {
        return (version << version_shift) | (payload & requests_mask);
    }
    static std::uint64_t version_of(std::uint64_t w) noexcept { return w >> version_shift; }
    static std::uint64_t retries_of(std::uint64_t w) noexcept { return w & retries_mask; }
    static bool is_frozen(std::uint64_t w) noexcept { return (w & frozen_bit) != 0; }
    static std::uint64_t add_retries(std::uint64_t w, std::uint64_t n) noexcept {
        return (w & ~retries_mask) | ((retries_of(w) + n) & retries_mask);
    }

    /// What a decision at bucket `at` (>= the head's bucket `h`) sees.
    struct Window {
        std::uint64_t used;     ///< retries counted
        std::uint64_t allowed;  ///< the bound for the requests counted
    };
    /// The window of bucket `at`, with the head `w` in bucket `h` and `requests` recorded.
    /// Everything recorded so far belongs to buckets up to `h`, so a window that starts after
    /// `h` counts nothing.
    [[nodiscard]] Window window(std::uint64_t w, std::uint64_t h, std::uint64_t at, std::uint64_t requests) const {
        const auto back = [at](std::uint64_t n) { return at > n ? at - n : 0; };
        const std::uint64_t r0 = back(buckets);
        const std::uint64_t used =
            r0 > h ? 0
                   : (retries_of(w) - opened_[r0 % ring].retries.load(std::memory_order_acquire)) & retries_mask;
        const std::uint64_t q0 = back(request_span_);
        std::uint64_t counted = 0;
        if (q0 <= h) {
            counted = (requests - opened_[q0 % ring].requests.load(std::memory_order_acquire)) & requests_mask;
            if (counted > requests_mask / 2) counted = 0;  // read before that bucket opened: none of it is ours
        }
        return {used, allowed(counted)};
    }

    /// floor((ratio × requests + floor) / 10^6) in millionths, exact; at most INT_MAX.
    [[nodiscard]] std::uint64_t allowed(std::uint64_t requests) const noexcept {
        constexpr std::uint64_t million = 1'000'000;
        // requests < 2^40 and the parts below 10^6 < 2^20: no product exceeds 2^60.
        const std::uint64_t n = (ratio_ / million) * requests + floor_ / million +
                                ((ratio_ % million) * requests + floor_ % million) / million;
        return n < static_cast<std::uint64_t>(INT_MAX) ? n : static_cast<std::uint64_t>(INT_MAX);
    }

    void freeze(std::uint64_t w, std::uint64_t target) const noexcept {
        const auto f = w | frozen_bit;
        if (head_.compare_exchange_strong(w, f, std::memory_order_acq_rel, std::memory_order_acquire)) help(f, target);
    }

    /// Completes the move of the frozen head `f` towards `hint` (see the class comment).
    /// Returns early once `f` is no longer the head: another thread finished the move.
    void help(std::uint64_t f, std::uint64_t hint) const noexcept {
        const auto v = version_of(f);
        const auto next = (v + 1) & version_mask;
        const auto from = bucket_[v & 1].load(std::memory_order_acquire);
        auto to = bucket_[next & 1].load(std::memory_order_acquire);
        if (head_.load(std::memory_order_acquire) != f) return;  // `from` and `to` belong to another move
        if (to <= from) {
            const auto want = hint > from ? hint : from + 1;
            if (bucket_[next & 1].compare_exchange_strong(to, want, std::memory_order_acq_rel,
                                                          std::memory_order_acquire))
                to = want;
        }
        // Read after `to` is chosen: every request added later came after a clock read in `to`.
        const auto requests = requests_.load(std::memory_order_acquire);
        // The buckets after `from` up to `to`, the last `ring` of them (counted down from `to`,
        // so no index passes the end of the range).
        const std::uint64_t opened = to - from < ring ? to - from : ring;
        for (std::uint64_t i = 0; i < opened; ++i) {
            Slot& s = opened_[(to - i) % ring];
            if (!claim(s.requests, pack(next, requests), f) || !claim(s.retries, pack(next, retries_of(f)), f)) return;
        }
        auto expected = f;
        (void)head_.compare_exchange_strong(expected, pack(next, retries_of(f)), std::memory_order_acq_rel,
                                            std::memory_order_acquire);
    }

    /// Writes `value` into `word` unless it already holds this move's version (helpers may
    /// have read different request totals: any of them is a valid opening, the first stays).
    /// False once the head is no longer `f`.
    bool claim(std::atomic<std::uint64_t>& word, std::uint64_t value, std::uint64_t f) const noexcept {
        auto cur = word.load(std::memory_order_acquire);
        while (version_of(cur) != version_of(value)) {
            if (head_.load(std::memory_order_acquire) != f) return false;
            if (word.compare_exchange_weak(cur, value, std::memory_order_acq_rel, std::memory_order_acquire)) return true;
        }
        return true;
    }

    struct Slot {
        std::atomic<std::uint64_t> requests{0};
        std::atomic<std::uint64_t> retries{0};
    };

    RatioBudgetOptions options_;
    Duration::rep width_ = 1;
    std::uint64_t request_span_ = 0;  ///< `m`: requests count in buckets h - m .. h
    std::uint64_t ratio_ = 0;         ///< millionths
    std::uint64_t floor_ = 0;         ///< millionths of a retry, per ttl
    // The hot counter and when it next reads the clock, apart from what a decision reads.
    alignas(64) std::atomic<std::uint64_t> requests_{0};
    std::atomic<std::uint64_t> next_check_{0};
    // (mutable: `remaining()` completes a move another call has started.)
    alignas(64) mutable std::atomic<std::uint64_t> head_{0};
    mutable std::array<std::atomic<std::uint64_t>, 2> bucket_{};
    mutable std::array<Slot, ring> opened_{};
};

using RatioBudgetCore = BasicRatioBudgetCore<>;
REDRESS_EXTERN_TEMPLATE(class BasicRatioBudgetCore<void>)

}  // namespace detail

inline Budget::Budget(RatioBudgetOptions options)
    : Budget(std::shared_ptr<BudgetBackend>(std::make_shared<detail::RatioBudgetCore>(std::move(options)))) {}

}  // namespace redress
