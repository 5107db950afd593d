// <redress/impl/circuit_breaker.hpp>: the definitions <redress/circuit_breaker.hpp> declares.
// Included at the end of that header, or once, by <redress/impl/src.hpp> under separate
// compilation (detail/attributes.hpp says which definitions live here).
#pragma once

#include <redress/circuit_breaker.hpp>

#include <charconv>
#include <mutex>

#if defined(__linux__)
#include <linux/futex.h>  // FUTEX_WAIT_PRIVATE, FUTEX_WAKE_PRIVATE: the breaker's lock sleeps on a futex
#include <sys/syscall.h>  // SYS_futex
#include <unistd.h>       // syscall
#endif

namespace redress {

REDRESS_DECL std::string to_json(const BreakerSnapshot& snapshot) {
    auto number = [](auto v) {
        char buffer[64];
        const auto r = std::to_chars(buffer, buffer + sizeof buffer, v);
        return std::string(buffer, r.ptr);
    };
    auto text = [](std::string_view v) { return "\"" + std::string(v) + "\""; };
    std::string out = "{\"state\":" + text(to_string(snapshot.state));
    out += ",\"isolated\":";
    out += snapshot.isolated ? "true" : "false";
    out += ",\"since_ns\":" + number(snapshot.since.time_since_epoch().count());
    out += ",\"mode\":" + text(to_string(snapshot.mode));
    out += ",\"failures\":" + number(snapshot.failures);
    out += ",\"calls\":" + (snapshot.calls ? number(*snapshot.calls) : std::string("null"));
    out += ",\"failure_ratio\":" + (snapshot.failure_ratio ? number(*snapshot.failure_ratio) : std::string("null"));
    out += ",\"probes_in_flight\":" + number(snapshot.probes_in_flight);
    out += ",\"probe_successes\":" + number(snapshot.probe_successes);
    out += ",\"openings\":" + number(snapshot.openings);
    out += ",\"recovery_timeout_ns\":" + number(snapshot.recovery_timeout.count());
    if (snapshot.store_unavailable) {
        out += ",\"fleet\":";
        out += snapshot.fleet ? "true" : "false";
        out += ",\"store_unavailable\":" + number(*snapshot.store_unavailable);
    }
    out += "}";
    return out;
}

namespace detail {

// A member marked REDRESS_NOINLINE in its class is defined here without `inline`: g++ warns
// about an inline definition of a noinline function (-Wattributes). A class template's member
// needs no `inline` to be defined in every translation unit; the lock's two, members of a
// plain class, are declared REDRESS_DECL in the class instead.

#if defined(__linux__)
// The futex is the atomic's own 32 bits (lock-free, the size and layout of an unsigned).
static_assert(sizeof(std::atomic<unsigned>) == sizeof(unsigned) && std::atomic<unsigned>::is_always_lock_free);
REDRESS_DECL unsigned* SpinThenBlockMutex::word() noexcept { return reinterpret_cast<unsigned*>(&state_); }
#endif

void SpinThenBlockMutex::sleep_until_taken() noexcept {
    // Taken with the mark: its unlock wakes the next sleeper, if there is one.
    while (state_.exchange(contended_, std::memory_order_acquire) != free_) {
#if defined(__linux__)
        // Sleeps only while the word still holds the mark (FUTEX_WAIT compares first).
        (void)::syscall(SYS_futex, word(), FUTEX_WAIT_PRIVATE, contended_, nullptr, nullptr, 0);
#else
        state_.wait(contended_, std::memory_order_relaxed);
#endif
    }
}

void SpinThenBlockMutex::wake_one() noexcept {
#if defined(__linux__)
    (void)::syscall(SYS_futex, word(), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
#else
    state_.notify_one();
#endif
}

template <class V>
inline BasicBreakerCore<V>::BasicBreakerCore(CircuitBreakerOptions options) : options_(std::move(options)) {
    validate_and_complete();
    mode_ = options_.failure_threshold      ? BreakerMode::Count
            : options_.consecutive_failures ? BreakerMode::Consecutive
                                            : BreakerMode::Ratio;
    if (mode_ == BreakerMode::Ratio) {
        width_ = bucket_width(options_.window);
        // Buckets whose start `b * width_` and end are representable: the fast path's range.
        hot_min_ = std::numeric_limits<Duration::rep>::min() / width_ + 1;
        hot_max_ = std::numeric_limits<Duration::rep>::max() / width_ - 1;
    } else if (mode_ == BreakerMode::Count) {
        all_.reset(static_cast<std::size_t>(*options_.failure_threshold));
    }
    options_.class_thresholds.for_each([this](ErrorClass k, int n) {
        per_class_[static_cast<std::size_t>(k)].reset(static_cast<std::size_t>(n));
    });
    recovery_.store(options_.recovery_timeout.count(), std::memory_order_relaxed);
    since_.store(now_rep(), std::memory_order_relaxed);
    store_ = options_.store.get();
    if (store_ != nullptr) {
        word_.store(store_bit, std::memory_order_relaxed);
        next_refresh_.store(now_rep(), std::memory_order_relaxed);  // the first call reads the fleet's state
    }
    const bool steady = options_.clock.is_steady();
    coarse_ = mode_ == BreakerMode::Ratio && steady && width_ / 256 >= redress::CoarseClock::resolution().count();
    on_success_ = mode_ == BreakerMode::Count         ? OnSuccess::Nothing
                  : mode_ == BreakerMode::Consecutive ? OnSuccess::EndStreak
                  : steady                            ? OnSuccess::CountHot
                                                      : OnSuccess::CountNow;
    refresh_gates_locked();  // (no other thread knows the breaker yet)
}

// User-provided (not defaulted), so that separate compilation compiles it once with the
// other members instead of in every translation unit that destroys one.
template <class V>
inline BasicBreakerCore<V>::~BasicBreakerCore() {}

template <class V>
BreakerPermit BasicBreakerCore<V>::allow_slow(std::uint64_t w) {
    for (;;) {
        switch (phase_of(w)) {
            case Closed:
                if (store_ != nullptr) return closed_with_store();
                return BreakerPermit{};
            case Isolated:
                return rejected(CircuitState::Open);
            case Open: {
                const auto opened = opened_at_.load(std::memory_order_acquire);
                const auto recovery = recovery_.load(std::memory_order_acquire);
                const auto now = now_rep();
                const bool due = elapsed(now, opened) >= recovery;
                if (store_ != nullptr) {
                    // An answer, or empty: this call may become the probe (leased, or local).
                    if (auto answer = open_with_store(now, due)) return *answer;
                    const auto before = w;
                    w = word_.load(std::memory_order_acquire);
                    if (w != before) continue;  // changed meanwhile: decide again
                } else if (!due) {
                    return rejected(CircuitState::Open);
                }
                const auto half_open = next(w, HalfOpen) + one_probe;
                if (word_.compare_exchange_strong(w, half_open, std::memory_order_acq_rel,
                                                  std::memory_order_acquire)) {
                    {
                        // Every other writer of since_ holds the lock: under it, this change
                        // is dated only while it is still the latest (once per opening).
                        std::lock_guard lock(mutex_);
                        if (((word_.load(std::memory_order_acquire) ^ half_open) & ~probe_mask) == 0)
                            since_.store(now, std::memory_order_relaxed);
                    }
                    notify(BreakerStateChange{CircuitState::Open, CircuitState::HalfOpen,
                                              TransitionReason::RecoveryElapsed, at(now)});
                    return probe_permit(half_open, BreakerTransition{EventName::CircuitHalfOpen, CircuitState::HalfOpen});
                }
                break;  // w reloaded: decide again
            }
            default: {  // HalfOpen: a free probe slot admits; the breaker is already half-open
                if (probes_of(w) >= static_cast<std::uint64_t>(options_.half_open_probes))
                    return rejected(CircuitState::HalfOpen);
                if (word_.compare_exchange_strong(w, w + one_probe, std::memory_order_acq_rel,
                                                  std::memory_order_acquire)) {
                    return probe_permit(w, std::nullopt);
                }
                break;
            }
        }
    }
}

template <class V>
bool BasicBreakerCore<V>::fleet_fresh() const {
    return elapsed(now_rep(), next_refresh_.load(std::memory_order_relaxed)) < 0;
}

template <class V>
bool BasicBreakerCore<V>::admits_slowly(Duration::rep start) {
    if (!closed()) return false;
    if (on_success_ != OnSuccess::CountHot) return true;  // no bucket placed by the start
    if (start < hot_end_.load(std::memory_order_acquire)) return true;
    std::lock_guard lock(mutex_);
    if (phase_of(word_.load(std::memory_order_acquire)) != Closed) return false;
    start_bucket_locked(bucket_of(start));
    // False only where the bucket cannot be published (a clock near the ends of its range):
    // the call then takes the permit path, and its success is counted under the lock.
    return start < hot_end_.load(std::memory_order_relaxed);
}

template <class V>
void BasicBreakerCore<V>::record_call() {
    record_call_at(coarse_ ? redress::CoarseClock::now().time_since_epoch().count() : now_rep());
}

template <class V>
void BasicBreakerCore<V>::record_call_cold(Duration::rep now) {
    if (phase_of(word_.load(std::memory_order_acquire)) != Closed) return;  // a late report
    std::lock_guard lock(mutex_);
    if (phase_of(word_.load(std::memory_order_acquire)) != Closed) return;
    add_call_locked(now, false);
}

template <class V>
inline std::optional<BreakerTransition> BasicBreakerCore<V>::record_failure(ErrorClass klass,
                                                                            const BreakerPermit& permit) {
    if (!permit.allowed) return std::nullopt;
    // A value outside the eight classes (a cast, a classifier's bug) is counted as Unknown:
    // it indexes the per-class rings below, so it must never pass through as it is.
    if (static_cast<unsigned>(klass) >= error_class_count) klass = ErrorClass::Unknown;
    const bool trips = options_.trip_on.contains(klass);
    if (permit.probe) {
        std::optional<BreakerStateChange> change;
        std::optional<BreakerTransition> t;
        std::optional<Publication> publication;
        bool settled = false;
        {
            std::lock_guard lock(mutex_);
            if (current_probe_locked(permit)) {
                settled = true;
                // Divergence from the Python original: a class outside trip_on means the
                // downstream answered, so the probe counts as a success.
                t = trips ? open_locked(now_rep(), TransitionReason::ProbeFailed, klass, change)
                          : probe_succeeded_locked(change);
                publication = publication_locked(t);
            }
        }
        notify(change);
        publish(publication);
        if (settled) return t;
        // A stale probe: report it like any other call.
    }
    if (!trips) {
        if (mode_ == BreakerMode::Ratio) record_call();
        if (mode_ == BreakerMode::Consecutive) record_plain_success();
        return std::nullopt;
    }
    if (phase_of(word_.load(std::memory_order_acquire)) != Closed) return std::nullopt;

    // The clock is read before the lock, so the critical section is a few stores; the
    // recorded times are kept in order by never going below the last one recorded (so, as
    // when the clock was read under the lock, a failure may be recorded up to the lock
    // wait after it was reported, never before).
    const auto read = now_rep();
    std::optional<BreakerStateChange> change;
    std::optional<BreakerTransition> t;
    std::optional<Publication> publication;
    {
        std::lock_guard lock(mutex_);
        // A failure reported while open or half-open belongs to a call admitted before the
        // breaker opened: the breaker already acted, and closing will clear the counts.
        if (phase_of(word_.load(std::memory_order_acquire)) != Closed) return std::nullopt;
        const auto now = read < last_failure_ ? last_failure_ : read;
        last_failure_ = now;
        const auto window = options_.window.count();
        bool trip = false;
        switch (mode_) {
            case BreakerMode::Ratio: {
                add_call_locked(now, true);
                const auto [calls, failures] = totals_locked(now);
                trip = calls >= static_cast<std::uint64_t>(options_.minimum_throughput) &&
                       static_cast<double>(failures) / static_cast<double>(calls) >= *options_.failure_ratio;
                break;
            }
            case BreakerMode::Count:
                trip = all_.push_and_check(now, window);
                break;
            case BreakerMode::Consecutive: {
                const auto n = streak_.load(std::memory_order_relaxed) + 1;
                streak_.store(n, std::memory_order_relaxed);
                trip = n >= static_cast<std::uint64_t>(*options_.consecutive_failures);
                break;
            }
        }
        auto& own = per_class_[static_cast<std::size_t>(klass)];
        if (own.enabled()) trip = own.push_and_check(now, window) || trip;
        if (trip) {
            t = open_locked(now, TransitionReason::Failures, klass, change);
            publication = publication_locked(t);
        }
    }
    notify(change);
    publish(publication);
    return t;
}

template <class V>
inline std::optional<BreakerTransition> BasicBreakerCore<V>::record_cancel(const BreakerPermit& permit) {
    if (!permit.allowed || !permit.probe) return std::nullopt;
    std::lock_guard lock(mutex_);
    if (current_probe_locked(permit)) release_probe_locked();
    return std::nullopt;
}

template <class V>
inline void BasicBreakerCore<V>::isolate() {
    std::optional<BreakerStateChange> change;
    {
        std::lock_guard lock(mutex_);
        const auto now = now_rep();
        linked_.store(false, std::memory_order_relaxed);
        set_phase_locked(Isolated, now, TransitionReason::Isolated, change);
    }
    notify(change);
}

template <class V>
inline void BasicBreakerCore<V>::reset() {
    std::optional<BreakerStateChange> change;
    {
        std::lock_guard lock(mutex_);
        clear_counts_locked();
        openings_ = 0;
        recovery_.store(options_.recovery_timeout.count(), std::memory_order_relaxed);
        linked_.store(false, std::memory_order_relaxed);  // the fleet's next opening is followed, not this one
        set_phase_locked(Closed, now_rep(), TransitionReason::Reset, change);
    }
    notify(change);
}

template <class V>
inline BreakerSnapshot BasicBreakerCore<V>::snapshot() const {
    std::lock_guard lock(mutex_);
    const auto w = word_.load(std::memory_order_acquire);
    const auto phase = phase_of(w);
    BreakerSnapshot s;
    s.state = visible(phase);
    s.isolated = phase == Isolated;
    s.since = at(since_.load(std::memory_order_relaxed));
    s.mode = mode_;
    s.probes_in_flight = phase == HalfOpen ? static_cast<int>(probes_of(w)) : 0;
    s.probe_successes = phase == HalfOpen ? probe_successes_ : 0;
    s.openings = openings_;
    s.recovery_timeout = Duration{recovery_.load(std::memory_order_relaxed)};
    if (store_ != nullptr) {
        s.fleet = phase != Closed && linked_.load(std::memory_order_relaxed);
        s.store_unavailable = store_unavailable_.load(std::memory_order_relaxed);
    }
    const bool closed = phase == Closed;
    switch (mode_) {
        case BreakerMode::Ratio: {
            const auto [calls, failures] = closed ? totals_locked(now_rep()) : std::pair<std::uint64_t, std::uint64_t>{};
            s.failures = failures;
            s.calls = calls;
            if (calls != 0) s.failure_ratio = static_cast<double>(failures) / static_cast<double>(calls);
            break;
        }
        case BreakerMode::Count:
            s.failures = closed ? all_.count_within(now_rep(), options_.window.count()) : 0;
            break;
        case BreakerMode::Consecutive:
            s.failures = closed ? streak_.load(std::memory_order_relaxed) : 0;
            break;
    }
    return s;
}

template <class V>
inline void BasicBreakerCore<V>::restore(const BreakerSnapshot& s) {
    std::optional<BreakerStateChange> change;
    {
        std::lock_guard lock(mutex_);
        const auto now = now_rep();
        clear_counts_locked();
        // A time ahead of this clock (another boot, another clock) is taken as now: an open
        // breaker then waits a whole recovery timeout, never less.
        const auto since = s.since.time_since_epoch().count() > now ? now : s.since.time_since_epoch().count();
        openings_ = s.openings < 0 ? 0 : s.openings;
        auto recovery = options_.recovery_timeout;
        if (options_.recovery_backoff) recovery = clamp_recovery(s.recovery_timeout);
        recovery_.store(recovery.count(), std::memory_order_relaxed);
        if (mode_ == BreakerMode::Consecutive && s.mode == BreakerMode::Consecutive && s.state == CircuitState::Closed)
            streak_.store(s.failures, std::memory_order_relaxed);
        opened_at_.store(since, std::memory_order_relaxed);
        // Not the fleet's opening: the first refresh finds the one on record, if any.
        linked_.store(false, std::memory_order_relaxed);
        fleet_seen_.store(0, std::memory_order_relaxed);
        Phase p = Closed;
        if (s.isolated) {
            p = Isolated;
        } else if (s.state == CircuitState::Open) {
            p = Open;
        } else if (s.state == CircuitState::HalfOpen) {
            p = HalfOpen;  // the probes in flight ended with the process that held them
        }
        set_phase_locked(p, since, TransitionReason::Restored, change);
        if (p == HalfOpen)
            probe_successes_ = s.probe_successes < 0 ? 0 : s.probe_successes >= options_.close_after ? options_.close_after - 1 : s.probe_successes;
        if (change) change->at = at(now);
    }
    notify(change);
}

template <class V>
inline std::uint64_t BasicBreakerCore<V>::probes_of(std::uint64_t w) noexcept {
    return (w & probe_mask) >> flag_bits;
}

template <class V>
inline std::uint64_t BasicBreakerCore<V>::next(std::uint64_t w, Phase p) noexcept {
    return (((w >> generation_shift) + 1) << generation_shift) | (w & store_bit) | p;
}

template <class V>
inline BasicBreakerCore<V>::TimeRing::~TimeRing() {}

template <class V>
inline void BasicBreakerCore<V>::TimeRing::reset(std::size_t capacity) {
    times_.reset(new Duration::rep[capacity]());
    capacity_ = capacity;
    clear();
}

template <class V>
inline void BasicBreakerCore<V>::TimeRing::clear() noexcept {
    next_ = 0;
    size_ = 0;
}

template <class V>
inline bool BasicBreakerCore<V>::TimeRing::push_and_check(Duration::rep now, Duration::rep window) {
    times_[next_] = now;
    next_ = (next_ + 1) % capacity_;
    if (size_ < capacity_) ++size_;
    // When full, next_ now indexes the oldest of the last `capacity` failures.
    return size_ == capacity_ && elapsed(now, times_[next_]) < window;
}

template <class V>
inline std::uint64_t BasicBreakerCore<V>::TimeRing::count_within(Duration::rep now,
                                                                 Duration::rep window) const noexcept {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < size_; ++i)
        if (elapsed(now, times_[(next_ + capacity_ - 1 - i) % capacity_]) < window) ++n;
    return n;
}

template <class V>
inline Duration::rep BasicBreakerCore<V>::bucket_width(Duration window) noexcept {
    const auto n = static_cast<Duration::rep>(ratio_buckets);
    const auto w = window.count() / n + (window.count() % n != 0 ? 1 : 0);
    return w < 1 ? 1 : w;
}

template <class V>
inline std::int64_t BasicBreakerCore<V>::bucket_of(Duration::rep t) const noexcept {
    auto q = t / width_;
    if (t % width_ < 0) --q;
    return q;
}

template <class V>
inline auto BasicBreakerCore<V>::slot_of(std::int64_t b) noexcept -> RatioBucket& {
    static_assert((ratio_buckets & (ratio_buckets - 1)) == 0);
    return ratio_[static_cast<std::size_t>(static_cast<std::uint64_t>(b) & (ratio_buckets - 1))];
}

template <class V>
inline void BasicBreakerCore<V>::invalid(std::string_view option, std::string_view rule) {
    invalid_option("CircuitBreakerOptions", option, rule);
}

template <class V>
inline void BasicBreakerCore<V>::invalid(std::string_view option, const Message& rule) {
    invalid_option("CircuitBreakerOptions", option, rule);
}

template <class V>
inline void BasicBreakerCore<V>::require_in_range(std::string_view option, int n) {
    constexpr int cap = CircuitBreakerOptions::max_threshold;
    if (n < 1 || n > cap) invalid(option, Message{} << "must be in [1, " << cap << "] (is " << n << ")");
}

template <class V>
inline void BasicBreakerCore<V>::validate_and_complete() {
    auto& o = options_;
    constexpr int cap = CircuitBreakerOptions::max_threshold;
    if (o.failure_threshold) require_in_range("failure_threshold", *o.failure_threshold);
    if (o.consecutive_failures) require_in_range("consecutive_failures", *o.consecutive_failures);
    if (o.window <= Duration::zero()) invalid("window", "must be > 0");
    if (o.recovery_timeout < Duration::zero()) invalid("recovery_timeout", "must be >= 0");
    if (!o.trip_on.valid()) invalid("trip_on", "must hold only ErrorClass values (a value outside the eight classes was inserted)");
    o.class_thresholds.for_each([](ErrorClass k, int n) {
        if (n < 1 || n > cap)
            invalid("class_thresholds",
                    Message{} << "must be in [1, " << cap << "] (class " << to_string(k) << " has " << n << ")");
    });
    if (o.failure_ratio && !(*o.failure_ratio > 0.0 && *o.failure_ratio <= 1.0))
        invalid("failure_ratio", "must be in (0, 1]");
    if (o.minimum_throughput < 1)
        invalid("minimum_throughput", Message{} << "must be >= 1 (is " << o.minimum_throughput << ")");
    require_in_range("half_open_probes", o.half_open_probes);
    require_in_range("close_after", o.close_after);
    if (o.recovery_backoff && o.max_recovery_timeout < o.recovery_timeout)
        invalid("max_recovery_timeout", "must be >= recovery_timeout when recovery_backoff is set");
    if (o.store_refresh <= Duration::zero()) invalid("store_refresh", "must be > 0");
    if (o.store_lease <= Duration::zero()) invalid("store_lease", "must be > 0");
    // One mode per breaker: named is the later of two set, in declaration order.
    if (o.failure_threshold && o.consecutive_failures)
        invalid("consecutive_failures", "cannot be combined with failure_threshold (one mode per breaker)");
    if (o.failure_ratio && o.failure_threshold)
        invalid("failure_ratio", "cannot be combined with failure_threshold (one mode per breaker)");
    if (o.failure_ratio && o.consecutive_failures)
        invalid("failure_ratio", "cannot be combined with consecutive_failures (one mode per breaker)");
    if (!o.failure_threshold && !o.consecutive_failures && !o.failure_ratio)
        o.failure_ratio = CircuitBreakerOptions::default_failure_ratio;
    o.class_thresholds.for_each([&o](ErrorClass k, int) { o.trip_on.insert(k); });
}

template <class V>
inline Duration::rep BasicBreakerCore<V>::now_rep() const {
    return options_.clock.now().time_since_epoch().count();
}

template <class V>
inline TimePoint BasicBreakerCore<V>::at(Duration::rep t) noexcept {
    return TimePoint{Duration{t}};
}

template <class V>
inline BreakerPermit BasicBreakerCore<V>::rejected(CircuitState s) noexcept {
    return BreakerPermit{false, false, s, BreakerTransition{EventName::CircuitRejected, s}, 0};
}

template <class V>
inline BreakerPermit BasicBreakerCore<V>::probe_permit(std::uint64_t w, std::optional<BreakerTransition> t) noexcept {
    return BreakerPermit{true, true, CircuitState::HalfOpen, t, w & ~probe_mask};
}

template <class V>
inline bool BasicBreakerCore<V>::current_probe_locked(const BreakerPermit& permit) const noexcept {
    const auto w = word_.load(std::memory_order_acquire);
    return phase_of(w) == HalfOpen && (w & ~probe_mask) == permit.ticket;
}

template <class V>
inline void BasicBreakerCore<V>::notify(const std::optional<BreakerStateChange>& change) const noexcept {
    if (!change || !options_.on_state_change) return;
    try {
        options_.on_state_change(*change);
    } catch (...) {  // NOLINT(bugprone-empty-catch): observing never changes what the breaker does
    }
}

template <class V>
inline auto BasicBreakerCore<V>::publication_locked(const std::optional<BreakerTransition>& t) noexcept
    -> std::optional<Publication> {
    if (store_ == nullptr || !t) return std::nullopt;
    if (t->name == EventName::CircuitOpened)
        return Publication{true, word_.load(std::memory_order_acquire) & ~probe_mask,
                           Duration{recovery_.load(std::memory_order_relaxed)}, 0};
    if (t->name == EventName::CircuitClosed && linked_.load(std::memory_order_relaxed)) {
        linked_.store(false, std::memory_order_relaxed);
        return Publication{false, 0, Duration::zero(), fleet_seen_.load(std::memory_order_relaxed)};
    }
    return std::nullopt;
}

template <class V>
inline void BasicBreakerCore<V>::publish(const std::optional<Publication>& p) {
    if (!p) return;
    if (!p->open) {
        (void)ask([&] { return store_->publish_closed(p->generation); });
        return;
    }
    const auto answer = ask([&] { return store_->publish_open(p->recovery); });
    if (!answer || !answer->open) return;  // not taken: an opening of this process alone
    std::lock_guard lock(mutex_);
    if ((word_.load(std::memory_order_acquire) & ~probe_mask) != p->word) return;
    time_by_fleet_locked(*answer, now_rep(), true);
    fleet_seen_.store(answer->generation, std::memory_order_relaxed);
    linked_.store(true, std::memory_order_relaxed);
}

template <class V>
inline Duration::rep BasicBreakerCore<V>::time_by_fleet_locked(const BreakerFleetState& fleet, Duration::rep now,
                                                             bool open) noexcept {
    const auto open_for = fleet.open_for.count() > 0 ? fleet.open_for.count() : 0;
    const auto recovery = fleet.recovery_timeout.count() > 0 ? fleet.recovery_timeout.count() : 0;
    const auto opened = shifted(now, -open_for);
    opened_at_.store(opened, std::memory_order_relaxed);
    if (open) since_.store(opened, std::memory_order_relaxed);
    recovery_.store(recovery, std::memory_order_relaxed);
    bring_refresh_forward(shifted(opened, recovery), now);
    return opened;
}

template <class V>
template <class Call>
inline std::optional<BreakerFleetState> BasicBreakerCore<V>::ask(Call&& call) noexcept {
    // Not `answer = call()` into an empty local returned by name: g++ 12 (-O1 and above) then
    // builds the call's result in the return slot and drops the local's empty initialization,
    // so a store that threw was counted or not depending on what the slot held.
    try {
        if (auto answer = std::forward<Call>(call)()) return answer;
    } catch (...) {  // NOLINT(bugprone-empty-catch): a store that throws did not answer
    }
    store_unavailable_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
}

template <class V>
inline bool BasicBreakerCore<V>::claim_refresh(Duration::rep now) noexcept {
    auto due = next_refresh_.load(std::memory_order_relaxed);
    if (elapsed(now, due) < 0) return false;
    return next_refresh_.compare_exchange_strong(due, shifted(now, options_.store_refresh.count()),
                                                 std::memory_order_relaxed);
}

template <class V>
inline void BasicBreakerCore<V>::bring_refresh_forward(Duration::rep t, Duration::rep now) noexcept {
    if (elapsed(t, now) <= 0) return;
    auto due = next_refresh_.load(std::memory_order_relaxed);
    while (elapsed(t, due) < 0 && !next_refresh_.compare_exchange_weak(due, t, std::memory_order_relaxed)) {
    }
}

template <class V>
BreakerPermit BasicBreakerCore<V>::closed_with_store() {
    const auto now = now_rep();
    if (!claim_refresh(now)) return BreakerPermit{};
    const auto answer = ask([&] { return store_->read(); });
    if (answer && follow_fleet(*answer) == Followed::Opened)
        return BreakerPermit{false, false, CircuitState::Open,
                             BreakerTransition{EventName::CircuitOpened, CircuitState::Open}, 0};
    return BreakerPermit{};
}

template <class V>
inline std::optional<BreakerPermit> BasicBreakerCore<V>::open_with_store(Duration::rep now, bool due) {
    const bool linked = linked_.load(std::memory_order_relaxed);
    if (!claim_refresh(now)) {
        if (due && !linked) return std::nullopt;
        return rejected(CircuitState::Open);
    }
    const auto generation = fleet_seen_.load(std::memory_order_relaxed);
    const auto answer = ask([&] {
        return due && linked ? store_->acquire_probe(generation, options_.store_lease) : store_->read();
    });
    if (!answer) {
        if (due) return std::nullopt;
        return rejected(CircuitState::Open);
    }
    if (answer->probe_granted) return std::nullopt;
    if (follow_fleet(*answer) == Followed::Closed)
        return BreakerPermit{true, false, CircuitState::Closed,
                             BreakerTransition{EventName::CircuitClosed, CircuitState::Closed}, 0};
    if (due && !linked_.load(std::memory_order_relaxed)) return std::nullopt;
    return rejected(CircuitState::Open);
}

template <class V>
inline auto BasicBreakerCore<V>::follow_fleet(const BreakerFleetState& fleet) -> Followed {
    std::optional<BreakerStateChange> change;
    Followed followed = Followed::Nothing;
    {
        std::lock_guard lock(mutex_);
        const auto now = now_rep();  // after the answer (see time_by_fleet_locked)
        const auto phase = phase_of(word_.load(std::memory_order_acquire));
        if (phase == Isolated) return Followed::Nothing;
        const bool linked = linked_.load(std::memory_order_relaxed);
        if (fleet.open) {
            const bool unseen = fleet.generation != fleet_seen_.load(std::memory_order_relaxed);
            if (!unseen && !(linked && phase == Open)) return Followed::Nothing;
            const auto opened = time_by_fleet_locked(fleet, now, phase == Open);
            fleet_seen_.store(fleet.generation, std::memory_order_relaxed);
            linked_.store(true, std::memory_order_relaxed);
            if (phase != Open) {
                if (openings_ < std::numeric_limits<int>::max()) ++openings_;
                set_phase_locked(Open, opened, TransitionReason::Fleet, change);
                if (change) change->at = at(now);
                followed = Followed::Opened;
            }
        } else if (linked && phase != Closed) {
            // The opening followed is off the record: a probe elsewhere closed the fleet.
            clear_counts_locked();
            openings_ = 0;
            recovery_.store(options_.recovery_timeout.count(), std::memory_order_relaxed);
            linked_.store(false, std::memory_order_relaxed);
            set_phase_locked(Closed, now, TransitionReason::Fleet, change);
            followed = Followed::Closed;
        }
    }
    notify(change);
    return followed;
}

template <class V>
inline void BasicBreakerCore<V>::set_phase_locked(Phase p, Duration::rep now, TransitionReason reason,
                                                std::optional<BreakerStateChange>& change) noexcept {
    auto w = word_.load(std::memory_order_acquire);
    since_.store(now, std::memory_order_relaxed);
    probe_successes_ = 0;
    if (p != Closed) {  // before the phase: whoever sees it not closed finds the gates shut
        gate_.store(never, std::memory_order_release);
        hot_end_.store(never, std::memory_order_release);
    }
    while (!word_.compare_exchange_weak(w, next(w, p), std::memory_order_acq_rel, std::memory_order_acquire)) {
    }
    refresh_gates_locked();
    const auto from = visible(phase_of(w));
    if (from != visible(p)) change = BreakerStateChange{from, visible(p), reason, at(now)};
}

template <class V>
inline Duration BasicBreakerCore<V>::clamp_recovery(Duration d) const noexcept {
    if (d < options_.recovery_timeout) return options_.recovery_timeout;
    if (d > options_.max_recovery_timeout) return options_.max_recovery_timeout;
    return d;
}

template <class V>
inline std::optional<BreakerTransition> BasicBreakerCore<V>::open_locked(
    Duration::rep now, TransitionReason reason, ErrorClass klass, std::optional<BreakerStateChange>& change) noexcept {
    if (openings_ < std::numeric_limits<int>::max()) ++openings_;
    if (options_.recovery_backoff && openings_ >= 2) {
        const Duration previous{recovery_.load(std::memory_order_relaxed)};
        BackoffContext ctx;
        ctx.attempt = openings_ - 1;
        ctx.classification.klass = klass;
        ctx.prev_sleep = previous;
        try {
            recovery_.store(clamp_recovery(options_.recovery_backoff(ctx)).count(), std::memory_order_relaxed);
        } catch (...) {  // NOLINT(bugprone-empty-catch): a throwing strategy keeps the last timeout
        }
    }
    opened_at_.store(now, std::memory_order_relaxed);
    linked_.store(false, std::memory_order_relaxed);  // until the store takes it (publish)
    set_phase_locked(Open, now, reason, change);  // release: opened_at_ is visible to whoever sees Open
    return BreakerTransition{EventName::CircuitOpened, CircuitState::Open};
}

template <class V>
inline std::optional<BreakerTransition> BasicBreakerCore<V>::probe_succeeded_locked(
    std::optional<BreakerStateChange>& change) {
    if (++probe_successes_ < options_.close_after) {
        release_probe_locked();
        return std::nullopt;
    }
    clear_counts_locked();
    openings_ = 0;
    recovery_.store(options_.recovery_timeout.count(), std::memory_order_relaxed);
    set_phase_locked(Closed, now_rep(), TransitionReason::ProbesSucceeded, change);
    return BreakerTransition{EventName::CircuitClosed, CircuitState::Closed};
}

template <class V>
inline std::optional<BreakerTransition> BasicBreakerCore<V>::record_probe_success(const BreakerPermit& permit) {
    std::optional<BreakerStateChange> change;
    std::optional<BreakerTransition> t;
    std::optional<Publication> publication;
    bool settled = false;
    {
        std::lock_guard lock(mutex_);
        if (current_probe_locked(permit)) {
            settled = true;
            t = probe_succeeded_locked(change);
            publication = publication_locked(t);
        }
    }
    notify(change);
    publish(publication);
    if (!settled) record_plain_success();  // a stale probe: reported like any other call
    return t;
}

template <class V>
inline void BasicBreakerCore<V>::release_probe_locked() noexcept {
    auto w = word_.load(std::memory_order_acquire);
    while (probes_of(w) != 0 &&
           !word_.compare_exchange_weak(w, w - one_probe, std::memory_order_acq_rel, std::memory_order_acquire)) {
    }
}

template <class V>
inline void BasicBreakerCore<V>::clear_counts_locked() noexcept {
    all_.clear();
    for (auto& r : per_class_) r.clear();
    ratio_.fill(RatioBucket{});
    // A success admitted before and reported after this store counts in the next period,
    // as one reported just after the clear would.
    for (auto& lane : lanes_) lane.calls.store(0, std::memory_order_relaxed);
    streak_.store(0, std::memory_order_relaxed);
    hot_ = no_hot;
    refresh_gates_locked();
}

template <class V>
inline void BasicBreakerCore<V>::add_call_locked(Duration::rep now, bool failure) noexcept {
    const auto b = bucket_of(now);
    auto& slot = start_bucket_locked(b);
    // A call read its time a window or more before a later one started this slot (its thread
    // was descheduled): it is out of the window already, and must not take the slot back
    // from the newer bucket.
    if (slot.index != b) return;
    ++slot.calls;
    if (failure) ++slot.failures;
}

template <class V>
inline auto BasicBreakerCore<V>::start_bucket_locked(std::int64_t b) noexcept -> RatioBucket& {
    auto& slot = slot_of(b);
    if (slot.index >= b) return slot;
    auto drain = [this] {
        std::uint64_t n = 0;
        for (auto& lane : lanes_) n += lane.calls.exchange(0, std::memory_order_relaxed);
        return n;
    };
    // Published for the fast paths only where `b`'s end is representable.
    if (b >= hot_min_ && b <= hot_max_ && (hot_ == no_hot || b > hot_)) {
        const auto drained = drain();
        // (No hot bucket: what the lanes hold was counted before the counts were cleared.)
        if (hot_ != no_hot) slot_of(hot_).calls += drained;
        hot_ = b;
    } else if (hot_ != no_hot && &slot == &slot_of(hot_)) {
        // A bucket past the publishable range takes the hot bucket's slot: the hot bucket
        // has left the window, and its lanes' counts with it.
        (void)drain();
        hot_ = no_hot;
    }
    slot = RatioBucket{b, 0, 0};
    refresh_gates_locked();
    return slot;
}

template <class V>
inline void BasicBreakerCore<V>::refresh_gates_locked() noexcept {
    const bool closed = phase_of(word_.load(std::memory_order_acquire)) == Closed;
    const auto end = closed && hot_ != no_hot ? (hot_ + 1) * width_ : never;
    hot_end_.store(end, std::memory_order_release);
    auto gate = never;  // decided out of line: not closed, with a store, or another clock's readings
    if (closed && store_ == nullptr && on_success_ != OnSuccess::CountNow)
        gate = on_success_ == OnSuccess::CountHot ? end : always;
    gate_.store(gate, std::memory_order_release);
}

template <class V>
inline std::pair<std::uint64_t, std::uint64_t> BasicBreakerCore<V>::totals_locked(Duration::rep now) const noexcept {
    const auto current = bucket_of(now);
    std::uint64_t calls = 0;
    std::uint64_t failures = 0;
    for (const auto& slot : ratio_) {
        // The distance in unsigned arithmetic: exact for any index <= current (an unused
        // slot's index is the minimum value; and current - 32 overflows near it).
        if (slot.index <= current &&
            static_cast<std::uint64_t>(current) - static_cast<std::uint64_t>(slot.index) < ratio_buckets) {
            calls += slot.calls;
            failures += slot.failures;
            if (hot_ != no_hot && slot.index == hot_)
                for (const auto& lane : lanes_) calls += lane.calls.load(std::memory_order_relaxed);
        }
    }
    return {calls, failures};
}

template <class V>
std::size_t BasicBreakerCore<V>::next_lane() noexcept {
    static std::atomic<std::size_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed) % hot_lanes;
}

}  // namespace detail

REDRESS_DECL CircuitBreaker::CircuitBreaker() : CircuitBreaker(CircuitBreakerOptions{}) {}

// Not make_shared: the control block is a second allocation, once per breaker, and a
// translation unit that builds a breaker compiles far less than make_shared's machinery.
REDRESS_DECL CircuitBreaker::CircuitBreaker(CircuitBreakerOptions options)
    : core_(new detail::BreakerCore(std::move(options))) {}

REDRESS_DECL std::optional<BreakerTransition> CircuitBreaker::record_failure(ErrorClass klass,
                                                                            const BreakerPermit& permit) {
    return core_->record_failure(klass, permit);
}

REDRESS_DECL std::optional<BreakerTransition> CircuitBreaker::record_cancel(const BreakerPermit& permit) {
    return core_->record_cancel(permit);
}

REDRESS_DECL void CircuitBreaker::isolate() { core_->isolate(); }

REDRESS_DECL void CircuitBreaker::reset() { core_->reset(); }

REDRESS_DECL BreakerSnapshot CircuitBreaker::snapshot() const { return core_->snapshot(); }

REDRESS_DECL void CircuitBreaker::restore(const BreakerSnapshot& snapshot) { core_->restore(snapshot); }

}  // namespace redress
