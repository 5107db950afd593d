// Budget: a cap on retries shared by policies and threads: a rolling window here, a share of
// requests in ratio_budget.hpp, or any BudgetBackend (see docs/budgets.md).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include <redress/clock.hpp>
#include <redress/detail/attributes.hpp>

namespace redress {

struct RatioBudgetOptions;  // <redress/ratio_budget.hpp>, included at the end of this header

/// Settings of a `Budget`: at most `max_retries` retries within any `window`.
struct BudgetOptions {
    /// Retries admitted within any `window`; must be >= 0 (0 admits none). Default 100.
    int max_retries = 100;
    /// The rolling window; must be > 0 (up to `Duration::max()`). Default 60 s.
    Duration window = std::chrono::seconds(60);
    /// The clock; default `std::chrono::steady_clock`. Any reading in `TimePoint`'s range works,
    /// however long the clock has run.
    AnyClock clock{};
    /// With the default `clock`, read the kernel's coarse monotonic clock instead
    /// (`CLOCK_MONOTONIC_COARSE` on Linux: ~10 ns against ~31 ns for `steady_clock`) when the
    /// window is at least 16 times its lag bound (4 ticks, >= 10 ms; so windows from ~256 ms
    /// at 250 Hz). The budget then counts each retry for that lag longer, so a lagging
    /// reading can never admit early. Ignored with a custom clock. Default true.
    bool coarse_clock = true;
};

namespace detail {

/// A clock reading's time bucket, and where that bucket begins as an unsigned nanosecond
/// count (exact in modular arithmetic). Shared by the window and ratio budgets.
struct BucketTick {
    std::uint64_t bucket;
    std::uint64_t begin;
};

/// The bucket of `ns` for buckets of `width` ns: `floor(ns / width)` with the sign bit flipped,
/// so unsigned order is time order over the whole range of readings; exact for every `ns`.
[[nodiscard]] BucketTick bucket_of(Duration::rep ns, Duration::rep width) noexcept;

/// The width of `n` buckets that cover at least `span`: `ceil(span / n)`, in nanoseconds.
[[nodiscard]] constexpr Duration::rep bucket_width(Duration::rep span, Duration::rep n) noexcept {
    return span / n + (span % n != 0 ? 1 : 0);
}

/// The shared state behind `Budget` handles: a lock-free ring of time buckets.
///
/// Time is cut into buckets of `width = ceil(window / 32)`, numbered by a full 64-bit index
/// (`floor(ns / width)`, shifted to unsigned), so bucket arithmetic is exact for every clock
/// reading: no index wraps however long the clock has run or the budget stayed idle.
///
/// State:
/// * `head_` = `version << 32 | frozen bit | count`: the retries in the current bucket. Every
///   admission is a compare-exchange on this word from the very value the decision was
///   computed on, so two threads can never both take the last retry.
/// * `bucket_[version & 1]`: the 64-bit index of the head's bucket; `bucket_[(version + 1) & 1]`
///   the next one, once chosen (two words, so a move never overwrites what a helper still reads).
/// * `slots_`: the counts of the 32 buckets before the head, position `bucket % 32`;
///   `older_` = `version << 32 | their sum`.
///
/// Moving the head (once per bucket, by whichever call first sees a later bucket): freeze the
/// head (its count is then final), choose the next bucket, write the closed bucket's count into
/// its slot and zero into the slots of the buckets skipped over (all 32 after an idle window),
/// sum the 32 slots into `older_`, and unfreeze with the new version and a count of zero. Every
/// step is idempotent and any thread that meets a frozen head completes it, so the budget stays
/// lock-free; a helper re-reads `head_` before each write, so a late helper writes nothing.
/// Between moves the slots hold exactly the 32 buckets before the head.
///
/// A retry stays counted until its bucket's end is 32 widths (at least `window`, plus the
/// clock's lag bound) old: it is forgotten between 32 and 33 widths after it was taken. The
/// budget is therefore conservative (it may refuse up to one bucket's worth of time early) and
/// never over-admits.
///
/// Leases keep busy threads off the shared word. A thread that has taken `n` retries in the
/// current bucket takes up to `n` more than it needs (at most 1/256 of the free retries and at
/// most 1024) and spends them without touching shared memory; it also remembers the free count
/// it last saw, so while refused it stays refused without a shared read until its bucket ends.
/// Leased retries are counted when taken, so nothing is admitted twice; an unused lease is
/// given back when its bucket ends if the head is still there, and otherwise stays counted
/// until its bucket leaves the window (conservative). A budget with fewer than 256 free
/// retries leases nothing: its count is exact across threads.
///
/// Versions are 32 bits: a compare-exchange could only succeed on a stale value if its thread
/// stalled between reading and writing while the head moved 2^32 times (2^32 buckets: at
/// least 4.3 s for windows up to 32 ns, 37 hours for a 1 ms window).
/// A template only so that it can be compiled once (`BasicBudgetCore<void>`, in
/// redress::compiled) under separate compilation; `BudgetCore` is the one instantiation.
template <class = void>
class BasicBudgetCore {
public:
    static constexpr std::uint32_t buckets = 32;

    explicit BasicBudgetCore(BudgetOptions options);

    /// A budget whose `options.clock` may read up to `lag` behind real time (each retry is
    /// counted `lag` longer). What the coarse clock gets; public for tests of that margin.
    BasicBudgetCore(BudgetOptions options, Duration lag);

    // User-provided (not defaulted), so that separate compilation compiles it once with the
    // other members instead of in every translation unit that destroys one.
    ~BasicBudgetCore();
    BasicBudgetCore(const BasicBudgetCore&) = delete;
    BasicBudgetCore& operator=(const BasicBudgetCore&) = delete;

    bool consume(int cost);

    /// Retries that could be taken now. Reads the shared state without moving the head (it
    /// only completes a move another call has started).
    [[nodiscard]] int remaining();

    [[nodiscard]] const BudgetOptions& options() const noexcept { return options_; }

    /// True when this budget reads `CoarseClock` (see `BudgetOptions::coarse_clock`).
    [[nodiscard]] bool coarse() const noexcept { return coarse_; }

private:
    void validate() const;

    /// Buckets of `ceil((window + lag) / 32)`: a retry stays counted for at least
    /// `window + lag` of this clock's time, hence at least `window` of real time when its
    /// reading lagged by up to `lag` (saturating for windows near `Duration::max()`).
    void start(Duration lag);

    [[nodiscard]] TimePoint now() const;

    static constexpr std::uint64_t frozen_bit = std::uint64_t{1} << 31;
    static constexpr std::uint64_t count_mask = frozen_bit - 1;  // counts never exceed INT_MAX
    static std::uint64_t pack(std::uint32_t version, std::uint64_t count) noexcept;
    static std::uint32_t version_of(std::uint64_t w) noexcept;
    static std::uint32_t count_of(std::uint64_t w) noexcept;
    static bool is_frozen(std::uint64_t w) noexcept;

    using Tick = BucketTick;
    [[nodiscard]] Tick tick_of(Duration::rep ns) const noexcept;

    /// Retries one thread took from the shared count of one bucket and has not used yet.
    static constexpr std::uint64_t no_bucket = ~0ULL;
    struct Lease {
        const BasicBudgetCore* core = nullptr;  ///< the budget; with `owner`, the key
        std::uint64_t owner = 0;           ///< its `id_` (a later budget at the same address differs)
        std::uint64_t bucket = no_bucket;  ///< the bucket the tokens were counted in
        std::uint64_t begin = 0;           ///< where `bucket` starts (`Tick::begin`)
        std::uint32_t tokens = 0;          ///< taken, not used yet
        std::uint32_t taken = 0;           ///< used by this thread in `bucket`: sizes the next lease
        std::uint32_t free = 0;            ///< free retries the shared count had, last seen in `bucket`
    };
    /// Each thread keeps leases of the last 4 budgets it used.
    struct LeaseCache {
        std::array<Lease, 4> slots{};
        std::uint32_t next = 0;
    };
    static LeaseCache& lease_cache() noexcept;
    static Lease* find_lease(const BasicBudgetCore* core, std::uint64_t owner) noexcept;
    /// This thread's lease on budget `owner`. A new one replaces the oldest slot; the replaced
    /// lease's tokens stay counted until their bucket leaves the window (never more than
    /// `max_lease`, and none when its budget had less than `lease_divisor` retries left).
    /// Keyed by address and id: ids alone could repeat where a library built with hidden
    /// visibility has its own copy of the id counter, and addresses are reused.
    static Lease& lease_of(const BasicBudgetCore* core, std::uint64_t owner) noexcept;
    static std::uint64_t next_id() noexcept;

    /// A lease's extra tokens: no more than this thread used in the bucket so far (so an idle
    /// thread holds none), than 1/`lease_divisor` of what stays free, or than `max_lease`.
    static constexpr std::int64_t lease_divisor = 256;
    static constexpr std::int64_t max_lease = 1024;

    /// Admission through the shared count: `need` retries (less what this thread's lease for
    /// the bucket still holds) plus a lease for the next calls.
    bool consume_shared(std::uint32_t need, Tick tick, Lease& lease);

    static void set_lease(Lease& lease, bool leasable, Tick tick, std::uint32_t tokens, std::uint32_t taken,
                          std::int64_t free) noexcept;

    /// Returns the unused tokens of a lease whose bucket has passed, if the head is still in
    /// that bucket (then nobody has closed it yet); otherwise they stay counted until the
    /// bucket leaves the window.
    void give_back(Lease& lease) noexcept;

    /// Starts moving the head `w` towards bucket `target`: freezes it, then completes the move.
    void freeze(std::uint64_t w, std::uint64_t target) noexcept;

    /// Completes the move of the frozen head `f` (see the class comment); `hint` is the caller's
    /// bucket, the next bucket if none was chosen yet. Returns early, having changed nothing
    /// that matters, once `f` is no longer the head (another thread finished the move).
    void help(std::uint64_t f, std::uint64_t hint) noexcept;

    /// Sets `word` to `value` while the head is still the frozen `f`, unless it already holds
    /// an equivalent value (for a slot: the same count; for `older_`: the same word). False
    /// when the head has moved on: then the move is complete and this write is not needed.
    template <bool slot>
    bool write(std::atomic<std::uint64_t>& word, std::uint64_t value, std::uint64_t f) noexcept;

    BudgetOptions options_;
    std::uint64_t id_ = next_id();
    bool coarse_ = false;
    Duration::rep width_ = 1;
    // What an admission reads, on one cache line.
    alignas(64) std::atomic<std::uint64_t> head_{0};
    std::array<std::atomic<std::uint64_t>, 2> bucket_{};
    std::atomic<std::uint64_t> older_{0};
    alignas(64) std::array<std::atomic<std::uint64_t>, buckets> slots_{};
};

using BudgetCore = BasicBudgetCore<>;
REDRESS_EXTERN_TEMPLATE(class BasicBudgetCore<void>)

}  // namespace detail

/// What a budget answers for one retry. Only budgets kept elsewhere (a `BudgetBackend`, e.g.
/// a shared store) answer the last two: the policy then also emits
/// `budget_backend_unavailable`.
enum class BudgetVerdict : std::uint8_t {
    /// The retry is taken.
    Admitted,
    /// The budget is spent: the policy stops with `budget_exhausted`.
    Refused,
    /// The backend did not answer in time and fails open: its local fallback admitted.
    AdmittedUnavailable,
    /// The backend did not answer in time and fails closed (or its fallback refused).
    RefusedUnavailable,
};

/// True when `v` takes the retry.
[[nodiscard]] constexpr bool admitted(BudgetVerdict v) noexcept {
    return v == BudgetVerdict::Admitted || v == BudgetVerdict::AdmittedUnavailable;
}

/// True when `v` says the backend did not answer.
[[nodiscard]] constexpr bool backend_unavailable(BudgetVerdict v) noexcept {
    return v == BudgetVerdict::AdmittedUnavailable || v == BudgetVerdict::RefusedUnavailable;
}

/// A budget kept somewhere other than a `Budget`'s own window: implement it to plug any budget
/// into `Retry::budget` through `Budget(std::shared_ptr<BudgetBackend>)`. Called from any
/// thread at once: implementations are thread-safe.
class BudgetBackend {
public:
    BudgetBackend() = default;
    BudgetBackend(const BudgetBackend&) = delete;
    BudgetBackend& operator=(const BudgetBackend&) = delete;
    virtual ~BudgetBackend() = default;

    /// One retry of `cost` (>= 1) units: the verdict. May not block longer than the backend's
    /// own timeout.
    [[nodiscard]] virtual BudgetVerdict consume(int cost) = 0;

    /// One operation started, before the breaker is asked (a call it rejects counts too).
    /// Policies call it once per operation, and only when `counts_requests()`; a budget that
    /// caps retries as a share of requests counts here. Must be cheap: it runs on every call.
    virtual void record_request() noexcept {}

    /// True when the budget wants `record_request()`. Must not change after construction.
    [[nodiscard]] virtual bool counts_requests() const noexcept { return false; }

    /// Retries that could be taken now (0 when exhausted), as far as the backend knows.
    [[nodiscard]] virtual int remaining() const = 0;
};

/// A retry budget shared by any number of policies and threads (see docs/budgets.md): at most
/// `max_retries` retries within any rolling `window` (`BudgetOptions`), a share of the recent
/// requests (`RatioBudgetOptions`), or whatever a `BudgetBackend` keeps.
///
/// A handle: copies share one budget (hand a copy to every policy that should draw from it);
/// moving copies too, so a handle is never empty. Thread-safe and lock-free.
///
/// Cost: `consume()` reads the clock once and one cache line of shared state, and admits with
/// one compare-exchange; once per bucket (window / 32) a call also moves the head, which
/// writes a few slots and sums the 32 old buckets. Time and memory do not depend on
/// `max_retries`; no allocation after construction. With the default clock and a window of
/// ~256 ms or more, the clock read is the kernel's coarse clock (`BudgetOptions::coarse_clock`).
///
/// Granularity: the window is cut into 32 buckets (of whole nanoseconds, rounded up); a retry
/// stays counted until its bucket has wholly left the window, i.e. for between `window` and
/// about `window + window / 32` (plus the coarse clock's lag bound, 4 ticks, when it is
/// read). The budget may thus refuse slightly early, never late: within any interval of
/// length `window`, at most `max_retries` retries are admitted. Bucket numbers are 64-bit:
/// any clock origin and any uptime or idle period works (see docs/limits.md).
class Budget {
public:
    /// Validates `options`: `max_retries >= 0`, `window > 0`; throws `InvalidOption` naming
    /// the option (component `"BudgetOptions"`).
    explicit Budget(BudgetOptions options);

    /// A ratio budget: retries at most `ratio` of the requests of the last `ttl` plus a floor
    /// of `min_retries_per_second` (see `RatioBudgetOptions`, docs/budgets.md). Throws
    /// `InvalidOption` naming the option (component `"RatioBudgetOptions"`).
    explicit Budget(RatioBudgetOptions options);

    /// A budget kept by `backend` (a ratio budget, a shared store); copies share it. Throws
    /// `InvalidOption` (component `"Budget"`, option `"backend"`) when it is null.
    explicit Budget(std::shared_ptr<BudgetBackend> backend);

    /// `Budget{100, 60s}`: same as `Budget{{.max_retries = 100, .window = 60s}}`.
    Budget(int max_retries, Duration window);

    // Declared here and defaulted in <redress/impl/budget.hpp>: a unit that only holds a
    // budget in its `Retry` then compiles none of the shared pointers' copies and releases
    // (under separate compilation, 69 M fewer compiler instructions at -O2 for one call).
    // (No move: moving copies, so a moved-from handle stays valid.)
    /// Copies the handle: both share one budget. Never allocates.
    Budget(const Budget&);
    /// Makes this handle share the other's budget (this one's is released if it was the last).
    Budget& operator=(const Budget&);
    ~Budget();

    /// Takes `cost` retries if the retries inside the window plus `cost` stay within
    /// `max_retries`; returns false (taking nothing) otherwise. Throws `std::invalid_argument`
    /// when `cost < 1`. Const because the handle is: the shared count changes.
    bool consume(int cost = 1) const;

    /// As `consume`, with the backend's whole verdict (whether it answered).
    [[nodiscard]] BudgetVerdict decide(int cost = 1) const;

    /// Tells a budget that counts requests that one operation started; nothing otherwise.
    void record_request() const noexcept {
        if (counts_requests_) backend_->record_request();
    }

    /// True when the budget wants `record_request()` once per operation.
    [[nodiscard]] bool counts_requests() const noexcept { return counts_requests_; }

    /// The backend, when this budget is kept by one; null for a window budget.
    [[nodiscard]] const std::shared_ptr<BudgetBackend>& backend() const noexcept { return backend_; }

    /// Retries that could be taken now (0 when exhausted). A snapshot: other threads may take
    /// them first.
    [[nodiscard]] int remaining() const;

    /// True for a window budget (`BudgetOptions`), false for one kept by a `BudgetBackend`.
    [[nodiscard]] bool is_window() const noexcept { return core_ != nullptr; }

    /// The validated options of a window budget. Throws `std::logic_error` for a budget kept
    /// by a backend (see `is_window()`).
    [[nodiscard]] const BudgetOptions& options() const;

    /// True when this budget reads the kernel's coarse clock (`BudgetOptions::coarse_clock`
    /// was honoured: default clock, a window long enough, and a platform that has one). False
    /// for a budget kept by a backend.
    [[nodiscard]] bool uses_coarse_clock() const noexcept { return core_ && core_->coarse(); }

private:
    std::shared_ptr<detail::BudgetCore> core_;
    std::shared_ptr<BudgetBackend> backend_;
    bool counts_requests_ = false;
};

}  // namespace redress

#include <redress/ratio_budget.hpp>  // RatioBudgetOptions and Budget(RatioBudgetOptions)

#if !defined(REDRESS_SEPARATE_COMPILATION)
#include <redress/impl/budget.hpp>
#endif
