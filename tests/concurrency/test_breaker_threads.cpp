#include <redress/circuit_breaker.hpp>
#include <redress/testing/manual_clock.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using redress::BreakerPermit;
using redress::BreakerTransition;
using redress::CircuitBreaker;
using redress::CircuitState;
using redress::Duration;
using redress::ErrorClass;
using redress::EventName;
using redress::testing::ManualClock;

namespace {

struct Tally {
    std::atomic<long> calls{0};
    std::atomic<long> probes{0};
    std::atomic<long> opened{0};
    std::atomic<long> half_open{0};
    std::atomic<long> closed{0};
    std::atomic<long> rejected{0};
    std::atomic<long> violations{0};
    std::atomic<int> probes_in_flight{0};

    void count(const std::optional<BreakerTransition>& t) {
        if (!t) return;
        switch (t->name) {
            case EventName::CircuitOpened: ++opened; break;
            case EventName::CircuitHalfOpen: ++half_open; break;
            case EventName::CircuitClosed: ++closed; break;
            case EventName::CircuitRejected: ++rejected; break;
            default: ++violations; break;
        }
    }
};

// Reports a random outcome: success, trip_on failure, non-trip_on failure, or cancel.
std::optional<BreakerTransition> report(CircuitBreaker& b, const BreakerPermit& p, std::minstd_rand& rng) {
    const auto roll = rng() % 10;
    if (roll < 4) return b.record_success(p);
    if (roll < 8) return b.record_failure(ErrorClass::Transient, p);
    if (roll < 9) return b.record_failure(ErrorClass::Auth, p);
    return b.record_cancel(p);
}

}  // namespace

TEST_CASE("four threads driving one breaker through half-open never have two probes in flight") {
    ManualClock clock;
    CircuitBreaker shared{{.failure_threshold = 2, .window = 1ms, .recovery_timeout = 50us, .clock = clock}};
    Tally tally;
    const auto stop_at = std::chrono::steady_clock::now() + 1s;
    constexpr long max_iterations = 2'000'000;

    auto worker = [&](unsigned seed) {
        CircuitBreaker b = shared;  // each thread holds its own handle to the one breaker
        std::minstd_rand rng(seed);
        for (long i = 0; i < max_iterations; ++i) {
            if ((i & 255) == 0 && std::chrono::steady_clock::now() >= stop_at) break;
            clock.advance(std::chrono::microseconds(rng() % 10));
            const auto permit = b.allow();
            ++tally.calls;
            tally.count(permit.transition);
            if (!permit.allowed) {
                std::this_thread::yield();  // let the probe holder finish on a busy machine
                continue;
            }
            if (permit.probe) {
                ++tally.probes;
                if (tally.probes_in_flight.fetch_add(1) + 1 > 1) ++tally.violations;
                std::this_thread::yield();  // keep the slot busy a little while the others knock
                tally.probes_in_flight.fetch_sub(1);
            }
            tally.count(report(b, permit, rng));
        }
    };

    std::vector<std::thread> threads;
    for (unsigned t = 0; t < 4; ++t) threads.emplace_back(worker, 1234U + t);
    for (auto& t : threads) t.join();

    INFO("calls " << tally.calls << ", probes " << tally.probes << ", opened " << tally.opened << ", half_open "
                  << tally.half_open << ", closed " << tally.closed << ", rejected " << tally.rejected);
    CHECK(tally.violations == 0);
    // It really cycled through every state many times (hundreds to thousands in practice; the
    // bounds are low so a loaded machine under ThreadSanitizer still passes).
    CHECK(tally.probes > 20);
    CHECK(tally.opened > 20);
    CHECK(tally.closed > 5);
    CHECK(tally.rejected > 20);
    // Each opening allows at most one circuit_half_open event; each probe closes at most once.
    CHECK(tally.half_open <= tally.opened);
    CHECK(tally.closed <= tally.probes);
    CHECK(tally.half_open <= tally.probes);
}

TEST_CASE("closed-state allow and success recording from four threads never open the breaker") {
    CircuitBreaker b{{.failure_threshold = 3}};
    std::atomic<long> refused{0};
    auto worker = [&] {
        for (int i = 0; i < 100'000; ++i) {
            const auto p = b.allow();
            if (!p.allowed) ++refused;
            (void)b.record_success(p);
        }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
    CHECK(refused == 0);
    CHECK(b.state() == redress::CircuitState::Closed);
}

TEST_CASE("concurrent failures open the breaker exactly once") {
    ManualClock clock;
    CircuitBreaker b{{.failure_threshold = 1000, .window = 1h, .clock = clock}};
    std::atomic<int> opened{0};
    auto worker = [&] {
        for (int i = 0; i < 1000; ++i) {
            const auto p = b.allow();
            if (!p.allowed) continue;
            if (b.record_failure(ErrorClass::ServerError, p)) ++opened;
        }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
    CHECK(opened == 1);
    CHECK(b.state() == redress::CircuitState::Open);
}

namespace {

const BreakerTransition opened_t{EventName::CircuitOpened, CircuitState::Open};
const BreakerTransition closed_t{EventName::CircuitClosed, CircuitState::Closed};
const BreakerTransition half_open_t{EventName::CircuitHalfOpen, CircuitState::HalfOpen};
const BreakerTransition rejected_open_t{EventName::CircuitRejected, CircuitState::Open};
const BreakerTransition rejected_half_open_t{EventName::CircuitRejected, CircuitState::HalfOpen};

// What a thread does with one call. In a failure round: report a success or a failure of the
// class; in a probe round: every admitted call reports success, except the probe, which
// reports the call's outcome (Cancel: record_cancel).
enum class Op : unsigned char { Success, Transient, ServerError, RateLimit, Auth, Cancel };

ErrorClass class_of(Op op) {
    switch (op) {
        case Op::Transient: return ErrorClass::Transient;
        case Op::ServerError: return ErrorClass::ServerError;
        case Op::RateLimit: return ErrorClass::RateLimit;
        default: return ErrorClass::Auth;
    }
}

// trip_on = {Transient, ServerError} plus RateLimit when it has a class threshold.
bool trips(Op op, bool rate_limit_trips) {
    return op == Op::Transient || op == Op::ServerError || (op == Op::RateLimit && rate_limit_trips);
}

struct ThreadReport {
    int opened = 0;
    int closed = 0;
    int half_open = 0;
    int probes = 0;
    std::string illegal;  // the first transition off the legal edges, if any
};

using Rep = Duration::rep;

// A duration between 1 and `max` ns, spread over the orders of magnitude.
Rep log_uniform(std::mt19937_64& rng, Rep max) {
    const auto bits = 1 + rng() % 62;
    const auto v = static_cast<Rep>(1 + rng() % (std::uint64_t{1} << bits));
    return v > max ? 1 + static_cast<Rep>(rng() % static_cast<std::uint64_t>(max)) : v;
}

// Failures at most `window` - 1 ns old in a time-ordered log.
int in_window(const std::vector<Rep>& log, Rep now, Rep window) {
    int n = 0;
    for (auto it = log.rbegin(); it != log.rend() && now - *it < window; ++it) ++n;
    return n;
}

}  // namespace

// The property of the unit test "the breaker opens exactly when threshold trip_on failures lie
// within the window", with eight threads reporting at once. The test runs in rounds: between
// rounds the main thread moves the clock; within a round the clock stands still while the
// eight threads call the breaker together. All failures of a round then share one time, so
// the round in which the breaker opens is known exactly from a log of the rounds, whatever
// the interleaving: the first round whose failures bring a count within the window to its
// threshold. Every transition returned must also be a legal edge for the call that got it.
TEST_CASE("eight threads: the breaker opens exactly in the round whose failures reach the threshold, along legal edges") {
    constexpr int thread_count = 8;
    constexpr Rep hour = 3'600'000'000'000LL;
    constexpr Rep year = 8766 * hour;
    const std::vector<Rep> origins{0, hour, 80 * 24 * hour, 5 * year, 290 * year, -290 * year};
    const auto give_up_at = std::chrono::steady_clock::now() + 20s;  // a bound for very slow machines

    std::mt19937_64 rng(20240613);
    int runs_done = 0;
    int rounds_done = 0;
    int openings = 0;
    int closings = 0;
    std::string failure;

    for (int run = 0; run < 60 && failure.empty() && std::chrono::steady_clock::now() < give_up_at; ++run) {
        const Rep window = log_uniform(rng, hour);
        const Rep recovery = log_uniform(rng, 2 * hour);  // >= 1 ns: no probe inside a failure round
        const int threshold = 1 + static_cast<int>(rng() % 50);
        const std::optional<int> class_n = rng() % 2 == 0 ? std::optional<int>(1 + static_cast<int>(rng() % 50)) : std::nullopt;
        const Rep origin = origins[rng() % origins.size()] + static_cast<Rep>(rng() % 1'000'000);
        ManualClock clock{redress::TimePoint{Duration{origin}}};
        redress::CircuitBreakerOptions options{.failure_threshold = threshold,
                                               .window = Duration{window},
                                               .recovery_timeout = Duration{recovery},
                                               .clock = clock};
        if (class_n) options.class_thresholds.set(ErrorClass::RateLimit, *class_n);
        const CircuitBreaker shared{options};
        const std::string where = "run " + std::to_string(run) + " (window " + std::to_string(window) +
                                  " ns, recovery " + std::to_string(recovery) + " ns, threshold " +
                                  std::to_string(threshold) + ", RateLimit threshold " +
                                  (class_n ? std::to_string(*class_n) : "none") + ")";

        // The round plan, written by the main thread before the start barrier.
        std::vector<std::vector<Op>> plan(thread_count);
        bool probe_round = false;
        bool stop = false;
        std::vector<ThreadReport> reports(thread_count);
        std::mutex probe_mutex;
        std::vector<Op> probe_outcomes;  // in the order the probes reported
        std::atomic<int> probes_in_flight{0};
        std::barrier sync(thread_count + 1);

        auto worker = [&](int id) {
            CircuitBreaker b = shared;
            for (;;) {
                sync.arrive_and_wait();  // the plan is ready
                if (stop) return;
                auto& r = reports[static_cast<std::size_t>(id)];
                r = ThreadReport{};
                auto illegal = [&r](const std::string& what) {
                    if (r.illegal.empty()) r.illegal = what;
                };
                for (const Op op : plan[static_cast<std::size_t>(id)]) {
                    const auto p = b.allow();
                    if (!p.allowed) {
                        if (p.probe || !p.transition || p.state == CircuitState::Closed ||
                            (p.transition != rejected_open_t && p.transition != rejected_half_open_t) ||
                            p.transition->state != p.state)
                            illegal("a rejection that is not {circuit_rejected, open/half_open}");
                        if (!probe_round && p.state != CircuitState::Open) illegal("rejected half-open in a failure round");
                        continue;
                    }
                    if (p.probe) {
                        ++r.probes;
                        if (!probe_round) illegal("a probe in a failure round (recovery_timeout >= 1 ns)");
                        if (p.transition && p.transition != half_open_t) illegal("a probe permit with another event than circuit_half_open");
                        if (p.transition) ++r.half_open;
                        if (probes_in_flight.fetch_add(1) != 0) illegal("two probes in flight");
                        {
                            const std::lock_guard lock(probe_mutex);
                            probe_outcomes.push_back(op);
                        }
                        probes_in_flight.fetch_sub(1);
                        std::optional<BreakerTransition> t;
                        if (op == Op::Cancel) {
                            t = b.record_cancel(p);
                            if (t) illegal("a cancelled probe reported an event");
                        } else if (op == Op::Success) {
                            t = b.record_success(p);
                            if (t != closed_t) illegal("a probe's success did not close");
                        } else {
                            t = b.record_failure(class_of(op), p);
                            if (t != (trips(op, class_n.has_value()) ? opened_t : closed_t))
                                illegal("a probe's failure did not reopen (trip_on) or close (other class)");
                        }
                        if (t == opened_t) ++r.opened;
                        if (t == closed_t) ++r.closed;
                        continue;
                    }
                    if (p.transition || p.state != CircuitState::Closed) illegal("an admitted non-probe call not in closed state");
                    std::optional<BreakerTransition> t;
                    if (probe_round || op == Op::Success || op == Op::Cancel) {
                        t = b.record_success(p);
                        if (t) illegal("a closed-state success reported an event");
                    } else {
                        t = b.record_failure(class_of(op), p);
                        if (t && (t != opened_t || !trips(op, class_n.has_value())))
                            illegal("a closed-state failure reported something other than circuit_opened for a trip_on class");
                        if (t == opened_t) ++r.opened;
                    }
                }
                sync.arrive_and_wait();  // the round is done
            }
        };
        std::vector<std::thread> threads;
        for (int t = 0; t < thread_count; ++t) threads.emplace_back(worker, t);

        // The model: the phase, when it opened, and the log of counted failures since it closed.
        CircuitState phase = CircuitState::Closed;
        Rep opened_at = 0;
        std::vector<Rep> log_all;
        std::vector<Rep> log_own;

        for (int round = 0; round < 80 && failure.empty(); ++round) {
            // Move the clock: often not at all, often about a window, sometimes past recovery.
            switch (rng() % 4) {
                case 0: break;
                case 1: clock.advance(Duration{log_uniform(rng, window)}); break;
                case 2: clock.advance(Duration{window}); break;
                default: clock.advance(Duration{log_uniform(rng, 2 * (window > recovery ? window : recovery))}); break;
            }
            const Rep now = clock.now().time_since_epoch().count();
            probe_round = phase != CircuitState::Closed;

            int trip_ops = 0;
            int own_ops = 0;
            const int per_thread = 1 + static_cast<int>(rng() % (probe_round ? 4 : (threshold / 4 + 3)));
            for (auto& ops : plan) {
                ops.clear();
                const auto n = rng() % static_cast<std::uint64_t>(per_thread + 1);
                for (std::uint64_t i = 0; i < n; ++i) {
                    const auto op = static_cast<Op>(rng() % 6);
                    ops.push_back(op);
                    if (!probe_round && trips(op, class_n.has_value())) ++trip_ops;
                    if (!probe_round && op == Op::RateLimit && class_n) ++own_ops;
                }
            }
            if (probe_round) plan[0].push_back(Op::Success);  // someone knocks at least once
            probe_outcomes.clear();

            sync.arrive_and_wait();  // start
            sync.arrive_and_wait();  // done

            ThreadReport total;
            for (const auto& r : reports) {
                total.opened += r.opened;
                total.closed += r.closed;
                total.half_open += r.half_open;
                total.probes += r.probes;
                if (total.illegal.empty()) total.illegal = r.illegal;
            }
            const std::string at = where + ", round " + std::to_string(round) + ": ";
            if (!total.illegal.empty()) {
                failure = at + total.illegal;
                break;
            }

            CircuitState expected = phase;
            int expected_opened = 0;
            if (!probe_round) {
                // Opens iff all of the round's failures, added to the log, reach a threshold.
                const int all_in = in_window(log_all, now, window) + trip_ops;
                const int own_in = class_n ? in_window(log_own, now, window) + own_ops : 0;
                if (all_in >= threshold || (class_n && own_in >= *class_n)) {
                    expected = CircuitState::Open;
                    expected_opened = 1;
                    opened_at = now;
                } else {
                    log_all.insert(log_all.end(), static_cast<std::size_t>(trip_ops), now);
                    log_own.insert(log_own.end(), static_cast<std::size_t>(own_ops), now);
                }
                if (total.probes != 0 || total.closed != 0 || total.half_open != 0) {
                    failure = at + "a probe, circuit_closed or circuit_half_open in a failure round";
                    break;
                }
            } else {
                const bool due = phase == CircuitState::HalfOpen || now - opened_at >= recovery;
                const int expected_half_open = phase == CircuitState::Open && due ? 1 : 0;
                if (!due && total.probes != 0) {
                    failure = at + "a probe before recovery_timeout";
                    break;
                }
                if (total.half_open != expected_half_open) {
                    failure = at + std::to_string(total.half_open) + " circuit_half_open events, expected " +
                              std::to_string(expected_half_open);
                    break;
                }
                // The probes ran one after another: cancels free the slot for the next; the
                // first other outcome settles the round (recovery >= 1 ns, so a reopened breaker
                // lets no probe through at this time).
                for (std::size_t i = 0; i + 1 < probe_outcomes.size(); ++i) {
                    if (probe_outcomes[i] != Op::Cancel) failure = at + "a probe after a probe that settled the breaker";
                }
                if (!failure.empty()) break;
                if (!probe_outcomes.empty()) {
                    const Op last = probe_outcomes.back();
                    if (last == Op::Cancel) {
                        expected = CircuitState::HalfOpen;
                    } else if (last == Op::Success || !trips(last, class_n.has_value())) {
                        expected = CircuitState::Closed;
                        log_all.clear();
                        log_own.clear();
                    } else {
                        expected = CircuitState::Open;
                        expected_opened = 1;
                        opened_at = now;
                    }
                }
                const int expected_closed = expected == CircuitState::Closed ? 1 : 0;
                if (total.closed != expected_closed) {
                    failure = at + std::to_string(total.closed) + " circuit_closed events, expected " + std::to_string(expected_closed);
                    break;
                }
            }
            if (total.opened != expected_opened) {
                failure = at + std::to_string(total.opened) + " circuit_opened events, expected " + std::to_string(expected_opened);
                break;
            }
            if (shared.state() != expected) {
                failure = at + "state " + std::string(redress::to_string(shared.state())) + ", expected " +
                          std::string(redress::to_string(expected));
                break;
            }
            phase = expected;
            openings += expected_opened;
            closings += total.closed;
            ++rounds_done;
        }

        stop = true;
        sync.arrive_and_wait();  // release the workers to see `stop`
        for (auto& t : threads) t.join();
        ++runs_done;
    }

    INFO(failure);
    CHECK(failure.empty());
    INFO("runs " << runs_done << ", rounds " << rounds_done << ", openings " << openings << ", closings " << closings);
    CHECK(runs_done >= 4);  // all 60 unless the machine is very slow
    CHECK(openings >= runs_done);
    CHECK(closings >= runs_done / 2);
}

// The lock behind the breaker's failure counting spins, then sleeps. Four threads take it in
// turn, and a few holds are long (a busy loop of a million stores, no sleep): far beyond the
// 128 looks a waiter spins for, so the waiters go to sleep on the lock. A lost wake-up leaves a
// thread asleep for good: with the unlock's wake-up removed, this test hung in 3 runs of 3. A
// broken exclusion loses increments or meets another holder inside.
namespace {
volatile long lock_test_sink = 0;  // written only by the lock's holder
}  // namespace

TEST_CASE("the breaker's lock excludes, and wakes every thread that slept on it") {
    redress::detail::SpinThenBlockMutex lock;
    long counter = 0;  // guarded by lock, deliberately not atomic (ThreadSanitizer checks it)
    std::atomic<int> inside{0};
    std::atomic<long> overlaps{0};
    constexpr int threads = 4;
    constexpr int rounds = 1000;
    std::barrier start(threads);
    auto worker = [&](int id) {
        start.arrive_and_wait();
        for (int i = 0; i < rounds; ++i) {
            std::lock_guard guard(lock);
            if (inside.fetch_add(1, std::memory_order_relaxed) != 0) ++overlaps;
            ++counter;
            const int work = (i + 64 * id) % 250 == 0 ? 1'000'000 : 10;  // 4 long holds a thread
            for (int k = 0; k < work; ++k) lock_test_sink = k;
            inside.fetch_sub(1, std::memory_order_relaxed);
        }
    };
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker, t);
    for (auto& t : pool) t.join();
    CHECK(overlaps.load() == 0);
    CHECK(counter == long{threads} * rounds);
    CHECK(lock.try_lock());  // left free
    lock.unlock();
}
