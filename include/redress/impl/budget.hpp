// <redress/impl/budget.hpp>: the definitions <redress/budget.hpp> declares. Included at the end of
// that header, or once, by <redress/impl/src.hpp>, under separate compilation
// (detail/attributes.hpp says which definitions live here).
#pragma once

#include <redress/budget.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <utility>

#include <redress/detail/attributes.hpp>
#include <redress/detail/coarse_clock.hpp>
#include <redress/errors.hpp>

namespace redress {

namespace detail {

REDRESS_DECL BucketTick bucket_of(Duration::rep ns, Duration::rep width) noexcept {
    auto q = ns / width;
    auto r = ns % width;
    if (r < 0) {
        r += width;
        --q;
    }
    return {static_cast<std::uint64_t>(q) ^ (std::uint64_t{1} << 63),
            static_cast<std::uint64_t>(ns) - static_cast<std::uint64_t>(r)};
}

// ---- BasicBudgetCore -------------------------------------------------------------------------

template <class V>
inline BasicBudgetCore<V>::BasicBudgetCore(BudgetOptions options) : options_(std::move(options)) {
    validate();
    const Duration lag = CoarseClock::lag_bound();
    // Chosen by the budget for a long window on the default clock, or by the user (a
    // `redress::CoarseClock`): either way each retry is counted the clock's lag longer.
    coarse_ = (options_.coarse_clock && options_.clock.is_steady() && CoarseClock::available() &&
               lag <= options_.window / 16) ||
              options_.clock.is_coarse();
    start(coarse_ ? lag : Duration::zero());
}

template <class V>
inline BasicBudgetCore<V>::BasicBudgetCore(BudgetOptions options, Duration lag) : options_(std::move(options)) {
    validate();
    if (lag < Duration::zero()) invalid_option("BudgetCore", "lag", "must be >= 0");
    start(lag);
}

template <class V>
inline BasicBudgetCore<V>::~BasicBudgetCore() {}

template <class V>
inline bool BasicBudgetCore<V>::consume(int cost) {
    if (cost < 1) throw std::invalid_argument("redress: Budget::consume: cost must be >= 1");
    if (cost > options_.max_retries) return false;
    const auto need = static_cast<std::uint32_t>(cost);
    const auto ns = now().time_since_epoch().count();
    Lease& lease = lease_of(this, id_);
    if (lease.bucket != no_bucket &&
        static_cast<std::uint64_t>(ns) - lease.begin < static_cast<std::uint64_t>(width_)) {
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
    return consume_shared(need, tick_of(ns), lease);
}

template <class V>
inline int BasicBudgetCore<V>::remaining() {
    const Tick tick = tick_of(now().time_since_epoch().count());
    std::int64_t used = 0;
    for (;;) {
        const auto w = head_.load(std::memory_order_acquire);
        if (is_frozen(w)) {
            help(w, tick.bucket);
            continue;
        }
        const auto h = bucket_[version_of(w) & 1].load(std::memory_order_acquire);
        const auto older = older_.load(std::memory_order_acquire);
        if (version_of(older) != version_of(w)) continue;  // the head moved on meanwhile
        if (tick.bucket <= h) {
            used = static_cast<std::int64_t>(count_of(older)) + count_of(w);
        } else if (tick.bucket - h > buckets) {
            used = 0;
        } else {
            // The window of `tick.bucket` holds the head's bucket and the slots before it.
            used = count_of(w);
            for (std::uint64_t k = tick.bucket > buckets ? tick.bucket - buckets : 0; k < h; ++k)
                used += count_of(slots_[k % buckets].load(std::memory_order_acquire));
        }
        if (head_.load(std::memory_order_acquire) != w) continue;  // the slots read may not be `w`'s
        // This thread's unused lease counts as free while it is counted in `used` and the
        // thread can still use it (its bucket is now) or get it back (the head is still there).
        const Lease* lease = find_lease(this, id_);
        const std::uint64_t at = tick.bucket > h ? tick.bucket : h;  // `used` is the window of `at`
        if (lease != nullptr && lease->tokens > 0 && (lease->bucket == tick.bucket || lease->bucket == h) &&
            at - lease->bucket <= buckets)
            used -= lease->tokens;
        break;
    }
    const auto left = static_cast<std::int64_t>(options_.max_retries) - used;
    return left > 0 ? static_cast<int>(left) : 0;
}

template <class V>
inline void BasicBudgetCore<V>::validate() const {
    if (options_.max_retries < 0)
        invalid_option("BudgetOptions", "max_retries", Message{} << "must be >= 0 (is " << options_.max_retries << ")");
    if (options_.window <= Duration::zero()) invalid_option("BudgetOptions", "window", "must be > 0");
}

template <class V>
inline void BasicBudgetCore<V>::start(Duration lag) {
    const auto n = static_cast<Duration::rep>(buckets);
    auto w = options_.window.count();
    if (w <= Duration::max().count() - lag.count()) w += lag.count();
    width_ = bucket_width(w, n);
    const auto first = tick_of(now().time_since_epoch().count()).bucket;
    head_.store(pack(0, 0), std::memory_order_relaxed);
    bucket_[0].store(first, std::memory_order_relaxed);
    bucket_[1].store(first > 0 ? first - 1 : 0, std::memory_order_relaxed);  // "not chosen": <= bucket_[0]
    older_.store(pack(0, 0), std::memory_order_relaxed);
    // Version 2^32 - 1 (a move writes version 0 first) and count 0: empty buckets.
    for (auto& s : slots_) s.store(pack(~0U, 0), std::memory_order_relaxed);
}

template <class V>
inline TimePoint BasicBudgetCore<V>::now() const {
    return coarse_ ? CoarseClock::now() : options_.clock.now();
}

template <class V>
inline std::uint64_t BasicBudgetCore<V>::pack(std::uint32_t version, std::uint64_t count) noexcept {
    return (static_cast<std::uint64_t>(version) << 32) | count;
}

template <class V>
inline std::uint32_t BasicBudgetCore<V>::version_of(std::uint64_t w) noexcept {
    return static_cast<std::uint32_t>(w >> 32);
}

template <class V>
inline std::uint32_t BasicBudgetCore<V>::count_of(std::uint64_t w) noexcept {
    return static_cast<std::uint32_t>(w & count_mask);
}

template <class V>
inline bool BasicBudgetCore<V>::is_frozen(std::uint64_t w) noexcept {
    return (w & frozen_bit) != 0;
}

template <class V>
inline auto BasicBudgetCore<V>::tick_of(Duration::rep ns) const noexcept -> Tick {
    return bucket_of(ns, width_);
}

template <class V>
inline auto BasicBudgetCore<V>::lease_cache() noexcept -> LeaseCache& {
    thread_local LeaseCache cache;  // constant-initialized: no guard, no destructor
    return cache;
}

template <class V>
inline auto BasicBudgetCore<V>::find_lease(const BasicBudgetCore* core, std::uint64_t owner) noexcept -> Lease* {
    for (auto& l : lease_cache().slots)
        if (l.owner == owner && l.core == core) return &l;
    return nullptr;
}

template <class V>
inline auto BasicBudgetCore<V>::lease_of(const BasicBudgetCore* core, std::uint64_t owner) noexcept -> Lease& {
    if (Lease* l = find_lease(core, owner)) return *l;
    auto& cache = lease_cache();
    Lease& l = cache.slots[cache.next++ % cache.slots.size()];
    l = Lease{.core = core, .owner = owner};
    return l;
}

template <class V>
inline std::uint64_t BasicBudgetCore<V>::next_id() noexcept {
    static std::atomic<std::uint64_t> ids{0};
    return ids.fetch_add(1, std::memory_order_relaxed) + 1;
}

template <class V>
inline bool BasicBudgetCore<V>::consume_shared(std::uint32_t need, Tick tick, Lease& lease) {
    const auto max = static_cast<std::int64_t>(options_.max_retries);
    if (lease.tokens > 0 && lease.bucket != tick.bucket) give_back(lease);
    bool leasable = true;
    for (;;) {
        auto w = head_.load(std::memory_order_acquire);
        if (is_frozen(w)) {
            help(w, tick.bucket);
            continue;
        }
        const auto v = version_of(w);
        const auto h = bucket_[v & 1].load(std::memory_order_acquire);
        if (tick.bucket < h) {
            // Another thread read the clock after us and moved the head on. Read it again:
            // `h` was chosen from a reading made before this thread read it, so a clock
            // that is monotonic across threads now reads at least `h`, and the retry is
            // decided (and counted) at the time of its own reading, however often the head
            // moves meanwhile. Only a clock that still reads behind the head (not monotonic
            // across threads) is charged to the head's bucket.
            const Tick again = tick_of(now().time_since_epoch().count());
            if (again.bucket >= h) {
                tick = again;
                leasable = true;
                continue;
            }
            tick.bucket = h;
            leasable = false;  // no lease for a bucket the clock has not reached
        }
        if (tick.bucket > h) {
            freeze(w, tick.bucket);
            continue;
        }
        const auto older = older_.load(std::memory_order_acquire);
        if (version_of(older) != v) continue;  // the head moved on after `w` was read
        const bool same = leasable && lease.bucket == tick.bucket;
        const std::uint32_t have = same ? lease.tokens : 0;
        if (have >= need) {  // the clock was read again and reached the lease's bucket
            lease.tokens -= need;
            lease.taken += need;
            return true;
        }
        const std::uint32_t take = need - have;
        const std::uint32_t taken = same ? lease.taken : 0;
        const std::int64_t used = static_cast<std::int64_t>(count_of(older)) + count_of(w) + take;
        if (used > max) {
            set_lease(lease, leasable, tick, have, taken, max - (used - take));
            return false;
        }
        std::int64_t extra = leasable ? taken : 0;
        if (extra > (max - used) / lease_divisor) extra = (max - used) / lease_divisor;
        if (extra > max_lease) extra = max_lease;
        if (head_.compare_exchange_weak(w, pack(v, count_of(w) + take + static_cast<std::uint64_t>(extra)),
                                        std::memory_order_acq_rel, std::memory_order_acquire)) {
            set_lease(lease, leasable, tick, static_cast<std::uint32_t>(extra), taken + need, max - used - extra);
            return true;
        }
    }
}

template <class V>
inline void BasicBudgetCore<V>::set_lease(Lease& lease, bool leasable, Tick tick, std::uint32_t tokens,
                                          std::uint32_t taken, std::int64_t free) noexcept {
    lease.bucket = leasable ? tick.bucket : no_bucket;
    lease.begin = leasable ? tick.begin : 0;
    lease.tokens = leasable ? tokens : 0;
    lease.taken = taken;
    lease.free = static_cast<std::uint32_t>(free < 0 ? 0 : free);
}

template <class V>
inline void BasicBudgetCore<V>::give_back(Lease& lease) noexcept {
    const std::uint32_t k = lease.tokens;
    lease.tokens = 0;
    auto w = head_.load(std::memory_order_acquire);
    // The compare-exchange succeeds only on the head read, so the bucket read with it is its own.
    while (!is_frozen(w) && count_of(w) >= k &&
           bucket_[version_of(w) & 1].load(std::memory_order_acquire) == lease.bucket) {
        if (head_.compare_exchange_weak(w, w - k, std::memory_order_acq_rel, std::memory_order_acquire)) return;
    }
}

template <class V>
inline void BasicBudgetCore<V>::freeze(std::uint64_t w, std::uint64_t target) noexcept {
    const auto f = w | frozen_bit;
    if (head_.compare_exchange_strong(w, f, std::memory_order_acq_rel, std::memory_order_acquire)) help(f, target);
}

template <class V>
inline void BasicBudgetCore<V>::help(std::uint64_t f, std::uint64_t hint) noexcept {
    const auto v = version_of(f);
    const auto from = bucket_[v & 1].load(std::memory_order_acquire);
    auto to = bucket_[(v + 1) & 1].load(std::memory_order_acquire);
    if (head_.load(std::memory_order_acquire) != f) return;  // `from` and `to` belong to another move
    if (to <= from) {
        // The freezer's bucket is after `from` and was read before the freeze, so `from + 1`
        // is never ahead of the clock.
        const auto want = hint > from ? hint : from + 1;
        if (bucket_[(v + 1) & 1].compare_exchange_strong(to, want, std::memory_order_acq_rel,
                                                          std::memory_order_acquire))
            to = want;
    }
    const std::uint64_t gap = to - from;
    if (gap <= buckets && !write<true>(slots_[from % buckets], pack(v, count_of(f)), f)) return;
    for (std::uint64_t k = gap > buckets ? to - buckets : from + 1; k < to; ++k)
        if (!write<true>(slots_[k % buckets], pack(v, 0), f)) return;
    std::uint64_t sum = 0;
    for (const auto& s : slots_) sum += count_of(s.load(std::memory_order_acquire));
    if (!write<false>(older_, pack(v + 1, sum < count_mask ? sum : count_mask), f)) return;
    (void)head_.compare_exchange_strong(f, pack(v + 1, 0), std::memory_order_acq_rel, std::memory_order_acquire);
}

template <class V>
template <bool slot>
inline bool BasicBudgetCore<V>::write(std::atomic<std::uint64_t>& word, std::uint64_t value, std::uint64_t f) noexcept {
    auto cur = word.load(std::memory_order_acquire);
    // A slot's version only makes a stale compare-exchange fail; a slot is only ever
    // rewritten with a newer version, so one left alone cannot come back to a stale value.
    while (slot ? count_of(cur) != count_of(value) : cur != value) {
        // `cur` was read while the move of `f` was under way, so it is never a later move's.
        if (head_.load(std::memory_order_acquire) != f) return false;
        if (word.compare_exchange_weak(cur, value, std::memory_order_acq_rel, std::memory_order_acquire)) return true;
    }
    return true;
}

}  // namespace detail

// ---- Budget ----------------------------------------------------------------------------------

REDRESS_DECL Budget::Budget(const Budget&) = default;
REDRESS_DECL Budget& Budget::operator=(const Budget&) = default;
REDRESS_DECL Budget::~Budget() = default;

REDRESS_DECL Budget::Budget(BudgetOptions options) : core_(std::make_shared<detail::BudgetCore>(std::move(options))) {}

REDRESS_DECL Budget::Budget(std::shared_ptr<BudgetBackend> backend) : backend_(std::move(backend)) {
    if (!backend_) detail::invalid_option("Budget", "backend", "must not be null");
    counts_requests_ = backend_->counts_requests();
}

REDRESS_DECL Budget::Budget(int max_retries, Duration window)
    : Budget(BudgetOptions{.max_retries = max_retries, .window = window}) {}

REDRESS_DECL bool Budget::consume(int cost) const { return admitted(decide(cost)); }

REDRESS_DECL BudgetVerdict Budget::decide(int cost) const {
    if (backend_) {
        if (cost < 1) throw std::invalid_argument("redress: Budget::consume: cost must be >= 1");
        return backend_->consume(cost);
    }
    return core_->consume(cost) ? BudgetVerdict::Admitted : BudgetVerdict::Refused;
}

REDRESS_DECL int Budget::remaining() const { return backend_ ? backend_->remaining() : core_->remaining(); }

REDRESS_DECL const BudgetOptions& Budget::options() const {
    if (!core_) throw std::logic_error("redress: Budget::options: this budget is kept by a BudgetBackend");
    return core_->options();
}

}  // namespace redress
