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
#include <redress/detail/coarse_clock.hpp>

namespace redress {

/// Settings of a `Budget`: at most `max_retries` retries within any `window`.
struct BudgetOptions {
    /// Retries admitted within any `window`; must be >= 0 (0 admits none). Default 100.
    int max_retries = 100;
    /// The rolling window; must be > 0. Default 60 s.
    Duration window = std::chrono::seconds(60);
    /// The clock; default `std::chrono::steady_clock`.
    AnyClock clock{};
    /// With the default `clock`, read the kernel's coarse monotonic clock instead
    /// (`CLOCK_MONOTONIC_COARSE` on Linux: ~10 ns against ~31 ns for `steady_clock`) when the
    /// window is at least 16 times its lag bound (4 ticks, >= 10 ms; so windows from ~256 ms
    /// at 250 Hz). The budget then counts each retry for that lag longer, so a lagging
    /// reading can never admit early. Ignored with a custom clock. Default true.
    bool coarse_clock = true;
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
/// A retry stays counted until its bucket's end is a whole `window` (plus the clock's lag
/// bound) old: it is forgotten between `window` and `window + width` after it was taken. The
/// budget is therefore conservative (it may refuse up to one bucket's worth of time early) and
/// never over-admits. The first call in a new bucket moves the head (one compare-exchange) and
/// sums the 32 old buckets once (cached); other calls read the head and that cached sum.
///
/// Leases keep busy threads off the shared word. A thread that has taken `n` retries in the
/// current bucket takes up to `n` more than it needs (at most 1/256 of the free retries and at
/// most 1024) and spends them without touching shared memory; it also remembers the free count
/// it last saw, so while refused it stays refused without a shared read until its bucket ends.
/// Leased retries are counted when taken, so nothing is admitted twice; an unused lease is
/// given back when its bucket ends if the head is still there, and otherwise stays counted
/// until its bucket leaves the window (conservative). A budget with fewer than 256 free
/// retries leases nothing: its count is exact across threads.
class BudgetCore {
public:
    static constexpr std::uint32_t buckets = 32;

    explicit BudgetCore(BudgetOptions options) : options_(std::move(options)) {
        validate();
        const Duration lag = CoarseClock::lag_bound();
        coarse_ = options_.coarse_clock && options_.clock.is_steady() && CoarseClock::available() &&
                  lag <= options_.window / 16;
        start(coarse_ ? lag : Duration::zero());
    }

    /// A budget whose `options.clock` may read up to `lag` behind real time (each retry is
    /// counted `lag` longer). What the coarse clock gets; public for tests of that margin.
    BudgetCore(BudgetOptions options, Duration lag) : options_(std::move(options)) {
        validate();
        if (lag < Duration::zero()) throw std::invalid_argument("redress: BudgetCore: lag must be >= 0");
        start(lag);
    }

    bool consume(int cost) {
        if (cost < 1) throw std::invalid_argument("redress: Budget::consume: cost must be >= 1");
        if (cost > options_.max_retries) return false;
        const auto need = static_cast<std::uint32_t>(cost);
        const auto ns = now().time_since_epoch().count();
        Lease& lease = lease_of(this, id_);
        if (lease.bucket != no_bucket &&
            static_cast<std::uint64_t>(ns) - static_cast<std::uint64_t>(lease.begin) < static_cast<std::uint64_t>(width_)) {
            // Still in the lease's bucket: no division, no shared write.
            if (lease.tokens >= need) {  // retries this thread already took from the shared count
                lease.tokens -= need;
                lease.taken += need;
                return true;
            }
            // The shared count's free retries only shrink within a bucket: what was seen last
            // bounds them from above.
            if (need - lease.tokens > lease.free) return false;
        }
        return consume_shared(need, bucket_of_ns(ns), lease);
    }

    [[nodiscard]] int remaining() const {
        const auto bucket = bucket_at(now());
        auto c = static_cast<std::uint32_t>(bucket);
        const auto w = head_.load(std::memory_order_acquire);
        if (ahead(index_of(w), c)) c = index_of(w);
        const auto used = index_of(w) == c ? older_than(c) + count_of(w) : used_at(c, w);
        const Lease* lease = find_lease(this, id_);
        const std::int64_t own = lease != nullptr && lease->bucket == bucket ? lease->tokens : 0;
        const auto left = static_cast<std::int64_t>(options_.max_retries) - used + own;
        return left > 0 ? static_cast<int>(left) : 0;
    }


    [[nodiscard]] const BudgetOptions& options() const noexcept { return options_; }

    /// True when this budget reads `CoarseClock` (see `BudgetOptions::coarse_clock`).
    [[nodiscard]] bool coarse() const noexcept { return coarse_; }

private:
    void validate() const {
        if (options_.max_retries < 0)
            throw std::invalid_argument("redress: BudgetOptions::max_retries must be >= 0");
        if (options_.window <= Duration::zero())
            throw std::invalid_argument("redress: BudgetOptions::window must be > 0");
    }

    /// Buckets of `ceil((window + lag) / 32)`: a retry stays counted for at least
    /// `window + lag` of this clock's time, hence at least `window` of real time when its
    /// reading lagged by up to `lag` (saturating for windows near `Duration::max()`).
    void start(Duration lag) {
        const auto n = static_cast<Duration::rep>(buckets);
        auto w = options_.window.count();
        if (w <= Duration::max().count() - lag.count()) w += lag.count();
        width_ = w / n + (w % n != 0 ? 1 : 0);
        const auto first = static_cast<std::uint32_t>(bucket_at(now()));
        head_.store(pack(first, 0), std::memory_order_relaxed);
        older_sum_.store(pack(first, 0), std::memory_order_relaxed);
        for (auto& s : slots_) s.store(0, std::memory_order_relaxed);  // count 0: contributes nothing
    }

    [[nodiscard]] TimePoint now() const { return coarse_ ? CoarseClock::now() : options_.clock.now(); }

    static std::uint64_t pack(std::uint32_t index, std::uint32_t count) noexcept {
        return (static_cast<std::uint64_t>(index) << 32) | count;
    }
    static std::uint32_t index_of(std::uint64_t w) noexcept { return static_cast<std::uint32_t>(w >> 32); }
    static std::uint32_t count_of(std::uint64_t w) noexcept { return static_cast<std::uint32_t>(w); }
    /// True when bucket `a` is later than bucket `b` (indices wrap modulo 2^32; buckets far
    /// apart never meet in one decision).
    static bool ahead(std::uint32_t a, std::uint32_t b) noexcept { return static_cast<std::int32_t>(a - b) > 0; }

    /// The bucket of `t`, counted from the epoch. The shared words keep its low 32 bits (they
    /// wrap; buckets that far apart never meet in one decision); leases keep all 64.
    [[nodiscard]] std::uint64_t bucket_at(TimePoint t) const noexcept { return bucket_of_ns(t.time_since_epoch().count()); }
    [[nodiscard]] std::uint64_t bucket_of_ns(Duration::rep ns) const noexcept {
        auto q = ns / width_;
        if (ns % width_ < 0) --q;
        return static_cast<std::uint64_t>(q);
    }

    /// Retries one thread took from the shared count of one bucket and has not used yet.
    static constexpr std::uint64_t no_bucket = ~0ULL;
    struct Lease {
        const BudgetCore* core = nullptr;  ///< the budget; with `owner`, the key
        std::uint64_t owner = 0;           ///< its `id_` (a later budget at the same address differs)
        std::uint64_t bucket = no_bucket;  ///< the bucket the tokens were counted in
        Duration::rep begin = 0;           ///< where `bucket` starts (`bucket * width_`)
        std::uint32_t tokens = 0;          ///< taken, not used yet
        std::uint32_t taken = 0;           ///< used by this thread in `bucket`: sizes the next lease
        std::uint32_t free = 0;            ///< free retries the shared count had, last seen in `bucket`
    };
    /// Each thread keeps leases of the last 4 budgets it used.
    struct LeaseCache {
        std::array<Lease, 4> slots{};
        std::uint32_t next = 0;
    };
    static LeaseCache& lease_cache() noexcept {
        thread_local LeaseCache cache;  // constant-initialized: no guard, no destructor
        return cache;
    }
    static Lease* find_lease(const BudgetCore* core, std::uint64_t owner) noexcept {
        for (auto& l : lease_cache().slots)
            if (l.owner == owner && l.core == core) return &l;
        return nullptr;
    }
    /// This thread's lease on budget `owner`. A new one replaces the oldest slot; the replaced
    /// lease's tokens stay counted until their bucket leaves the window (never more than
    /// `max_lease`, and none when its budget had less than `lease_divisor` retries left).
    /// Keyed by address and id: ids alone could repeat where a library built with hidden
    /// visibility has its own copy of the id counter, and addresses are reused.
    static Lease& lease_of(const BudgetCore* core, std::uint64_t owner) noexcept {
        if (Lease* l = find_lease(core, owner)) return *l;
        auto& cache = lease_cache();
        Lease& l = cache.slots[cache.next++ % cache.slots.size()];
        l = Lease{.core = core, .owner = owner};
        return l;
    }
    static std::uint64_t next_id() noexcept {
        static std::atomic<std::uint64_t> ids{0};
        return ids.fetch_add(1, std::memory_order_relaxed) + 1;
    }

    /// A lease's extra tokens: no more than this thread used in the bucket so far (so an idle
    /// thread holds none), than 1/`lease_divisor` of what stays free, or than `max_lease`.
    static constexpr std::int64_t lease_divisor = 256;
    static constexpr std::int64_t max_lease = 1024;

    /// Admission through the shared count: `need` retries (less what this thread's lease for
    /// `bucket` still holds) plus a lease for the next calls.
    bool consume_shared(std::uint32_t need, std::uint64_t bucket, Lease& lease) {
        const auto max = static_cast<std::int64_t>(options_.max_retries);
        auto w = head_.load(std::memory_order_acquire);
        if (lease.tokens > 0 && lease.bucket != bucket) give_back(lease, w);
        auto c = static_cast<std::uint32_t>(bucket);
        int rereads = 0;
        for (;;) {
            if (ahead(index_of(w), c)) {
                // Another thread read the clock after us and moved the head on: read it again,
                // so the decision is made at a time the head has reached (a monotonic clock
                // gets there at once; a misbehaving one is charged to the head's bucket).
                if (rereads++ < 2) {
                    bucket = bucket_at(now());
                    c = static_cast<std::uint32_t>(bucket);
                    w = head_.load(std::memory_order_acquire);
                    continue;
                }
                c = index_of(w);
                bucket = no_bucket;  // no lease for a bucket the clock has not reached
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
            const bool same = lease.bucket == bucket && bucket != no_bucket;
            const std::uint32_t have = same ? lease.tokens : 0;
            if (have >= need) {  // the clock was read again and reached the lease's bucket
                lease.tokens -= need;
                lease.taken += need;
                return true;
            }
            // The head is at `c`, so the buckets before it are final: their sum is cached.
            const std::uint32_t take = need - have;
            const std::uint32_t taken = same ? lease.taken : 0;
            const std::int64_t used = older_than(c) + count_of(w) + take;
            if (used > max) {
                set_lease(lease, bucket, have, taken, max - (used - take));
                return false;
            }
            std::int64_t extra = bucket == no_bucket ? 0 : taken;
            if (extra > (max - used) / lease_divisor) extra = (max - used) / lease_divisor;
            if (extra > max_lease) extra = max_lease;
            if (head_.compare_exchange_weak(w, pack(c, count_of(w) + take + static_cast<std::uint32_t>(extra)), std::memory_order_acq_rel,
                                            std::memory_order_acquire)) {
                set_lease(lease, bucket, static_cast<std::uint32_t>(extra), taken + need, max - used - extra);
                return true;
            }
        }
    }

    void set_lease(Lease& lease, std::uint64_t bucket, std::uint32_t tokens, std::uint32_t taken,
                   std::int64_t free) const noexcept {
        lease.bucket = bucket;
        lease.begin = bucket == no_bucket ? 0 : static_cast<Duration::rep>(bucket) * width_;
        lease.tokens = bucket == no_bucket ? 0 : tokens;
        lease.taken = taken;
        lease.free = static_cast<std::uint32_t>(free < 0 ? 0 : free);
    }

    /// Returns the unused tokens of a lease whose bucket has passed, if the head is still in
    /// that bucket (then nobody has summed it yet); otherwise they stay counted until the
    /// bucket leaves the window. Leaves `w` at the head's latest value.
    void give_back(Lease& lease, std::uint64_t& w) noexcept {
        const std::uint32_t k = lease.tokens;
        lease.tokens = 0;
        const auto c = static_cast<std::uint32_t>(lease.bucket);
        while (index_of(w) == c && count_of(w) >= k) {
            if (head_.compare_exchange_weak(w, pack(c, count_of(w) - k), std::memory_order_acq_rel,
                                            std::memory_order_acquire)) {
                w = pack(c, count_of(w) - k);
                return;
            }
        }
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
    std::uint64_t id_ = next_id();
    bool coarse_ = false;
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
/// and memory do not depend on `max_retries`; no allocation after construction. With the
/// default clock and a window of ~256 ms or more, the clock read is the kernel's coarse clock
/// (`BudgetOptions::coarse_clock`).
///
/// Granularity: the window is cut into 32 buckets; a retry stays counted until its bucket has
/// wholly left the window, i.e. for between `window` and `window + window / 32` (plus the
/// coarse clock's lag bound, 4 ticks, when it is read). The budget may thus refuse slightly
/// early, never late: within any interval of length `window`, at most `max_retries` retries
/// are admitted.
class Budget {
public:
    /// Validates `options`: `max_retries >= 0`, `window > 0`; throws `std::invalid_argument`
    /// naming the option.
    explicit Budget(BudgetOptions options) : core_(std::make_shared<detail::BudgetCore>(std::move(options))) {}

    /// `Budget{100, 60s}`: same as `Budget{{.max_retries = 100, .window = 60s}}`.
    Budget(int max_retries, Duration window) : Budget(BudgetOptions{.max_retries = max_retries, .window = window}) {}

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

    /// True when this budget reads the kernel's coarse clock (`BudgetOptions::coarse_clock`
    /// was honoured: default clock, a window long enough, and a platform that has one).
    [[nodiscard]] bool uses_coarse_clock() const noexcept { return core_->coarse(); }

private:
    std::shared_ptr<detail::BudgetCore> core_;
};

}  // namespace redress
