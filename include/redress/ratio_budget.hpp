// The ratio budget: retries capped at a share of recent requests plus a floor per second (the
// Finagle model; see docs/budgets.md, "Ratio budget"). Build it as
// `redress::Budget(redress::RatioBudgetOptions{...})`; <redress/budget.hpp> includes this header.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

#include <redress/budget.hpp>
#include <redress/clock.hpp>
#include <redress/detail/attributes.hpp>

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

    explicit BasicRatioBudgetCore(RatioBudgetOptions options);

    // User-provided (not defaulted), so that separate compilation compiles it once with the
    // other members instead of in every translation unit that destroys one.
    ~BasicRatioBudgetCore() override;

    BudgetVerdict consume(int cost) override;

    /// One relaxed add, and two relaxed loads that say whether the clock is due a look (see
    /// `catch_up`).
    void record_request() noexcept override;

    [[nodiscard]] bool counts_requests() const noexcept override { return true; }

    /// Retries that could be taken now. Reads without moving the head (it only completes a
    /// move another call has started).
    [[nodiscard]] int remaining() const override;

    [[nodiscard]] const RatioBudgetOptions& options() const noexcept { return options_; }

private:
    void validate() const;

    [[nodiscard]] Duration::rep now() const;

    /// The unfrozen head, moved on to bucket `tick` first if it is behind; `h` its bucket.
    std::uint64_t head_at(std::uint64_t tick, std::uint64_t& h) const noexcept;

    /// A request is credited to the head's bucket, so the head must follow the clock even when
    /// no retry moves it: each of the first 16 requests of a bucket reads the clock (and moves
    /// the head on), then one request in every `n / 8` where `n` is the bucket's count so far,
    /// and at least one in 64. So at a bucket change or after an idle period at most `n / 8`
    /// (and at most 64) requests can be credited to an earlier bucket and forgotten early,
    /// never late; a bucket of up to 16 requests is credited exactly.
    void catch_up() noexcept;

    // Words: a 24-bit version above 40 bits of payload. The head: a frozen bit and the
    // retries total mod 2^39; a slot: a total mod 2^40 (requests) or 2^39 (retries).
    static constexpr unsigned version_shift = 40;
    static constexpr std::uint64_t version_mask = (std::uint64_t{1} << 24) - 1;
    static constexpr std::uint64_t frozen_bit = std::uint64_t{1} << 39;
    static constexpr std::uint64_t retries_mask = frozen_bit - 1;
    static constexpr std::uint64_t requests_mask = (std::uint64_t{1} << version_shift) - 1;
    static constexpr std::uint64_t ring = 64;
    static constexpr std::uint64_t check_every = 64;  ///< requests between clock reads, at most

    static std::uint64_t pack(std::uint64_t version, std::uint64_t payload) noexcept;
    static std::uint64_t version_of(std::uint64_t w) noexcept;
    static std::uint64_t retries_of(std::uint64_t w) noexcept;
    static bool is_frozen(std::uint64_t w) noexcept;
    static std::uint64_t add_retries(std::uint64_t w, std::uint64_t n) noexcept;

    /// What a decision at bucket `at` (>= the head's bucket `h`) sees.
    struct Window {
        std::uint64_t used;     ///< retries counted
        std::uint64_t allowed;  ///< the bound for the requests counted
    };
    /// The window of bucket `at`, with the head `w` in bucket `h` and `requests` recorded.
    /// Everything recorded so far belongs to buckets up to `h`, so a window that starts after
    /// `h` counts nothing.
    [[nodiscard]] Window window(std::uint64_t w, std::uint64_t h, std::uint64_t at, std::uint64_t requests) const;

    /// floor((ratio × requests + floor) / 10^6) in millionths, exact; at most INT_MAX.
    [[nodiscard]] std::uint64_t allowed(std::uint64_t requests) const noexcept;

    void freeze(std::uint64_t w, std::uint64_t target) const noexcept;

    /// Completes the move of the frozen head `f` towards `hint` (see the class comment).
    /// Returns early once `f` is no longer the head: another thread finished the move.
    void help(std::uint64_t f, std::uint64_t hint) const noexcept;

    /// Writes `value` into `word` unless it already holds this move's version (helpers may
    /// have read different request totals: any of them is a valid opening, the first stays).
    /// False once the head is no longer `f`.
    bool claim(std::atomic<std::uint64_t>& word, std::uint64_t value, std::uint64_t f) const noexcept;

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
}  // namespace redress

#if !defined(REDRESS_SEPARATE_COMPILATION)
#include <redress/impl/ratio_budget.hpp>
#endif
