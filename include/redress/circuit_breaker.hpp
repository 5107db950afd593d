// CircuitBreaker: fail fast while a downstream is unhealthy (see docs/circuit_breaker.md).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

#include <redress/clock.hpp>
#include <redress/detail/attributes.hpp>
#include <redress/detail/message.hpp>
#include <redress/error_class.hpp>
#include <redress/errors.hpp>
#include <redress/vocabulary.hpp>

namespace redress {

/// Settings of a `CircuitBreaker`. Designated initializers name what differs from the defaults:
/// `redress::CircuitBreaker{{.failure_threshold = 5, .window = 60s, .recovery_timeout = 30s}}`.
struct CircuitBreakerOptions {
    /// The largest `failure_threshold` and class threshold accepted. Count mode keeps the
    /// times of the last `n` failures (8 bytes each), so this bounds the breaker's memory;
    /// thresholds in the thousands are rates, which ratio mode (`failure_ratio`) expresses in
    /// constant memory. See docs/circuit_breaker.md.
    static constexpr int max_threshold = 10'000;

    /// Failures of a `trip_on` class within `window` that open the breaker (count mode);
    /// 1 to `max_threshold`.
    int failure_threshold = 5;
    /// The rolling window in which failures (and, in ratio mode, calls) are counted.
    Duration window = std::chrono::seconds(60);
    /// Time the breaker stays open before the next call becomes the half-open probe.
    Duration recovery_timeout = std::chrono::seconds(30);
    /// Classes that count as failures; the keys of `class_thresholds` are added. A value
    /// outside `ErrorClass` is rejected at construction.
    ErrorClassSet trip_on{ErrorClass::Transient, ErrorClass::ServerError};
    /// Per-class thresholds: `n` failures of that class within `window` open the breaker,
    /// whatever the other counts. Such failures also count toward `failure_threshold`.
    /// Each 1 to `max_threshold`.
    PerClass<int> class_thresholds{};
    /// Ratio mode when set: the breaker opens when (trip_on failures) / (calls) within `window`
    /// reaches this ratio, in (0, 1]; `failure_threshold` is then not used.
    std::optional<double> failure_ratio{};
    /// Ratio mode only: calls recorded within `window` before the ratio can open the breaker.
    int minimum_throughput = 10;
    /// The clock; default `std::chrono::steady_clock`.
    AnyClock clock{};
};

/// A state change (or rejection) caused by one call, with the event a policy should emit:
/// `{EventName::CircuitOpened, CircuitState::Open}`.
struct BreakerTransition {
    /// The event to emit (`CircuitOpened`, `CircuitHalfOpen`, `CircuitClosed`, `CircuitRejected`).
    EventName name;
    /// The breaker's state after the change (for a rejection, the state that rejected).
    CircuitState state;

    friend bool operator==(const BreakerTransition&, const BreakerTransition&) = default;
};

/// The answer of `allow()`. Pass it back to the `record_*` call that reports how the call ended.
struct BreakerPermit {
    /// False when the breaker rejected the call; a rejected call must not run and is not recorded.
    bool allowed = true;
    /// True when this call is the single half-open probe.
    bool probe = false;
    /// The state this call saw, or entered (`HalfOpen` for the probe).
    CircuitState state = CircuitState::Closed;
    /// `{CircuitHalfOpen, HalfOpen}` when this call moved the breaker to half-open;
    /// `{CircuitRejected, Open or HalfOpen}` when rejected; empty otherwise.
    std::optional<BreakerTransition> transition{};
    /// Opaque: identifies the probe, so that a late report of an older probe (after `reset()`
    /// or `isolate()`) cannot settle a newer one. Zero for every non-probe permit.
    std::uint64_t ticket = 0;
};

namespace detail {

/// A `std::mutex` that spins briefly before it sleeps. The breaker's critical sections are a
/// few dozen nanoseconds; with `std::mutex` alone, two threads recording failures at once
/// made one of them sleep in the kernel for microseconds (a futex round trip).
class SpinThenBlockMutex {
public:
    void lock() {
        for (int i = 0; i < 128; ++i) {
            if (mutex_.try_lock()) return;
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
        mutex_.lock();
    }
    bool try_lock() { return mutex_.try_lock(); }
    void unlock() { mutex_.unlock(); }

private:
    std::mutex mutex_;
};

/// The shared state behind `CircuitBreaker` handles.
///
/// The phase lives in one atomic word `generation << 3 | phase`; every phase change bumps the
/// generation, so a compare-exchange made on a stale reading fails (no ABA between two
/// openings). Closed-state `allow()` and count-mode success recording read that word only.
/// The only lock-free phase change is `Open / HalfOpenIdle -> Probing` (in `allow()`); every
/// other change, and all failure counting, happens under `mutex_`.
class BreakerCore {
public:
    explicit BreakerCore(CircuitBreakerOptions options) : options_(std::move(options)) {
        validate_and_complete();
        ratio_mode_ = options_.failure_ratio.has_value();
        if (ratio_mode_) {
            width_ = bucket_width(options_.window);
        } else {
            all_.reset(static_cast<std::size_t>(options_.failure_threshold));
        }
        options_.class_thresholds.for_each([this](ErrorClass k, int n) {
            per_class_[static_cast<std::size_t>(k)].reset(static_cast<std::size_t>(n));
        });
    }

    /// Closed: one load, small enough to inline at the call site; other phases decide in
    /// `allow_slow`.
    REDRESS_INLINE BreakerPermit allow() {
        const auto w = word_.load(std::memory_order_acquire);
        if (phase_of(w) == Closed) return BreakerPermit{};
        return allow_slow(w);
    }

    REDRESS_NOINLINE BreakerPermit allow_slow(std::uint64_t w) {
        for (;;) {
            switch (phase_of(w)) {
                case Closed:
                    return BreakerPermit{};
                case Isolated:
                    return rejected(CircuitState::Open);
                case Probing:
                    return rejected(CircuitState::HalfOpen);
                case Open: {
                    const auto opened = opened_at_.load(std::memory_order_acquire);
                    const auto now = options_.clock.now().time_since_epoch().count();
                    if (elapsed(now, opened) < options_.recovery_timeout.count()) return rejected(CircuitState::Open);
                    const auto probing = next(w, Probing);
                    if (word_.compare_exchange_strong(w, probing, std::memory_order_acq_rel,
                                                      std::memory_order_acquire)) {
                        return probe_permit(probing, BreakerTransition{EventName::CircuitHalfOpen, CircuitState::HalfOpen});
                    }
                    break;  // w reloaded: decide again
                }
                case HalfOpenIdle: {
                    // A cancelled probe freed the slot: the next call probes; the breaker was
                    // already half-open, so there is no new transition to report.
                    const auto probing = next(w, Probing);
                    if (word_.compare_exchange_strong(w, probing, std::memory_order_acq_rel,
                                                      std::memory_order_acquire)) {
                        return probe_permit(probing, std::nullopt);
                    }
                    break;
                }
            }
        }
    }

    /// Count mode, not the probe: nothing to record (inlined); otherwise `record_success_slow`.
    REDRESS_INLINE std::optional<BreakerTransition> record_success(const BreakerPermit& permit) {
        if (!permit.probe && !ratio_mode_) return std::nullopt;
        return record_success_slow(permit);
    }

    /// True when `allow()` would answer the plain closed permit (`BreakerPermit{}`) right now.
    REDRESS_INLINE bool closed() const noexcept { return phase_of(word_.load(std::memory_order_acquire)) == Closed; }

    /// `record_success` of the plain closed permit (`BreakerPermit{}`: allowed, not the probe),
    /// for a caller that knows it held one: the permit need not exist, only the mode is read.
    REDRESS_INLINE void record_plain_success() {
        if (ratio_mode_) [[unlikely]]
            (void)record_success_slow(BreakerPermit{});
    }

    REDRESS_NOINLINE std::optional<BreakerTransition> record_success_slow(const BreakerPermit& permit) {
        if (!permit.allowed) return std::nullopt;
        if (permit.probe) {
            std::lock_guard lock(mutex_);
            if (word_.load(std::memory_order_acquire) == permit.ticket) return close_locked();
            // A stale probe: report it like any other call.
        }
        if (!options_.failure_ratio) return std::nullopt;  // count mode: successes change nothing
        if (phase_of(word_.load(std::memory_order_acquire)) != Closed) return std::nullopt;
        std::lock_guard lock(mutex_);
        if (phase_of(word_.load(std::memory_order_acquire)) != Closed) return std::nullopt;
        add_call_locked(now_rep(), false);
        return std::nullopt;
    }

    std::optional<BreakerTransition> record_failure(ErrorClass klass, const BreakerPermit& permit) {
        if (!permit.allowed) return std::nullopt;
        // A value outside the eight classes (a cast, a classifier's bug) is counted as Unknown:
        // it indexes the per-class rings below, so it must never pass through as it is.
        if (static_cast<unsigned>(klass) >= error_class_count) klass = ErrorClass::Unknown;
        const bool trips = options_.trip_on.contains(klass);
        if (permit.probe) {
            std::lock_guard lock(mutex_);
            if (word_.load(std::memory_order_acquire) == permit.ticket) {
                // Divergence from the Python original: a class outside trip_on means the
                // downstream answered, so the probe closes the breaker.
                return trips ? open_locked(now_rep()) : close_locked();
            }
        }
        if (!trips && !options_.failure_ratio) return std::nullopt;
        if (phase_of(word_.load(std::memory_order_acquire)) != Closed) return std::nullopt;

        // The clock is read before the lock, so the critical section is a few stores; the
        // recorded times are kept in order by never going below the last one recorded (so, as
        // when the clock was read under the lock, a failure may be recorded up to the lock
        // wait after it was reported, never before).
        const auto read = now_rep();
        std::lock_guard lock(mutex_);
        // A failure reported while open or half-open belongs to a call admitted before the
        // breaker opened: the breaker already acted, and closing will clear the counts anyway.
        if (phase_of(word_.load(std::memory_order_acquire)) != Closed) return std::nullopt;
        const auto now = read < last_failure_ ? last_failure_ : read;
        last_failure_ = now;
        const auto window = options_.window.count();
        bool trip = false;
        if (options_.failure_ratio) {
            add_call_locked(now, trips);
            if (trips) {
                const auto [calls, failures] = totals_locked(now);
                trip = calls >= static_cast<std::uint64_t>(options_.minimum_throughput) &&
                       static_cast<double>(failures) / static_cast<double>(calls) >= *options_.failure_ratio;
            }
        } else {
            trip = all_.push_and_check(now, window);
        }
        auto& own = per_class_[static_cast<std::size_t>(klass)];
        if (trips && own.enabled()) trip = own.push_and_check(now, window) || trip;
        return trip ? open_locked(now) : std::nullopt;
    }

    std::optional<BreakerTransition> record_cancel(const BreakerPermit& permit) {
        if (!permit.allowed || !permit.probe) return std::nullopt;
        std::lock_guard lock(mutex_);
        auto w = permit.ticket;
        // Only the probe holder leaves Probing, and isolate()/reset() take the lock: a plain
        // compare-exchange settles it (it fails when the probe is stale).
        (void)word_.compare_exchange_strong(w, next(w, HalfOpenIdle), std::memory_order_acq_rel);
        return std::nullopt;
    }

    [[nodiscard]] CircuitState state() const noexcept {
        switch (phase_of(word_.load(std::memory_order_acquire))) {
            case Closed:
                return CircuitState::Closed;
            case HalfOpenIdle:
            case Probing:
                return CircuitState::HalfOpen;
            case Open:
            case Isolated:
                break;
        }
        return CircuitState::Open;
    }

    void isolate() {
        std::lock_guard lock(mutex_);
        set_phase_locked(Isolated);
    }

    void reset() {
        std::lock_guard lock(mutex_);
        clear_counts_locked();
        set_phase_locked(Closed);
    }

    [[nodiscard]] const CircuitBreakerOptions& options() const noexcept { return options_; }

private:
    enum Phase : std::uint64_t { Closed = 0, Open = 1, HalfOpenIdle = 2, Probing = 3, Isolated = 4 };
    static constexpr unsigned phase_bits = 3;
    static constexpr std::uint64_t phase_mask = (1U << phase_bits) - 1;
    /// Ratio mode: buckets per window.
    static constexpr std::size_t ratio_buckets = 32;

    static Phase phase_of(std::uint64_t w) noexcept { return static_cast<Phase>(w & phase_mask); }
    static std::uint64_t next(std::uint64_t w, Phase p) noexcept {
        return (((w >> phase_bits) + 1) << phase_bits) | p;
    }

    /// `later - earlier` in nanoseconds, saturated to the `Duration::rep` range: clock readings
    /// may lie anywhere in it (a clock starting at 0, at -290 years, at +290 years), and two
    /// readings more than 292 years apart must compare as "long ago", not wrap to negative.
    static constexpr Duration::rep elapsed(Duration::rep later, Duration::rep earlier) noexcept {
        constexpr auto max = std::numeric_limits<Duration::rep>::max();
        constexpr auto min = std::numeric_limits<Duration::rep>::min();
        if (earlier < 0 && later > max + earlier) return max;
        if (earlier > 0 && later < min + earlier) return min;
        return later - earlier;
    }

    /// The last `n` failure times, oldest overwritten first: `n` failures lie within the
    /// window exactly when the oldest of the last `n` does. Exact, and bounded by the threshold
    /// (itself at most `CircuitBreakerOptions::max_threshold`).
    /// (An array and its size rather than a `std::vector`: every translation unit that builds a
    /// breaker compiles what the ring uses, and `std::vector` brings far more.)
    class TimeRing {
    public:
        void reset(std::size_t capacity) {
            times_.reset(new Duration::rep[capacity]());
            capacity_ = capacity;
            clear();
        }
        void clear() noexcept {
            next_ = 0;
            size_ = 0;
        }
        [[nodiscard]] bool enabled() const noexcept { return capacity_ != 0; }
        bool push_and_check(Duration::rep now, Duration::rep window) {
            times_[next_] = now;
            next_ = (next_ + 1) % capacity_;
            if (size_ < capacity_) ++size_;
            // When full, next_ now indexes the oldest of the last `capacity` failures.
            return size_ == capacity_ && elapsed(now, times_[next_]) < window;
        }

    private:
        std::unique_ptr<Duration::rep[]> times_;
        std::size_t capacity_ = 0;
        std::size_t next_ = 0;
        std::size_t size_ = 0;
    };

    struct RatioBucket {
        std::int64_t index = std::numeric_limits<std::int64_t>::min();
        std::uint64_t calls = 0;
        std::uint64_t failures = 0;
    };

    static Duration::rep bucket_width(Duration window) noexcept {
        const auto n = static_cast<Duration::rep>(ratio_buckets);
        const auto w = window.count() / n + (window.count() % n != 0 ? 1 : 0);
        return w < 1 ? 1 : w;
    }
    [[nodiscard]] std::int64_t bucket_of(Duration::rep t) const noexcept {
        auto q = t / width_;
        if (t % width_ < 0) --q;
        return q;
    }

    [[noreturn]] static void invalid(std::string_view option, std::string_view rule) {
        invalid_option("CircuitBreakerOptions", option, rule);
    }
    [[noreturn]] static void invalid(std::string_view option, const Message& rule) {
        invalid_option("CircuitBreakerOptions", option, rule);
    }

    void validate_and_complete() {
        auto& o = options_;
        constexpr int cap = CircuitBreakerOptions::max_threshold;
        if (o.failure_threshold < 1 || o.failure_threshold > cap)
            invalid("failure_threshold", Message{} << "must be in [1, " << cap << "] (is " << o.failure_threshold << ")");
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
        o.class_thresholds.for_each([&o](ErrorClass k, int) { o.trip_on.insert(k); });
    }

    [[nodiscard]] Duration::rep now_rep() const { return options_.clock.now().time_since_epoch().count(); }

    static BreakerPermit rejected(CircuitState s) noexcept {
        return BreakerPermit{false, false, s, BreakerTransition{EventName::CircuitRejected, s}, 0};
    }
    static BreakerPermit probe_permit(std::uint64_t ticket, std::optional<BreakerTransition> t) noexcept {
        return BreakerPermit{true, true, CircuitState::HalfOpen, t, ticket};
    }

    void set_phase_locked(Phase p) noexcept {
        auto w = word_.load(std::memory_order_acquire);
        while (!word_.compare_exchange_weak(w, next(w, p), std::memory_order_acq_rel, std::memory_order_acquire)) {
        }
    }

    std::optional<BreakerTransition> open_locked(Duration::rep now) noexcept {
        opened_at_.store(now, std::memory_order_relaxed);
        set_phase_locked(Open);  // release: opened_at_ is visible to whoever sees Open
        return BreakerTransition{EventName::CircuitOpened, CircuitState::Open};
    }

    std::optional<BreakerTransition> close_locked() noexcept {
        clear_counts_locked();
        set_phase_locked(Closed);
        return BreakerTransition{EventName::CircuitClosed, CircuitState::Closed};
    }

    void clear_counts_locked() noexcept {
        all_.clear();
        for (auto& r : per_class_) r.clear();
        ratio_ = {};
    }

    void add_call_locked(Duration::rep now, bool failure) noexcept {
        const auto b = bucket_of(now);
        auto& slot = ratio_[static_cast<std::size_t>(b % static_cast<std::int64_t>(ratio_buckets) +
                                                     static_cast<std::int64_t>(ratio_buckets)) %
                            ratio_buckets];
        if (slot.index != b) slot = RatioBucket{b, 0, 0};
        ++slot.calls;
        if (failure) ++slot.failures;
    }

    /// Calls and failures in the current bucket and the 31 before it.
    [[nodiscard]] std::pair<std::uint64_t, std::uint64_t> totals_locked(Duration::rep now) const noexcept {
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
            }
        }
        return {calls, failures};
    }

    CircuitBreakerOptions options_;
    // The phase word is read by every call; the lock and the counts are written by failures.
    // Separate cache lines, so a failure recorded on one thread does not evict the word from
    // the other threads' caches (bench: shared/breaker_rare_failure).
    bool ratio_mode_ = false;  ///< options_.failure_ratio is set (read on every success)
    alignas(64) std::atomic<std::uint64_t> word_{Closed};
    std::atomic<Duration::rep> opened_at_{0};
    alignas(64) SpinThenBlockMutex mutex_;
    // Guarded by mutex_:
    Duration::rep last_failure_ = std::numeric_limits<Duration::rep>::min();  ///< latest time recorded
    TimeRing all_;
    std::array<TimeRing, error_class_count> per_class_{};
    std::array<RatioBucket, ratio_buckets> ratio_{};
    Duration::rep width_ = 1;
};

/// The engine's way to the shared state behind a handle (defined after `CircuitBreaker`).
struct BreakerAccess;

}  // namespace detail

/// A circuit breaker: counts failures of the `trip_on` classes in a rolling window,
/// opens at a threshold (or, in ratio mode, at a failure ratio), rejects while open, lets one
/// probe through after `recovery_timeout`, and closes when the probe succeeds.
///
/// A handle: copies share one breaker, so one breaker can guard several policies (pass copies,
/// or keep one to watch `state()` or to `isolate()` it). Moving copies too; a handle is never
/// empty. Thread-safe: every member may be called from any thread.
///
/// Cost: in the closed state, `allow()` and (count mode) `record_success()` are one atomic load:
/// no lock, no clock read. A failure of a `trip_on` class takes a short lock and reads the
/// clock once. Ratio mode also records successes and other failures under the lock, with a
/// clock read. Memory is `failure_threshold + sum of class thresholds` timestamps in count
/// mode (each threshold is at most `CircuitBreakerOptions::max_threshold`); ratio mode uses 32
/// buckets instead of the `failure_threshold` ring.
///
/// Total over its inputs: every clock reading and every duration up to `Duration::max()` is
/// handled without overflow (differences saturate), and a failure class outside the eight
/// `ErrorClass` values is counted as `Unknown`.
///
/// Protocol: call `allow()` once per operation; if `allowed`, run it and report exactly one
/// of `record_success`, `record_failure(class)` or `record_cancel` with the same permit.
/// Never report a rejected permit (it is ignored). The returned transitions are the events
/// to emit; `isolate()` and `reset()` emit nothing.
class CircuitBreaker {
public:
    /// A breaker with the default options.
    CircuitBreaker() : CircuitBreaker(CircuitBreakerOptions{}) {}

    /// Validates `options`; throws `InvalidOption` (component `"CircuitBreakerOptions"`) naming
    /// the offending option: `failure_threshold` or a class threshold outside
    /// [1, `max_threshold`], `window <= 0`, `recovery_timeout < 0`, `trip_on` holding a value
    /// outside `ErrorClass`, `failure_ratio` outside (0, 1], `minimum_throughput < 1`.
    // Not make_shared: the control block is a second allocation, once per breaker, and a
    // translation unit that builds a breaker compiles far less than make_shared's machinery.
    explicit CircuitBreaker(CircuitBreakerOptions options)
        : core_(new detail::BreakerCore(std::move(options))) {}

    /// Copies the handle: both share one breaker. Never allocates.
    CircuitBreaker(const CircuitBreaker&) = default;
    /// Makes this handle share the other's breaker (this one's is released if it was the last).
    CircuitBreaker& operator=(const CircuitBreaker&) = default;
    ~CircuitBreaker() = default;

    /// Asks to run one operation. Closed: allowed. Open: rejected (`circuit_rejected`, state
    /// `Open`) until `recovery_timeout` has passed since it opened; then the first caller
    /// becomes the probe (`circuit_half_open`). Half-open with a probe in flight: rejected
    /// (state `HalfOpen`). Isolated: rejected (state `Open`).
    [[nodiscard]] REDRESS_INLINE BreakerPermit allow() { return core_->allow(); }

    /// The operation succeeded. A probe closes the breaker (`circuit_closed`, counts cleared);
    /// in count mode anything else changes nothing; in ratio mode it counts as a call.
    REDRESS_INLINE std::optional<BreakerTransition> record_success(const BreakerPermit& permit) {
        return core_->record_success(permit);
    }

    /// The operation failed with `klass`. Closed: a `trip_on` class is counted and may open
    /// the breaker (`circuit_opened`). A probe failing with a `trip_on` class reopens it; with
    /// any other class it closes it like a success (a divergence from the Python original:
    /// the downstream answered). Failures reported while open or half-open by calls admitted
    /// earlier are ignored. A `klass` outside the eight `ErrorClass` values counts as `Unknown`.
    std::optional<BreakerTransition> record_failure(ErrorClass klass, const BreakerPermit& permit) {
        return core_->record_failure(klass, permit);
    }

    /// The operation was cancelled (aborted). A probe frees its slot: the next call becomes
    /// the probe, with no new `circuit_half_open` event. Nothing else changes; returns empty.
    std::optional<BreakerTransition> record_cancel(const BreakerPermit& permit) {
        return core_->record_cancel(permit);
    }

    /// The current state, without reading the clock: an open breaker reports `Open` even after
    /// `recovery_timeout` has passed, until a call arrives and becomes the probe. An isolated
    /// breaker reports `Open`; a half-open one `HalfOpen` whether or not a probe is running.
    [[nodiscard]] CircuitState state() const noexcept { return core_->state(); }

    /// Operator override: forces the breaker open until `reset()`, whatever the clock says;
    /// `allow()` rejects (state `Open`), a running probe's report is ignored. Emits nothing.
    void isolate() { core_->isolate(); }

    /// Operator override: closes the breaker and clears every count (also ends `isolate()`).
    /// A running probe's report is then treated like any closed-state call. Emits nothing.
    void reset() { core_->reset(); }

    /// The validated options (`trip_on` includes the keys of `class_thresholds`).
    [[nodiscard]] const CircuitBreakerOptions& options() const noexcept { return core_->options(); }

private:
    friend struct detail::BreakerAccess;
    std::shared_ptr<detail::BreakerCore> core_;
};

namespace detail {
/// The engine's way to the shared state behind a handle (the quiet fast path records a plain
/// success without building a permit).
struct BreakerAccess {
    static BreakerCore& core(CircuitBreaker& breaker) noexcept { return *breaker.core_; }
};
}  // namespace detail

}  // namespace redress
