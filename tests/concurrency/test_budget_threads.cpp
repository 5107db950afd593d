#include <redress/budget.hpp>
#include <redress/testing/manual_clock.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using redress::Budget;
using redress::TimePoint;
using redress::testing::ManualClock;

namespace {

thread_local TimePoint last_reading{};

// A shared manual clock that remembers, per thread, the last time it handed out: after a
// successful consume() that is the time the budget admitted the retry at.
struct RecordingClock {
    ManualClock clock;
    [[nodiscard]] TimePoint now() const {
        last_reading = clock.now();
        return last_reading;
    }
};

struct Admission {
    TimePoint at;
    int cost;
};

/// The most retries admitted within any interval [t, t + window).
int worst_window(std::vector<Admission>& admitted, redress::Duration window) {
    std::sort(admitted.begin(), admitted.end(), [](const Admission& a, const Admission& b) { return a.at < b.at; });
    int worst = 0;
    long in_window = 0;
    std::size_t end = 0;
    for (std::size_t begin = 0; begin < admitted.size(); ++begin) {
        while (end < admitted.size() && admitted[end].at - admitted[begin].at < window) in_window += admitted[end++].cost;
        worst = std::max(worst, static_cast<int>(in_window));
        in_window -= admitted[begin].cost;
    }
    return worst;
}

// A shared manual clock whose readings can be overtaken: while `overtakes` is positive, each
// reading by the thread marked `under_test` runs `overtake` (on another thread) after the
// reading is taken and before it is returned, as if that thread were descheduled between reading
// the clock and deciding while others moved the budget on.
thread_local bool under_test = false;
struct OvertakenClock {
    ManualClock clock;
    std::shared_ptr<std::function<void()>> overtake = std::make_shared<std::function<void()>>();
    std::shared_ptr<int> overtakes = std::make_shared<int>(0);
    [[nodiscard]] TimePoint now() const {
        last_reading = clock.now();
        if (under_test && *overtakes > 0) {
            --*overtakes;
            std::thread(*overtake).join();
        }
        return last_reading;
    }
};

}  // namespace

// The decision is made at the time of the deciding thread's own clock reading, however often
// other threads move the budget past it meanwhile: a call charged to a later bucket than its
// reading would be forgotten too late but also checked against too late a window, and admit
// more than the budget within a window that ends at its reading. (The window budget used to
// re-read the clock twice and then charge the call to the head's bucket: overtaken three times,
// it admitted 11 of 10.) Both budgets that keep a window of 32 buckets, overtaken 1 to 6 times.
TEST_CASE("a retry is decided at its own clock reading however often other threads overtake it") {
    using days = std::chrono::duration<long, std::ratio<86400>>;
    const int overtakes = GENERATE(range(1, 7));
    const bool ratio = GENERATE(false, true);
    // A bucket-aligned origin near the epoch, and one near the end of steady_clock's range.
    const auto origin = GENERATE(redress::Duration{100'000ns}, redress::Duration{days(290 * 365)});
    INFO((ratio ? "ratio budget" : "window budget") << ", overtaken " << overtakes << " times, origin "
                                                    << origin.count() << " ns");
    // Ten retries within 3,200 ns: buckets of 100 ns. The ratio budget sees no requests, so its
    // floor (10 per ttl) is the whole allowance.
    OvertakenClock clock{ManualClock{TimePoint{} + origin}};
    Budget budget = ratio ? Budget(redress::RatioBudgetOptions{.ratio = 0.2,
                                                                      .ttl = 3200ns,
                                                                      .min_retries_per_second = 10 / 3.2e-6,
                                                                      .clock = clock})
                                : Budget({.max_retries = 10, .window = 3200ns, .clock = clock});
    std::vector<Admission> admitted;
    std::mutex merge;
    *clock.overtake = [&] {  // another thread: one bucket later, one retry
        clock.clock.advance(100ns);
        Budget mine = budget;
        if (mine.consume(1)) {
            std::lock_guard lock(merge);
            admitted.push_back({last_reading, 1});
        }
    };

    // All ten at the end of the first bucket, x.
    clock.clock.advance(99ns);
    REQUIRE(budget.consume(10));
    admitted.push_back({last_reading, 10});
    // The retry under test reads the clock at x + 30 buckets; each overtake moves the head one
    // bucket on. Up to x + 32 the window still holds the ten: refused (so are the other threads'
    // retries); from x + 33 it is free.
    clock.clock.advance(2901ns);
    *clock.overtakes = overtakes;
    under_test = true;
    Budget mine = budget;
    const bool taken = mine.consume(1);
    under_test = false;
    if (taken) admitted.push_back({last_reading, 1});

    INFO("admitted " << admitted.size() << " times, the retry under test read the clock at +"
                     << (last_reading - (TimePoint{} + origin)).count() << " ns");
    CHECK(worst_window(admitted, 3200ns) <= 10);
    // Decided at its last reading: x + 30 + overtakes buckets.
    CHECK(last_reading == TimePoint{} + origin + 3000ns + overtakes * 100ns);
    CHECK(taken == (overtakes >= 3));
    CHECK(static_cast<int>(admitted.size()) == 1 + std::max(0, overtakes - 2) + (taken ? 1 : 0));
}

TEST_CASE("a budget shared by four threads never admits more than max_retries within any window") {
    // Small: exact shared counting. Large: busy threads lease retries in batches.
    const auto [max_retries, window] = GENERATE(table<int, redress::Duration>({{50, 10ms}, {5000, 100ms}}));
    // (virtual time, advanced by the threads themselves)
    ManualClock clock;
    Budget shared{{.max_retries = max_retries, .window = window, .clock = RecordingClock{clock}}};
    const auto stop_at = std::chrono::steady_clock::now() + 1s;
    constexpr long max_iterations = 1'000'000;

    std::mutex merge;
    std::vector<Admission> admitted;
    std::atomic<long> refused{0};

    auto worker = [&](unsigned seed) {
        Budget budget = shared;
        std::minstd_rand rng(seed);
        std::vector<Admission> mine;
        for (long i = 0; i < max_iterations; ++i) {
            if ((i & 255) == 0 && std::chrono::steady_clock::now() >= stop_at) break;
            // About 5000 steps per window in both cases, so a slow (sanitized) run still
            // crosses many windows within its time limit.
            clock.advance(std::chrono::nanoseconds(rng() % static_cast<unsigned>(window.count() / 2500)));
            const int cost = rng() % 4 == 0 ? 2 : 1;
            if (budget.consume(cost)) {
                mine.push_back({last_reading, cost});
            } else {
                ++refused;
            }
        }
        std::lock_guard lock(merge);
        admitted.insert(admitted.end(), mine.begin(), mine.end());
    };

    std::vector<std::thread> threads;
    for (unsigned t = 0; t < 4; ++t) threads.emplace_back(worker, 99U + t);
    for (auto& t : threads) t.join();

    std::sort(admitted.begin(), admitted.end(), [](const Admission& a, const Admission& b) { return a.at < b.at; });
    // For every admitted retry at t: the retries admitted within [t, t + window) fit the budget.
    int worst = 0;
    long in_window = 0;
    std::size_t end = 0;
    for (std::size_t begin = 0; begin < admitted.size(); ++begin) {
        while (end < admitted.size() && admitted[end].at < admitted[begin].at + window) in_window += admitted[end++].cost;
        worst = std::max(worst, static_cast<int>(in_window));
        in_window -= admitted[begin].cost;
    }
    const auto windows_elapsed = (clock.now() - ManualClock{}.now()) / window;
    INFO("admitted " << admitted.size() << ", refused " << refused << ", windows " << windows_elapsed
                     << ", worst window " << worst);
    CHECK(worst <= max_retries);
    // The test was not vacuous: the budget was under pressure and still admitted most of its
    // allowance over many windows.
    CHECK(windows_elapsed > 20);
    CHECK(refused > 0);
    CHECK(worst >= max_retries - max_retries / 20);  // leases held by other threads may idle
    CHECK(static_cast<long>(admitted.size()) > windows_elapsed * max_retries / 4);
}

TEST_CASE("four threads racing for the last retries of a budget take exactly max_retries") {
    constexpr int max_retries = 1000;
    Budget budget{max_retries, 1h};
    std::atomic<int> taken{0};
    auto worker = [&] {
        for (int i = 0; i < 2000; ++i)
            if (budget.consume()) ++taken;
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
    CHECK(taken == max_retries);
    CHECK(budget.remaining() == 0);
}

TEST_CASE("property: eight threads sharing a budget never admit more than max_retries within any window, "
          "at any clock origin and window size") {
    using days = std::chrono::duration<long, std::ratio<86400>>;
    struct Config {
        int max_retries;
        redress::Duration window;
        redress::Duration origin;
    };
    // Small budgets count exactly; large ones lease. Origins up to 290 years (near the end of
    // steady_clock's range); windows down to 100 ns (a bucket of 4 ns: the head moves constantly).
    const auto [max_retries, window, origin] =
        GENERATE(values<Config>({{50, 10ms, redress::Duration::zero()},
                                 {5000, 100ms, days(290 * 365)},
                                 {20, 1us, days(80)},
                                 {3, 100ns, days(5 * 365)},
                                 {1000, 1ms, 1h}}));
    INFO("max_retries " << max_retries << ", window " << window.count() << " ns, origin " << origin.count() << " ns");
    ManualClock clock{TimePoint{} + origin};
    Budget shared{{.max_retries = max_retries, .window = window, .clock = RecordingClock{clock}}};
    const auto stop_at = std::chrono::steady_clock::now() + 1s;
    constexpr long max_iterations = 400'000;
    // About 5000 steps per window over all threads (they share the clock), so a slow
    // (sanitized) run still crosses many windows within its time limit.
    const auto step = static_cast<unsigned>(std::max<long>(2, window.count() / 2500));

    std::mutex merge;
    std::vector<Admission> admitted;
    std::atomic<long> refused{0};
    auto worker = [&](unsigned seed) {
        Budget budget = shared;
        std::minstd_rand rng(seed);
        std::vector<Admission> mine;
        for (long i = 0; i < max_iterations; ++i) {
            if ((i & 255) == 0 && std::chrono::steady_clock::now() >= stop_at) break;
            clock.advance(std::chrono::nanoseconds(rng() % step));
            const int cost = rng() % 4 == 0 ? 2 : 1;
            if (budget.consume(cost)) {
                mine.push_back({last_reading, cost});
            } else {
                ++refused;
            }
        }
        std::lock_guard lock(merge);
        admitted.insert(admitted.end(), mine.begin(), mine.end());
    };
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < 8; ++t) threads.emplace_back(worker, 7U + t);
    for (auto& t : threads) t.join();

    const int worst = worst_window(admitted, window);
    const auto windows_elapsed = (clock.now() - (TimePoint{} + origin)) / window;
    INFO("admitted " << admitted.size() << ", refused " << refused << ", windows " << windows_elapsed << ", worst window "
                     << worst);
    CHECK(worst <= max_retries);
    // Not vacuous: under pressure over many windows, and still admitting.
    CHECK(windows_elapsed > 20);
    CHECK(refused > 0);
    CHECK(worst >= max_retries / 2);
    CHECK(static_cast<long>(admitted.size()) > windows_elapsed * max_retries / 4);
}

TEST_CASE("a ratio budget shared by four threads never admits more than ratio times the requests of the ttl "
          "before a retry plus the floor, and does admit up to it") {
    struct Config {
        double ratio;
        int floor_per_ttl;
        redress::Duration ttl;
        redress::Duration origin;
        unsigned request_percent;  ///< of the operations; the rest ask for a retry (more than allowed)
    };
    const auto [ratio, floor_per_ttl, ttl, origin, request_percent] =
        GENERATE(values<Config>({{0.5, 5, 100us, redress::Duration::zero(), 50},
                                 {0.2, 0, 1ms, std::chrono::hours(24 * 365 * 100), 60},
                                 {3.0, 20, 10us, std::chrono::hours(24), 15}}));
    INFO("ratio " << ratio << ", floor " << floor_per_ttl << ", ttl " << ttl.count() << " ns");
    ManualClock clock{TimePoint{} + origin};
    const double per_second = floor_per_ttl / std::chrono::duration<double>(ttl).count();
    const Budget shared(redress::RatioBudgetOptions{
        .ratio = ratio, .ttl = ttl, .min_retries_per_second = per_second, .clock = RecordingClock{clock}});
    const auto stop_at = std::chrono::steady_clock::now() + 500ms;
    constexpr long max_iterations = 50'000;  // (about 100 ttls: the check afterwards is the longer part)
    // About 2000 steps per ttl over all threads, so a slow (sanitized, loaded) run still
    // crosses many ttls within its time limit.
    const auto step = static_cast<unsigned>(std::max<long>(2, ttl.count() / 1000));

    // A request's time is only known to lie between a reading before and one after the call.
    struct Request {
        TimePoint before;
        TimePoint after;
    };
    std::mutex merge;
    std::vector<Request> requests;
    std::vector<TimePoint> admitted;
    std::atomic<long> refused{0};
    auto worker = [&](unsigned seed) {
        const Budget budget = shared;
        std::minstd_rand rng(seed);
        std::vector<Request> my_requests;
        std::vector<TimePoint> mine;
        for (long i = 0; i < max_iterations; ++i) {
            if ((i & 255) == 0 && std::chrono::steady_clock::now() >= stop_at) break;
            clock.advance(std::chrono::nanoseconds(rng() % step));
            if (rng() % 100 < request_percent) {
                const TimePoint before = clock.now();
                budget.record_request();
                my_requests.push_back({before, clock.now()});
            } else if (budget.consume()) {
                mine.push_back(last_reading);
            } else {
                ++refused;
            }
        }
        std::lock_guard lock(merge);
        requests.insert(requests.end(), my_requests.begin(), my_requests.end());
        admitted.insert(admitted.end(), mine.begin(), mine.end());
    };
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < 4; ++t) threads.emplace_back(worker, 41U + t);
    for (auto& t : threads) t.join();

    std::vector<TimePoint> befores;
    std::vector<TimePoint> afters;
    for (const auto& r : requests) {
        befores.push_back(r.before);
        afters.push_back(r.after);
    }
    std::sort(befores.begin(), befores.end());
    std::sort(afters.begin(), afters.end());
    std::sort(admitted.begin(), admitted.end());
    const auto at_or_before = [](const std::vector<TimePoint>& v, TimePoint t) {
        return static_cast<long>(std::upper_bound(v.begin(), v.end(), t) - v.begin());
    };
    const auto ratio_ppm = static_cast<long>(std::llround(ratio * 1e6));
    // For each admitted retry at t: the retries in (t - ttl, t] against the requests that may
    // lie in it (recorded by t, returned after t - ttl), and how close the busiest came.
    long worst_excess = LONG_MIN;
    double fullest = 0;
    for (const TimePoint t : admitted) {
        const long retries = at_or_before(admitted, t) - at_or_before(admitted, t - ttl);
        const long in_window = at_or_before(befores, t) - at_or_before(afters, t - ttl);
        const long bound = (ratio_ppm * in_window + floor_per_ttl * 1'000'000L) / 1'000'000;
        worst_excess = std::max(worst_excess, retries - bound);
        if (bound > 0) fullest = std::max(fullest, static_cast<double>(retries) / static_cast<double>(bound));
    }
    const auto ttls = (clock.now() - (TimePoint{} + origin)) / ttl;
    INFO("requests " << requests.size() << ", admitted " << admitted.size() << ", refused " << refused << ", ttls "
                     << ttls << ", fullest window " << fullest);
    CHECK(worst_excess <= 0);
    // Not vacuous: under pressure over many ttls, the budget refused, and filled windows to
    // within its granularity (requests count for ttl - 2 buckets at least).
    CHECK(ttls > 20);
    CHECK(refused > 0);
    CHECK(fullest >= 0.85);
    CHECK(static_cast<double>(admitted.size()) >= 0.75 * ratio * static_cast<double>(requests.size()));
}
