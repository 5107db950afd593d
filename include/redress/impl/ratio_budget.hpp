// <redress/impl/ratio_budget.hpp>: the definitions <redress/ratio_budget.hpp> declares. Included at the end of
// that header, or once, by <redress/impl/src.hpp>, under separate compilation
// (detail/attributes.hpp says which definitions live here).
#pragma once

#include <redress/ratio_budget.hpp>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <utility>

#include <redress/detail/attributes.hpp>
#include <redress/detail/math.hpp>
#include <redress/errors.hpp>

namespace redress {

namespace detail {

template <class V>
inline BasicRatioBudgetCore<V>::BasicRatioBudgetCore(RatioBudgetOptions options) : options_(std::move(options)) {
    validate();
    const auto ttl = options_.ttl.count();
    width_ = bucket_width(ttl, static_cast<Duration::rep>(buckets));
    request_span_ = static_cast<std::uint64_t>(ttl / width_) - 1;
    ratio_ = static_cast<std::uint64_t>(llround(options_.ratio * 1e6));
    floor_ = static_cast<std::uint64_t>(llround(options_.min_retries_per_second * static_cast<double>(ttl) / 1e3));
    const auto first = bucket_of(now(), width_).bucket;
    bucket_[0].store(first, std::memory_order_relaxed);
    bucket_[1].store(first > 0 ? first - 1 : 0, std::memory_order_relaxed);  // "not chosen": <= bucket_[0]
    // Buckets before the first opened with both totals at 0; the tag matches no move yet.
    for (auto& s : opened_) {
        s.requests.store(pack(version_mask, 0), std::memory_order_relaxed);
        s.retries.store(pack(version_mask, 0), std::memory_order_relaxed);
    }
}

template <class V>
inline BasicRatioBudgetCore<V>::~BasicRatioBudgetCore() {}

template <class V>
inline BudgetVerdict BasicRatioBudgetCore<V>::consume(int cost) {
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

template <class V>
inline void BasicRatioBudgetCore<V>::record_request() noexcept {
    if (requests_.load(std::memory_order_relaxed) >= next_check_.load(std::memory_order_relaxed)) [[unlikely]]
        catch_up();
    requests_.fetch_add(1, std::memory_order_relaxed);
}

template <class V>
inline int BasicRatioBudgetCore<V>::remaining() const {
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

template <class V>
inline void BasicRatioBudgetCore<V>::validate() const {
    const double r = options_.ratio;
    if (!(r >= 0.0 && r <= 1000.0))  // (NaN fails both)
        invalid_option("RatioBudgetOptions", "ratio", "must be in [0, 1000]");
    if (options_.ttl <= Duration::zero()) invalid_option("RatioBudgetOptions", "ttl", "must be > 0");
    const double m = options_.min_retries_per_second;
    if (!(m >= 0.0 && is_finite(m)))
        invalid_option("RatioBudgetOptions", "min_retries_per_second", "must be finite and >= 0");
    if (m * std::chrono::duration<double>(options_.ttl).count() > static_cast<double>(INT_MAX))
        invalid_option("RatioBudgetOptions", "min_retries_per_second", "times ttl must be at most INT_MAX retries");
}

template <class V>
inline Duration::rep BasicRatioBudgetCore<V>::now() const {
    return options_.clock.now().time_since_epoch().count();
}

template <class V>
inline std::uint64_t BasicRatioBudgetCore<V>::head_at(std::uint64_t tick, std::uint64_t& h) const noexcept {
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

template <class V>
inline void BasicRatioBudgetCore<V>::catch_up() noexcept {
    try {
        std::uint64_t h = 0;
        (void)head_at(bucket_of(now(), width_).bucket, h);
        const auto total = requests_.load(std::memory_order_acquire);
        const auto in_bucket = (total - opened_[h % ring].requests.load(std::memory_order_acquire)) & requests_mask;
        const std::uint64_t step = in_bucket < 16 ? 1 : in_bucket / 8 < check_every ? in_bucket / 8 : check_every;
        next_check_.store(total + step, std::memory_order_relaxed);
    } catch (...) {
        // A clock that throws: the request is credited to the head as it is.
    }
}

template <class V>
inline std::uint64_t BasicRatioBudgetCore<V>::pack(std::uint64_t version, std::uint64_t payload) noexcept {
    return (version << version_shift) | (payload & requests_mask);
}

template <class V>
inline std::uint64_t BasicRatioBudgetCore<V>::version_of(std::uint64_t w) noexcept {
    return w >> version_shift;
}

template <class V>
inline std::uint64_t BasicRatioBudgetCore<V>::retries_of(std::uint64_t w) noexcept {
    return w & retries_mask;
}

template <class V>
inline bool BasicRatioBudgetCore<V>::is_frozen(std::uint64_t w) noexcept {
    return (w & frozen_bit) != 0;
}

template <class V>
inline std::uint64_t BasicRatioBudgetCore<V>::add_retries(std::uint64_t w, std::uint64_t n) noexcept {
    return (w & ~retries_mask) | ((retries_of(w) + n) & retries_mask);
}

template <class V>
inline auto BasicRatioBudgetCore<V>::window(std::uint64_t w, std::uint64_t h, std::uint64_t at,
                                            std::uint64_t requests) const -> Window {
    const auto back = [at](std::uint64_t n) { return at > n ? at - n : 0; };
    const std::uint64_t r0 = back(buckets);
    const std::uint64_t used =
        r0 > h ? 0 : (retries_of(w) - opened_[r0 % ring].retries.load(std::memory_order_acquire)) & retries_mask;
    const std::uint64_t q0 = back(request_span_);
    std::uint64_t counted = 0;
    if (q0 <= h) {
        counted = (requests - opened_[q0 % ring].requests.load(std::memory_order_acquire)) & requests_mask;
        if (counted > requests_mask / 2) counted = 0;  // read before that bucket opened: none of it is ours
    }
    return {used, allowed(counted)};
}

template <class V>
inline std::uint64_t BasicRatioBudgetCore<V>::allowed(std::uint64_t requests) const noexcept {
    constexpr std::uint64_t million = 1'000'000;
    // requests < 2^40 and the parts below 10^6 < 2^20: no product exceeds 2^60.
    const std::uint64_t n = (ratio_ / million) * requests + floor_ / million +
                            ((ratio_ % million) * requests + floor_ % million) / million;
    return n < static_cast<std::uint64_t>(INT_MAX) ? n : static_cast<std::uint64_t>(INT_MAX);
}

template <class V>
inline void BasicRatioBudgetCore<V>::freeze(std::uint64_t w, std::uint64_t target) const noexcept {
    const auto f = w | frozen_bit;
    if (head_.compare_exchange_strong(w, f, std::memory_order_acq_rel, std::memory_order_acquire)) help(f, target);
}

template <class V>
inline void BasicRatioBudgetCore<V>::help(std::uint64_t f, std::uint64_t hint) const noexcept {
    const auto v = version_of(f);
    const auto next = (v + 1) & version_mask;
    const auto from = bucket_[v & 1].load(std::memory_order_acquire);
    auto to = bucket_[next & 1].load(std::memory_order_acquire);
    if (head_.load(std::memory_order_acquire) != f) return;  // `from` and `to` belong to another move
    if (to <= from) {
        const auto want = hint > from ? hint : from + 1;
        if (bucket_[next & 1].compare_exchange_strong(to, want, std::memory_order_acq_rel, std::memory_order_acquire))
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

template <class V>
inline bool BasicRatioBudgetCore<V>::claim(std::atomic<std::uint64_t>& word, std::uint64_t value,
                                           std::uint64_t f) const noexcept {
    auto cur = word.load(std::memory_order_acquire);
    while (version_of(cur) != version_of(value)) {
        if (head_.load(std::memory_order_acquire) != f) return false;
        if (word.compare_exchange_weak(cur, value, std::memory_order_acq_rel, std::memory_order_acquire)) return true;
    }
    return true;
}

}  // namespace detail

REDRESS_DECL Budget::Budget(RatioBudgetOptions options)
    : Budget(std::shared_ptr<BudgetBackend>(std::make_shared<detail::RatioBudgetCore>(std::move(options)))) {}

}  // namespace redress
