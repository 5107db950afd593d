// CircuitBreaker: fail fast while a downstream is unhealthy (see docs/circuit_breaker.md).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <redress/clock.hpp>
#include <redress/detail/attributes.hpp>
#include <redress/detail/message.hpp>
#include <redress/error_class.hpp>
#include <redress/errors.hpp>
#include <redress/strategies.hpp>
#include <redress/vocabulary.hpp>

namespace redress {

/// One change of a breaker's `state()`, as passed to its `on_state_change` hook.
struct BreakerStateChange {
    /// The state before the change.
    CircuitState from = CircuitState::Closed;
    /// The state after it.
    CircuitState to = CircuitState::Closed;
    /// What caused it.
    TransitionReason reason = TransitionReason::Failures;
    /// When, on the breaker's clock.
    TimePoint at{};

    friend bool operator==(const BreakerStateChange&, const BreakerStateChange&) = default;
};

/// What a `BreakerStore` holds for the breaker its processes share, as one of its calls
/// answered. Durations are measured on the store's clock, so the processes' clocks need not
/// agree with it or with each other.
struct BreakerFleetState {
    /// An opening is on record; false: the fleet is closed.
    bool open = false;
    /// Names the opening on record: the store never gives two openings the same value, and
    /// never 0 (0 when closed).
    std::uint64_t generation = 0;
    /// How long ago it opened.
    Duration open_for{};
    /// The recovery timeout published with it: its probe may be leased once `open_for`
    /// reaches it.
    Duration recovery_timeout{};
    /// `acquire_probe` only: the caller now holds the opening's probe lease.
    bool probe_granted = false;

    friend bool operator==(const BreakerFleetState&, const BreakerFleetState&) = default;
};

/// The state of one breaker shared by several processes (`CircuitBreakerOptions::store`):
/// one store object is one shared breaker (a Redis key, say). Each call is one exchange with
/// the store, atomic there, timed by the store's clock; each answers the state on record after
/// it, or empty when the store did not answer within its own timeout (the breaker then
/// decides locally). A call never blocks longer than that timeout, and never throws (an
/// exception is taken as no answer). Thread-safe: called from any thread at once. See
/// docs/circuit_breaker.md, "Sharing one breaker across processes".
class BreakerStore {
public:
    BreakerStore() = default;
    BreakerStore(const BreakerStore&) = delete;
    BreakerStore& operator=(const BreakerStore&) = delete;
    virtual ~BreakerStore() = default;

    /// The state on record.
    [[nodiscard]] virtual std::optional<BreakerFleetState> read() = 0;

    /// Records an opening, now, with `recovery_timeout`: a new generation, replacing any
    /// opening on record and ending its probe lease.
    [[nodiscard]] virtual std::optional<BreakerFleetState> publish_open(Duration recovery_timeout) = 0;

    /// Leases the probe of opening `generation` for `lease`: granted (`probe_granted`) when
    /// that opening is on record, its recovery timeout has passed and no unexpired lease is
    /// held. Otherwise answers the state on record, not granted.
    [[nodiscard]] virtual std::optional<BreakerFleetState> acquire_probe(std::uint64_t generation, Duration lease) = 0;

    /// A probe of opening `generation` closed its breaker: the fleet closes if that opening is
    /// still on record (a newer one stays).
    [[nodiscard]] virtual std::optional<BreakerFleetState> publish_closed(std::uint64_t generation) = 0;
};

/// Settings of a `CircuitBreaker`. Designated initializers name what differs from the defaults:
/// `redress::CircuitBreaker{{.failure_threshold = 5, .window = 60s, .recovery_timeout = 30s}}`.
///
/// The mode is chosen by which of `failure_threshold`, `consecutive_failures` and
/// `failure_ratio` is set (at most one): none set is ratio mode with `default_failure_ratio`.
struct CircuitBreakerOptions {
    /// The largest `failure_threshold`, `consecutive_failures`, class threshold,
    /// `half_open_probes` and `close_after` accepted. Count mode keeps the times of the last
    /// `n` failures (8 bytes each), so this bounds the breaker's memory; thresholds in the
    /// thousands are rates, which ratio mode expresses in constant memory.
    static constexpr int max_threshold = 10'000;
    /// The failure ratio of a breaker that sets no mode: half the calls in the window fail.
    static constexpr double default_failure_ratio = 0.5;

    /// Count mode when set (the Python original): this many failures of a `trip_on` class
    /// within `window` open the breaker; 1 to `max_threshold`.
    std::optional<int> failure_threshold{};
    /// Consecutive mode when set: this many `trip_on` failures in a row open the breaker; a
    /// success, or a failure of another class, starts the count again. 1 to `max_threshold`.
    std::optional<int> consecutive_failures{};
    /// The rolling window in which failures (and, in ratio mode, calls) are counted.
    Duration window = std::chrono::seconds(60);
    /// Time the breaker stays open before the next call becomes a half-open probe (the first
    /// opening since it last closed; see `recovery_backoff`).
    Duration recovery_timeout = std::chrono::seconds(30);
    /// Classes that count as failures; the keys of `class_thresholds` are added. A value
    /// outside `ErrorClass` is rejected at construction.
    ErrorClassSet trip_on{ErrorClass::Transient, ErrorClass::ServerError};
    /// Per-class thresholds, in every mode: `n` failures of that class within `window` open the
    /// breaker, whatever the other counts. Each 1 to `max_threshold`.
    PerClass<int> class_thresholds{};
    /// Ratio mode when set, in (0, 1]: the breaker opens when (trip_on failures) / (calls)
    /// within `window` reaches it. Unset with no other mode: `default_failure_ratio`.
    std::optional<double> failure_ratio{};
    /// Ratio mode only: calls recorded within `window` before the ratio can open the breaker.
    int minimum_throughput = 100;
    /// Half-open: calls admitted as probes at once; a probe that succeeds without closing the
    /// breaker frees its slot. 1 to `max_threshold`.
    int half_open_probes = 1;
    /// Half-open: probe successes that close the breaker; 1 to `max_threshold`. The first probe
    /// failure of a `trip_on` class reopens it.
    int close_after = 1;
    /// Break duration growth, when set: the k-th opening without a successful close in
    /// between (k >= 2) stays open for this strategy's answer to `attempt = k - 1`, clamped
    /// to [`recovery_timeout`, `max_recovery_timeout`]. Any strategy of this library:
    /// `redress::exponential({.base = 60s, .max = 10min})`.
    AnyStrategy recovery_backoff{};
    /// The cap on a grown recovery timeout; with `recovery_backoff`, at least `recovery_timeout`.
    Duration max_recovery_timeout = std::chrono::minutes(10);
    /// Called after every change of `state()`, outside the breaker's lock, on the thread that
    /// caused it; an exception it throws is swallowed. Changes on several threads may call it
    /// concurrently.
    std::function<void(const BreakerStateChange&)> on_state_change{};
    /// The clock; default `std::chrono::steady_clock`.
    AnyClock clock{};
    /// Shared state for a breaker kept by several processes: openings are published to it,
    /// and followed from it, and one probe is leased fleet-wide. Null (the default): this
    /// process's breaker alone, at no extra cost.
    std::shared_ptr<BreakerStore> store{};
    /// With a `store`: how old the fleet's state cached by this breaker may grow before a
    /// call refreshes it (one call, the others keep using the cache); > 0.
    Duration store_refresh = std::chrono::seconds(1);
    /// With a `store`: how long the fleet's probe lease lasts, so a probe holder that dies
    /// (or never reports) holds off the other processes for at most this long; > 0.
    Duration store_lease = std::chrono::seconds(10);
};

/// What a breaker is doing, as a plain value: `breaker.snapshot()`; `breaker.restore(s)` in a
/// restarted process; `to_json(s)`; `fmt::format("{}", s)` with <redress/fmt.hpp>.
struct BreakerSnapshot {
    /// The state `state()` reports.
    CircuitState state = CircuitState::Closed;
    /// True while `isolate()` holds it open (`state` is then `Open`).
    bool isolated = false;
    /// When the breaker entered `state`, on its clock (for `Open`: when it opened).
    TimePoint since{};
    /// How it decides to open.
    BreakerMode mode = BreakerMode::Ratio;
    /// `trip_on` failures counted now: within the window (ratio and count mode) or in a row
    /// (consecutive mode). Closed only; 0 otherwise.
    std::uint64_t failures = 0;
    /// Ratio mode: calls within the window (closed only); empty in the other modes.
    std::optional<std::uint64_t> calls{};
    /// Ratio mode: `failures / calls`, empty when there are no calls or in the other modes.
    std::optional<double> failure_ratio{};
    /// Half-open probes admitted and not yet reported.
    int probes_in_flight = 0;
    /// Probe successes in this half-open period (it closes at `close_after`).
    int probe_successes = 0;
    /// Openings since the breaker last closed (drives `recovery_backoff`).
    int openings = 0;
    /// The recovery timeout of the current (or next) opening, grown by `recovery_backoff`.
    Duration recovery_timeout{};
    /// With a store: open or half-open following an opening on the store's record (this
    /// process's, published, or another's); false otherwise.
    bool fleet = false;
    /// With a store: its calls that did not answer in time since the breaker was built;
    /// empty without a store.
    std::optional<std::uint64_t> store_unavailable{};

    friend bool operator==(const BreakerSnapshot&, const BreakerSnapshot&) = default;
};

/// `snapshot` as one JSON object, std-only: times and durations in integer nanoseconds
/// (`since_ns` on the breaker's clock), enums as their wire values, `null` for empty fields:
/// `{"state":"open","isolated":false,"since_ns":..,"mode":"ratio",..}`. `fleet` and
/// `store_unavailable` are written for a breaker with a store only.
[[nodiscard]] std::string to_json(const BreakerSnapshot& snapshot);

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
    /// True when this call is a half-open probe.
    bool probe = false;
    /// The state this call saw, or entered (`HalfOpen` for the probe).
    CircuitState state = CircuitState::Closed;
    /// `{CircuitHalfOpen, HalfOpen}` when this call moved the breaker to half-open;
    /// `{CircuitRejected, Open or HalfOpen}` when rejected; empty otherwise.
    std::optional<BreakerTransition> transition{};
    /// Opaque: identifies the half-open period of the probe, so that a late report of an older
    /// probe (after `reset()`, `isolate()`, a reopening) cannot settle a newer period. Zero for
    /// every non-probe permit.
    std::uint64_t ticket = 0;
};

namespace detail {

/// A lock that spins briefly before it sleeps. The breaker's critical sections are a few
/// dozen nanoseconds; with `std::mutex` alone, two threads recording failures at once made
/// one of them sleep in the kernel for microseconds (a futex round trip). A waiter looks with
/// a plain load and tries to take the lock only when it looks free, so the holder keeps the
/// lock's cache line while it works (a `try_lock` on every turn, a locked compare-exchange,
/// took it away: two threads recording 1 failure in 64 ran at 127 M calls/s, now 187-250 M).
/// After 128 looks it marks the lock "held, with sleepers" and sleeps; the unlock that finds
/// the mark wakes one. On Linux the sleep is the futex itself: `std::atomic::wait` in its
/// place yielded the CPU a dozen times before sleeping (about 200 M calls/s) and cost a
/// translation unit with a breaker call 8 % more compile time at -O2.
class SpinThenBlockMutex {
public:
    void lock() noexcept {
        if (try_lock()) [[likely]]
            return;
        for (int i = 0; i < 128; ++i) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
            if (state_.load(std::memory_order_relaxed) == free_ && try_lock()) return;
        }
        sleep_until_taken();
    }
    bool try_lock() noexcept {
        unsigned expected = free_;
        return state_.compare_exchange_strong(expected, held_, std::memory_order_acquire, std::memory_order_relaxed);
    }
    void unlock() noexcept {
        if (state_.exchange(free_, std::memory_order_release) == contended_) [[unlikely]]
            wake_one();
    }

private:
    static constexpr unsigned free_ = 0;
    static constexpr unsigned held_ = 1;
    static constexpr unsigned contended_ = 2;  ///< held, and a thread may be asleep waiting

    REDRESS_NOINLINE REDRESS_DECL void sleep_until_taken() noexcept;
    REDRESS_NOINLINE REDRESS_DECL void wake_one() noexcept;
#if defined(__linux__)
    unsigned* word() noexcept;
#endif
    std::atomic<unsigned> state_{free_};
};

/// The shared state behind `CircuitBreaker` handles.
///
/// The phase lives in one atomic word `generation << 18 | probes in flight << 4 | store bit << 3
/// | phase`;
/// every phase change bumps the generation (and clears the probe count), so a
/// compare-exchange made on a stale reading fails (no ABA between two openings) and a probe's
/// report names the half-open period it belongs to. Closed-state `allow()` reads that word
/// only (a quiet policy call on the steady clock reads `gate_` instead: see `admits`). The
/// lock-free changes are `Open -> HalfOpen` and taking a probe slot (in `allow()`); every
/// other change, and all failure counting, happens under `mutex_`. Successes are recorded
/// without the lock: nothing (count mode), a reset of the streak (consecutive mode), or an
/// increment of one of the hot bucket's lanes (ratio mode: a reading or start below
/// `hot_end_`; the lock once per bucket, to start it).
///
/// Ratio mode counts a success in a bucket during which its call ran: the bucket of its
/// start, or one started while it ran (it is counted in the bucket that is hot when it is
/// reported, if it started before that bucket's end), never a bucket started after it was
/// reported. Failures are counted when they are reported; so a success is never counted later
/// than a failure reported at the same instant would be.
///
/// A template only so that it can be compiled once (`BasicBreakerCore<void>`, in
/// redress::compiled) under separate compilation; `BreakerCore` is the one instantiation.
template <class = void>
class BasicBreakerCore {
public:
    explicit BasicBreakerCore(CircuitBreakerOptions options);

    ~BasicBreakerCore();
    BasicBreakerCore(const BasicBreakerCore&) = delete;
    BasicBreakerCore& operator=(const BasicBreakerCore&) = delete;

    /// Closed: one load, small enough to inline at the call site; other phases, and every
    /// call of a breaker with a store, decide in `allow_slow`.
    REDRESS_INLINE BreakerPermit allow() {
        const auto w = word_.load(std::memory_order_acquire);
        if ((w & fast_mask) == 0) return BreakerPermit{};
        return allow_slow(w);
    }

    REDRESS_NOINLINE BreakerPermit allow_slow(std::uint64_t w);

    /// Not a probe: the closed-state success (inlined when there is nothing to record).
    REDRESS_INLINE std::optional<BreakerTransition> record_success(const BreakerPermit& permit) {
        if (!permit.allowed) return std::nullopt;
        if (!permit.probe) {
            record_plain_success();
            return std::nullopt;
        }
        return record_probe_success(permit);
    }

    /// True when `allow()` would answer the plain closed permit (`BreakerPermit{}`) right now
    /// without deciding anything: closed, and with a store, its copy of the fleet's state not
    /// due for a refresh (a clock read, out of line: the inline check is one load).
    REDRESS_INLINE bool closed() const {
        const auto w = word_.load(std::memory_order_acquire);
        if ((w & fast_mask) == 0) [[likely]]
            return true;
        return (w & fast_mask) == store_bit && fleet_fresh();
    }

    /// With a store: the cached fleet state is not due for a refresh.
    REDRESS_NOINLINE bool fleet_fresh() const;

    /// `record_success` of the plain closed permit (`BreakerPermit{}`: allowed, not the probe),
    /// for a caller that knows it held one: the permit need not exist, only the mode is read.
    /// Count mode: nothing. Consecutive: one load (and a store after a failure). Ratio: a
    /// clock read and one atomic increment (`record_call`).
    REDRESS_INLINE void record_plain_success() {
        if (mode_ == BreakerMode::Count) return;
        if (mode_ == BreakerMode::Consecutive) {
            end_streak();
            return;
        }
        record_call();
    }

    /// Consecutive mode: a success ends the streak (one load, and a store after a failure).
    REDRESS_INLINE void end_streak() noexcept {
        if (streak_.load(std::memory_order_relaxed) != 0) streak_.store(0, std::memory_order_relaxed);
    }

    /// For a caller that read `std::chrono::steady_clock` at `steady_start`, just before the
    /// call it asks about (a quiet policy call): true when the breaker admits it with the
    /// plain closed permit, as `closed()` would, and its success is then reported by
    /// `record_admitted_success()`. One load and compare inline: `gate_` is the end of the hot
    /// ratio bucket (a start before it is counted there), or a bound every start passes
    /// (closed, count and consecutive mode), or one none passes (anything else: decided out
    /// of line, where a start in a new bucket starts it).
    REDRESS_INLINE bool admits(TimePoint steady_start) {
        const auto start = steady_start.time_since_epoch().count();
        if (start < gate_.load(std::memory_order_acquire)) [[likely]]
            return true;
        return admits_slowly(start);
    }

    /// `admits` for a start `gate_` does not let through.
    REDRESS_NOINLINE bool admits_slowly(Duration::rep start);

    /// The success of a call `admits` let through: ratio mode on the steady clock counts it in
    /// the hot bucket; count mode does nothing; the others as `record_plain_success()`.
    REDRESS_INLINE void record_admitted_success() {
        // One compare with 0 decides the two cheapest: zero or negative. The byte is read for
        // that compare only (the rest reads the mode), so it needs no register (1 instruction).
        const auto what = on_success_;
        if (what == OnSuccess::CountHot) [[likely]] {
            count_hot(0);
            return;
        }
        if (what < OnSuccess::CountHot) return;  // Nothing
        record_plain_success();
    }

    /// Ratio mode: counts one call (not a failure) now. On the steady clock with buckets of at
    /// least 256 coarse ticks, the coarse clock tells the bucket: the same epoch, a reading
    /// up to one tick (1-4 ms) late, at a tenth of the cost (bench: shared/breaker_success).
    REDRESS_NOINLINE void record_call();

    /// Ratio mode: counts one call (not a failure) read at `now`: in the hot bucket when `now`
    /// lies before its end (one load, one compare, one increment in this thread's lane), else
    /// out of line.
    REDRESS_INLINE void record_call_at(Duration::rep now) {
        if (now < hot_end_.load(std::memory_order_acquire)) [[likely]] {
            count_hot(thread_lane());
            return;
        }
        record_call_cold(now);
    }

    /// `record_call_at` off its fast path: `now` is at or after the hot bucket's end (this call
    /// starts the next bucket), or the breaker is not closed, or has no hot bucket yet.
    REDRESS_NOINLINE void record_call_cold(Duration::rep now);

    std::optional<BreakerTransition> record_failure(ErrorClass klass, const BreakerPermit& permit);

    std::optional<BreakerTransition> record_cancel(const BreakerPermit& permit);

    [[nodiscard]] CircuitState state() const noexcept { return visible(phase_of(word_.load(std::memory_order_acquire))); }

    [[nodiscard]] BreakerMode mode() const noexcept { return mode_; }

    void isolate();

    void reset();

    [[nodiscard]] BreakerSnapshot snapshot() const;

    void restore(const BreakerSnapshot& s);

    [[nodiscard]] const CircuitBreakerOptions& options() const noexcept { return options_; }

private:
    enum Phase : std::uint64_t { Closed = 0, Open = 1, HalfOpen = 2, Isolated = 4 };
    static constexpr unsigned phase_bits = 3;
    static constexpr std::uint64_t phase_mask = (1U << phase_bits) - 1;
    /// Set in every word of a breaker with a store, so that the inline closed check fails and
    /// such a breaker decides in `allow_slow`, which keeps its cached fleet state fresh.
    static constexpr std::uint64_t store_bit = std::uint64_t{1} << phase_bits;
    static constexpr std::uint64_t fast_mask = phase_mask | store_bit;
    static constexpr unsigned flag_bits = phase_bits + 1;
    static constexpr unsigned probe_bits = 14;  // up to 16,383 probes: above max_threshold
    static constexpr std::uint64_t one_probe = std::uint64_t{1} << flag_bits;
    static constexpr std::uint64_t probe_mask = ((std::uint64_t{1} << probe_bits) - 1) << flag_bits;
    static constexpr unsigned generation_shift = flag_bits + probe_bits;
    static_assert(CircuitBreakerOptions::max_threshold < (1 << probe_bits));
    /// Ratio mode: buckets per window.
    static constexpr std::size_t ratio_buckets = 32;
    static constexpr std::int64_t no_hot = std::numeric_limits<std::int64_t>::min();
    /// Ratio mode: lanes of the hot bucket's lock-free count, each on a cache line of its own.
    static constexpr std::size_t hot_lanes = 8;
    /// `gate_` and `hot_end_` values: no reading is below `never`, every steady reading below
    /// `always` (a reading of `Duration::rep`'s maximum, 292 years after the clock's epoch,
    /// would fall to the out-of-line check).
    static constexpr Duration::rep never = std::numeric_limits<Duration::rep>::min();
    static constexpr Duration::rep always = std::numeric_limits<Duration::rep>::max();

    static Phase phase_of(std::uint64_t w) noexcept { return static_cast<Phase>(w & phase_mask); }
    static std::uint64_t probes_of(std::uint64_t w) noexcept;
    static std::uint64_t next(std::uint64_t w, Phase p) noexcept;
    static CircuitState visible(Phase p) noexcept {
        switch (p) {
            case Closed:
                return CircuitState::Closed;
            case HalfOpen:
                return CircuitState::HalfOpen;
            case Open:
            case Isolated:
                break;
        }
        return CircuitState::Open;
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
        TimeRing() = default;
        ~TimeRing();  // user-provided: compiled once under separate compilation
        TimeRing(const TimeRing&) = delete;
        TimeRing& operator=(const TimeRing&) = delete;
        void reset(std::size_t capacity);
        void clear() noexcept;
        [[nodiscard]] bool enabled() const noexcept { return capacity_ != 0; }
        bool push_and_check(Duration::rep now, Duration::rep window);
        /// Failures kept that are less than `window` old at `now`.
        [[nodiscard]] std::uint64_t count_within(Duration::rep now, Duration::rep window) const noexcept;

    private:
        std::unique_ptr<Duration::rep[]> times_;
        std::size_t capacity_ = 0;
        std::size_t next_ = 0;
        std::size_t size_ = 0;
    };

    /// A ratio bucket, under the lock. The hot bucket's successes counted without the lock
    /// are in `lanes_` until the next bucket starts.
    struct RatioBucket {
        std::int64_t index = no_hot;
        std::uint64_t calls = 0;
        std::uint64_t failures = 0;
    };
    struct alignas(64) Lane {
        std::atomic<std::uint64_t> calls{0};
    };

    static Duration::rep bucket_width(Duration window) noexcept;
    [[nodiscard]] std::int64_t bucket_of(Duration::rep t) const noexcept;
    /// `b` mod 32, also for a negative `b` (two's complement: 2^64 is a multiple of 32).
    RatioBucket& slot_of(std::int64_t b) noexcept;

    [[noreturn]] static void invalid(std::string_view option, std::string_view rule);
    [[noreturn]] static void invalid(std::string_view option, const Message& rule);
    static void require_in_range(std::string_view option, int n);

    void validate_and_complete();

    [[nodiscard]] Duration::rep now_rep() const;
    static TimePoint at(Duration::rep t) noexcept;

    static BreakerPermit rejected(CircuitState s) noexcept;
    /// `w`: the word the probe was admitted on; its ticket names the half-open period.
    static BreakerPermit probe_permit(std::uint64_t w, std::optional<BreakerTransition> t) noexcept;
    [[nodiscard]] bool current_probe_locked(const BreakerPermit& permit) const noexcept;

    /// Calls the hook, if any, with the change, if any; swallows what it throws.
    void notify(const std::optional<BreakerStateChange>& change) const noexcept;

    // The fleet: a breaker with a store. The local state machine runs as without one; the
    // store adds three things. Openings are published (`publish`) and followed
    // (`follow_fleet`): an opening on record that this breaker has not seen opens it (reason
    // `Fleet`), and the opening it follows leaving the record closes it. The probe of an
    // opening it follows needs the store's lease (`open_with_store`). And the fleet's state is
    // read at most once per `store_refresh`, by the one call that claims the refresh
    // (`claim_refresh`); the others decide on what the breaker already knows. Where the store
    // does not answer, the local state decides.

    /// What a settled call tells the store: decided under the lock, sent after it.
    struct Publication {
        bool open = false;
        std::uint64_t word = 0;        ///< open: the opening's word, naming its period
        Duration recovery{};           ///< open: its recovery timeout
        std::uint64_t generation = 0;  ///< closed: the fleet's opening that the probe closed
    };

    /// The publication of transition `t`, if any: every opening, and a close of an opening the
    /// fleet shares.
    [[nodiscard]] std::optional<Publication> publication_locked(const std::optional<BreakerTransition>& t) noexcept;

    /// Sends `p` to the store; an opening the store takes becomes the fleet's opening this
    /// breaker follows (unless the breaker has changed state since).
    void publish(const std::optional<Publication>& p);

    /// Times this breaker's opening by the fleet's (read at `now`, after the answer: the
    /// opening is then placed up to half a round trip late, never early, so its probe never
    /// falls due before the fleet's), and makes a refresh due when it does. Returns when it
    /// opened, on this breaker's clock.
    Duration::rep time_by_fleet_locked(const BreakerFleetState& fleet, Duration::rep now, bool open) noexcept;

    /// One store call; no answer (or an exception) is counted as unavailable.
    template <class Call>
    std::optional<BreakerFleetState> ask(Call&& call) noexcept;

    /// True for the one call that takes the refresh due at `now`: the next is due a
    /// `store_refresh` later, whether or not the store answers.
    bool claim_refresh(Duration::rep now) noexcept;

    /// Makes a refresh due by `t` (when an opening followed falls due for its probe), if `t`
    /// is still ahead of `now`: a time passed already is the refresh just made.
    void bring_refresh_forward(Duration::rep t, Duration::rep now) noexcept;

    /// `t + d`, saturated to the `Duration::rep` range.
    static constexpr Duration::rep shifted(Duration::rep t, Duration::rep d) noexcept {
        constexpr auto max = std::numeric_limits<Duration::rep>::max();
        constexpr auto min = std::numeric_limits<Duration::rep>::min();
        if (d > 0 && t > max - d) return max;
        if (d < 0 && t < min - d) return min;
        return t + d;
    }

    /// `allow()` of a closed breaker with a store: refreshes the fleet's state when due.
    REDRESS_NOINLINE BreakerPermit closed_with_store();

    /// `allow()` of an open breaker with a store (`due`: its recovery timeout has passed): the
    /// answer, or empty when this call may become the probe. The probe of an opening the fleet
    /// shares is leased from the store; an opening of this process alone, or one the store
    /// cannot be asked about, probes locally.
    std::optional<BreakerPermit> open_with_store(Duration::rep now, bool due);

    enum class Followed { Nothing, Opened, Closed };

    /// Takes the fleet's state just answered: an opening not seen before opens this breaker
    /// (or, open already, times it), the opening it follows times it, and that opening gone
    /// from the record closes it. An isolated breaker ignores the fleet.
    Followed follow_fleet(const BreakerFleetState& fleet);

    /// Moves to `p` (a new generation, no probes); `change` gets the visible change, if any.
    void set_phase_locked(Phase p, Duration::rep now, TransitionReason reason,
                          std::optional<BreakerStateChange>& change) noexcept;

    /// The recovery timeout grown by `recovery_backoff`, clamped to its bounds.
    [[nodiscard]] Duration clamp_recovery(Duration d) const noexcept;

    std::optional<BreakerTransition> open_locked(Duration::rep now, TransitionReason reason, ErrorClass klass,
                                                 std::optional<BreakerStateChange>& change) noexcept;

    /// A probe answered: closes at `close_after` successes, else frees the probe's slot.
    std::optional<BreakerTransition> probe_succeeded_locked(std::optional<BreakerStateChange>& change);

    std::optional<BreakerTransition> record_probe_success(const BreakerPermit& permit);

    /// Gives a probe's slot back. Only `allow()` changes the word without the lock, and only by
    /// taking a slot in the same generation: a compare-exchange loop keeps its increments.
    void release_probe_locked() noexcept;

    void clear_counts_locked() noexcept;

    /// Counts one call (a failure too, if `failure`) at `now`, in its bucket.
    void add_call_locked(Duration::rep now, bool failure) noexcept;

    /// Makes `b`'s slot hold bucket `b` (unless a newer bucket holds it) and, when `b` is later
    /// than the hot bucket, makes it the hot bucket: the lanes' counts go to the bucket that
    /// was hot, and the fast paths compare against `b`'s end from then on.
    RatioBucket& start_bucket_locked(std::int64_t b) noexcept;

    /// Sets what the lock-free paths compare against from the phase and the hot bucket: a
    /// start or reading below `hot_end_` is counted in the hot bucket, and a quiet call whose
    /// steady start is below `gate_` is admitted (see `admits`). Under the lock, or before any
    /// other thread knows the breaker; a phase that is not closed stays so while it is held.
    void refresh_gates_locked() noexcept;

    /// Calls and failures in the current bucket and the 31 before it.
    [[nodiscard]] std::pair<std::uint64_t, std::uint64_t> totals_locked(Duration::rep now) const noexcept;

    /// Counts one success in the hot bucket, in `lane`.
    REDRESS_INLINE void count_hot(std::size_t lane) noexcept { lanes_[lane].calls.fetch_add(1, std::memory_order_relaxed); }

    /// This thread's lane: threads take the lanes in turn, so that up to `hot_lanes` threads
    /// counting successes at once each write a cache line of their own (lane 0 is the quiet
    /// policy path's, which has no instruction to spare for a choice).
    static std::size_t thread_lane() noexcept {
        static constinit thread_local std::size_t lane = hot_lanes;  // not chosen yet
        if (lane == hot_lanes) [[unlikely]]
            lane = next_lane();
        return lane;
    }
    REDRESS_NOINLINE static std::size_t next_lane() noexcept;

    CircuitBreakerOptions options_;
    BreakerMode mode_ = BreakerMode::Ratio;  ///< read on every success
    Duration::rep width_ = 1;                ///< ratio mode: the bucket width
    bool coarse_ = false;                    ///< ratio mode: successes read CoarseClock (see record_call)
    /// What the success of a call `admits` let through does: count it in the hot bucket
    /// (ratio mode on the steady clock), nothing (count mode), end the streak (consecutive
    /// mode), or count it at a reading of the breaker's own clock (ratio mode, another clock).
    /// Zero and negative: the two cheapest paths tell them apart with one test.
    enum class OnSuccess : signed char { Nothing = -1, CountHot = 0, EndStreak = 1, CountNow = 2 };
    OnSuccess on_success_ = OnSuccess::CountNow;
    // The phase word is read by every call; the lock and the counts are written by failures.
    // Separate cache lines, so a failure recorded on one thread does not evict the word from
    // the other threads' caches (bench: shared/breaker_rare_failure).
    alignas(64) std::atomic<std::uint64_t> word_{Closed};
    std::atomic<Duration::rep> gate_{never};     ///< see `refresh_gates_locked`
    std::atomic<Duration::rep> hot_end_{never};  ///< ratio mode: the hot bucket's end, or never
    std::atomic<Duration::rep> opened_at_{0};
    std::atomic<Duration::rep> recovery_{0};  ///< the current opening's recovery timeout
    std::atomic<Duration::rep> since_{0};     ///< when the visible state began
    alignas(64) mutable SpinThenBlockMutex mutex_;
    // Guarded by mutex_:
    Duration::rep last_failure_ = std::numeric_limits<Duration::rep>::min();  ///< latest time recorded
    int probe_successes_ = 0;  ///< in this half-open period
    int openings_ = 0;         ///< since the breaker last closed
    TimeRing all_;
    std::array<TimeRing, error_class_count> per_class_{};
    // Written without the lock by successes: consecutive mode resets it, ratio mode counts.
    alignas(64) std::atomic<std::uint64_t> streak_{0};  ///< consecutive mode: trip_on failures in a row
    std::array<Lane, hot_lanes> lanes_{};  ///< ratio mode: the hot bucket's successes counted lock-free
    std::int64_t hot_ = no_hot;           ///< ratio mode, under the lock: the latest bucket started, or no_hot
    std::int64_t hot_min_ = 0;            ///< ratio mode: the range `hot_` may take
    std::int64_t hot_max_ = 0;
    std::array<RatioBucket, ratio_buckets> ratio_{};  ///< under the lock
    // With a store (see "The fleet" above); the flags are written under mutex_, read anywhere.
    BreakerStore* store_ = nullptr;                   ///< options_.store, or null
    std::atomic<Duration::rep> next_refresh_{0};      ///< when the cached fleet state is stale
    std::atomic<std::uint64_t> fleet_seen_{0};        ///< the latest fleet opening acted on (0: none)
    std::atomic<bool> linked_{false};                 ///< open or half-open following `fleet_seen_`
    std::atomic<std::uint64_t> store_unavailable_{0};  ///< store calls that did not answer
};

using BreakerCore = BasicBreakerCore<>;
REDRESS_EXTERN_TEMPLATE(class BasicBreakerCore<void>)

/// The engine's way to the shared state behind a handle (defined after `CircuitBreaker`).
struct BreakerAccess;

}  // namespace detail

/// A circuit breaker: counts the outcomes of the calls it guards, opens when they say the
/// downstream is unhealthy (ratio mode by default: half the calls in the window fail, over at
/// least 100 calls; or count mode, the Python original's; or consecutive failures), rejects
/// while open, lets `half_open_probes` probes through after the recovery timeout, and closes
/// when `close_after` of them succeed.
///
/// A handle: copies share one breaker, so one breaker can guard several policies (pass copies,
/// or keep one to watch `state()` or to `isolate()` it). Moving copies too; a handle is never
/// empty. Thread-safe: every member may be called from any thread.
///
/// Cost, closed state: `allow()` is one atomic load; recording a success is nothing (count
/// mode), one load (consecutive mode), or one atomic increment and a clock read (ratio mode:
/// a quiet `Policy` call reuses its own reading, `record_success` reads the coarse clock on
/// the default clock and increments a lane of its thread's, so that up to 8 threads do not
/// share a cache line; the lock once per bucket, every `window / 32`, to start the bucket). No
/// lock otherwise and no allocation. A failure of a `trip_on` class takes a short lock and reads the clock once.
/// Memory is `failure_threshold + sum of class thresholds` timestamps in count mode (each at
/// most `CircuitBreakerOptions::max_threshold`); ratio mode uses 32 buckets and 8 cache lines
/// instead.
///
/// Total over its inputs: every clock reading and every duration up to `Duration::max()` is
/// handled without overflow (differences saturate), and a failure class outside the eight
/// `ErrorClass` values is counted as `Unknown`.
///
/// With `CircuitBreakerOptions::store`, breakers in several processes share their openings and
/// lease one probe fleet-wide; each call then also reads the clock to know whether its copy of
/// the fleet's state is fresh, and one call per `store_refresh` asks the store (see
/// docs/circuit_breaker.md, "Sharing one breaker across processes").
///
/// Protocol: call `allow()` once per operation; if `allowed`, run it and report exactly one
/// of `record_success`, `record_failure(class)` or `record_cancel` with the same permit.
/// Never report a rejected permit (it is ignored). The returned transitions are the events
/// to emit; `isolate()`, `reset()` and `restore()` emit nothing (the `on_state_change` hook
/// hears every change, theirs included).
class CircuitBreaker {
public:
    /// A breaker with the default options.
    CircuitBreaker();

    /// Validates `options`; throws `InvalidOption` (component `"CircuitBreakerOptions"`) naming
    /// the offending option: `failure_threshold`, `consecutive_failures`, a class threshold,
    /// `half_open_probes` or `close_after` outside [1, `max_threshold`], `window <= 0`,
    /// `recovery_timeout < 0`, `trip_on` holding a value outside `ErrorClass`,
    /// `failure_ratio` outside (0, 1], `minimum_throughput < 1`, `max_recovery_timeout`
    /// below `recovery_timeout` (with `recovery_backoff`); and two modes set at once
    /// (`consecutive_failures` or `failure_ratio` with another mode).
    explicit CircuitBreaker(CircuitBreakerOptions options);

    /// Copies the handle: both share one breaker. Never allocates.
    CircuitBreaker(const CircuitBreaker&) = default;
    /// Makes this handle share the other's breaker (this one's is released if it was the last).
    CircuitBreaker& operator=(const CircuitBreaker&) = default;
    ~CircuitBreaker() = default;

    /// Asks to run one operation. Closed: allowed. Open: rejected (`circuit_rejected`, state
    /// `Open`) until the recovery timeout has passed since it opened; then the first caller
    /// becomes a probe (`circuit_half_open`). Half-open: a probe while fewer than
    /// `half_open_probes` are in flight (no event), else rejected (state `HalfOpen`).
    /// Isolated: rejected (state `Open`). With a store, the call that refreshes the fleet's
    /// state may also be rejected by an opening on record (`circuit_opened`, state `Open`) or
    /// admitted because the fleet closed (`circuit_closed`), and an open breaker's probe needs
    /// the fleet's lease.
    [[nodiscard]] REDRESS_INLINE BreakerPermit allow() { return core_->allow(); }

    /// The operation succeeded. A probe counts toward `close_after`, and the one that reaches it
    /// closes the breaker (`circuit_closed`, counts cleared). Otherwise: nothing in count mode,
    /// the end of the streak in consecutive mode, a call in ratio mode.
    REDRESS_INLINE std::optional<BreakerTransition> record_success(const BreakerPermit& permit) {
        return core_->record_success(permit);
    }

    /// The operation failed with `klass`. Closed: a `trip_on` class is counted and may open
    /// the breaker (`circuit_opened`); another class is a call (ratio mode) or ends the streak
    /// (consecutive mode). A probe failing with a `trip_on` class reopens it; with any other
    /// class it counts as a probe success (a divergence from the Python original: the
    /// downstream answered). Failures reported while open or half-open by calls admitted
    /// earlier are ignored. A `klass` outside the eight `ErrorClass` values counts as `Unknown`.
    std::optional<BreakerTransition> record_failure(ErrorClass klass, const BreakerPermit& permit);

    /// The operation was cancelled (aborted). A probe frees its slot: the next call becomes
    /// a probe, with no new `circuit_half_open` event. Nothing else changes; returns empty.
    std::optional<BreakerTransition> record_cancel(const BreakerPermit& permit);

    /// The current state, without reading the clock: an open breaker reports `Open` even after
    /// `recovery_timeout` has passed, until a call arrives and becomes the probe. An isolated
    /// breaker reports `Open`; a half-open one `HalfOpen` whether or not a probe is running.
    [[nodiscard]] CircuitState state() const noexcept { return core_->state(); }

    /// Operator override: forces the breaker open until `reset()`, whatever the clock says;
    /// `allow()` rejects (state `Open`), a running probe's report is ignored. Emits nothing
    /// (the hook hears it, reason `Isolated`, when the state changes).
    void isolate();

    /// Operator override: closes the breaker and clears every count and the grown recovery
    /// timeout (also ends `isolate()`). A running probe's report is then treated like any
    /// closed-state call. Emits nothing (the hook hears it, reason `Reset`).
    void reset();

    /// What the breaker is doing now: state, since when, the counts in the window, probes.
    /// Takes the lock and reads the clock; for dashboards and for `restore()`, not per call.
    [[nodiscard]] BreakerSnapshot snapshot() const;

    /// Takes the state of `snapshot` (from this process or an earlier one): the state (an open
    /// breaker stays open until its recovery timeout has passed since `snapshot.since`),
    /// isolation, the openings and the grown recovery timeout (`recovery_backoff` only), the
    /// probe successes of a half-open period and the streak of consecutive mode. Probes in
    /// flight are not restored (their calls ended with the process that held them), nor are the
    /// counts of the window: a closed breaker starts counting afresh. A `since` ahead of this
    /// breaker's clock is taken as now. Reports of permits taken before are ignored. Emits
    /// nothing; the `on_state_change` hook hears the change (reason `Restored`).
    void restore(const BreakerSnapshot& snapshot);

    /// The mode the options chose.
    [[nodiscard]] BreakerMode mode() const noexcept { return core_->mode(); }

    /// The validated options: `trip_on` includes the keys of `class_thresholds`, and a breaker
    /// that set no mode has `failure_ratio` = `default_failure_ratio`.
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

#if !defined(REDRESS_SEPARATE_COMPILATION)
#include <redress/impl/circuit_breaker.hpp>
#endif
