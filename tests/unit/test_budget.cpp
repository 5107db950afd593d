#include <redress/budget.hpp>
#include <redress/errors.hpp>
#include <redress/testing/manual_clock.hpp>

#include <catch2/catch.hpp>

#include "invalid_option.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using redress::Budget;
using redress::BudgetOptions;
using redress::Duration;
using redress::TimePoint;
using redress::testing::ManualClock;

namespace {

std::string invalid(const BudgetOptions& o) { return redress_test::invalid_option_text<Budget>(o); }

}  // namespace

TEST_CASE("budget validates its options with InvalidOption naming the option") {
    CHECK(invalid({.max_retries = -1}) == "BudgetOptions::max_retries: redress: BudgetOptions::max_retries must be >= 0 (is -1)");
    CHECK(invalid({.window = 0s}) == "BudgetOptions::window: redress: BudgetOptions::window must be > 0");
    CHECK(invalid({.window = -5s}) == "BudgetOptions::window: redress: BudgetOptions::window must be > 0");
    CHECK(invalid({.max_retries = INT_MIN, .window = Duration::min()}) ==
          "BudgetOptions::max_retries: redress: BudgetOptions::max_retries must be >= 0 (is -2147483648)");
    CHECK_THROWS_AS(Budget(-1, 60s), redress::InvalidOption);
    CHECK_THROWS_AS(Budget(10, 0s), std::invalid_argument);  // InvalidOption is one
    CHECK(invalid({.max_retries = 0}).empty());
    CHECK(invalid({.max_retries = INT_MAX, .window = Duration::max()}).empty());
    CHECK(invalid({.window = 1ns}).empty());
}

TEST_CASE("budget consume rejects a cost below one") {
    Budget b{10, 60s};
    CHECK_THROWS_WITH(b.consume(0), "redress: Budget::consume: cost must be >= 1");
    CHECK_THROWS_AS(b.consume(-3), std::invalid_argument);
    CHECK(b.remaining() == 10);
}

TEST_CASE("budget admits max_retries within the window and refuses the next") {
    ManualClock clock;
    Budget b{{.max_retries = 3, .window = 60s, .clock = clock}};
    CHECK(b.options().max_retries == 3);
    CHECK(b.remaining() == 3);
    CHECK(b.consume());
    clock.advance(10s);
    CHECK(b.consume());
    CHECK(b.remaining() == 1);
    CHECK(b.consume());
    CHECK(b.remaining() == 0);
    CHECK_FALSE(b.consume());
    clock.advance(40s);
    CHECK_FALSE(b.consume());  // t = 50 s: all three are still inside the window
    CHECK(b.remaining() == 0);
}

TEST_CASE("budget frees a retry between one window and one bucket after it was taken") {
    ManualClock clock;  // starts on a whole second
    const auto window = 32s;  // buckets of exactly 1 s
    Budget b{{.max_retries = 1, .window = window, .clock = clock}};
    clock.advance(500ms);
    REQUIRE(b.consume());  // t = 0.5 s
    clock.advance(window - 1ns);
    CHECK_FALSE(b.consume());  // t = 32.5 s - 1 ns: still inside the window, never over-admits
    clock.advance(500ms);
    CHECK_FALSE(b.consume());  // t = 33 s - 1 ns: conservative, its bucket has not left yet
    CHECK(b.remaining() == 0);
    clock.advance(1ns);  // t = 33 s: its bucket [0 s, 1 s) is a whole window old
    CHECK(b.remaining() == 1);
    CHECK(b.consume());
}

TEST_CASE("budget honours the cost and refuses a cost that does not fit without taking anything") {
    ManualClock clock;
    Budget b{{.max_retries = 5, .window = 10s, .clock = clock}};
    CHECK(b.consume(3));
    CHECK_FALSE(b.consume(3));
    CHECK(b.remaining() == 2);
    CHECK(b.consume(2));
    CHECK_FALSE(b.consume());
    CHECK_FALSE(b.consume(6));
}

TEST_CASE("a zero budget refuses every retry") {
    Budget b{0, 1s};
    CHECK_FALSE(b.consume());
    CHECK(b.remaining() == 0);
}

TEST_CASE("a rolling budget refills gradually as old retries leave the window") {
    ManualClock clock;
    Budget b{{.max_retries = 4, .window = 8s, .clock = clock}};
    for (int i = 0; i < 4; ++i) {
        CHECK(b.consume());
        clock.advance(2s);
    }
    // Taken at 0, 2, 4, 6 s (buckets of 250 ms); now t = 8 s.
    CHECK_FALSE(b.consume());
    clock.advance(250ms);  // t = 8.25 s: the bucket of the retry at 0 s has left the window
    CHECK(b.remaining() == 1);
    clock.advance(2s);  // t = 10.25 s: the one at 2 s too
    CHECK(b.remaining() == 2);
    CHECK(b.consume());
    CHECK(b.remaining() == 1);
    clock.advance(10s);
    CHECK(b.remaining() == 4);
}

TEST_CASE("budget memory does not depend on max_retries and large budgets work") {
    ManualClock clock;
    Budget big{{.max_retries = INT_MAX, .window = 1s, .clock = clock}};
    CHECK(big.consume(INT_MAX - 1));
    CHECK(big.consume());
    CHECK_FALSE(big.consume());
    clock.advance(2s);
    CHECK(big.remaining() == INT_MAX);
}

TEST_CASE("copies of a budget share one count") {
    ManualClock clock;
    Budget a{{.max_retries = 2, .window = 60s, .clock = clock}};
    Budget b = a;
    CHECK(a.consume());
    CHECK(b.consume());
    CHECK_FALSE(a.consume());
    CHECK(b.remaining() == 0);
    Budget moved = std::move(b);
    CHECK(moved.remaining() == 0);
    CHECK(b.remaining() == 0);  // NOLINT(bugprone-use-after-move): a moved handle stays valid
}

TEST_CASE("budget tolerates a head that moved past a window and long idle periods") {
    ManualClock clock;
    Budget b{{.max_retries = 2, .window = 1s, .clock = clock}};
    for (int round = 0; round < 100; ++round) {
        CHECK(b.consume());
        CHECK(b.consume());
        CHECK_FALSE(b.consume());
        clock.advance(round % 2 == 0 ? 1100ms : 1h);
    }
}

// ---- leases: a busy thread takes retries from the shared count in batches ------------------

TEST_CASE("a thread consuming a large budget stays exact for itself, within and across buckets") {
    ManualClock clock;
    Budget b{{.max_retries = 100'000, .window = 32s, .clock = clock}};  // buckets of 1 s
    for (int i = 0; i < 5000; ++i) REQUIRE(b.consume());
    CHECK(b.remaining() == 95'000);  // its own lease counts as free for this thread
    clock.advance(1s);               // next bucket: the unused lease goes back to the shared count
    REQUIRE(b.consume(2));
    CHECK(b.remaining() == 94'998);
    Budget other = b;
    while (other.consume()) {
    }
    CHECK(b.remaining() == 0);
    clock.advance(33s);  // everything left the window
    CHECK(b.remaining() == 100'000);
}

TEST_CASE("retries leased by one thread are never admitted twice, and a small budget leases none") {
    ManualClock clock;
    const auto take_on_another_thread = [](const Budget& b, int n) {
        int admitted = 0;
        std::thread([&] {
            for (int i = 0; i < n; ++i) admitted += b.consume() ? 1 : 0;
        }).join();
        return admitted;
    };
    const auto take_here = [](const Budget& b) {
        int admitted = 0;
        while (b.consume()) ++admitted;
        return admitted;
    };

    SECTION("below 256 free retries nothing is leased: the count is exact across threads") {
        Budget b{{.max_retries = 200, .window = 60s, .clock = clock}};
        CHECK(take_on_another_thread(b, 150) == 150);
        CHECK(b.remaining() == 50);
        CHECK(take_here(b) == 50);
    }
    SECTION("a large budget: the other thread's unused lease is at most 1024 and is never handed out again") {
        constexpr int max = 1'000'000;
        Budget b{{.max_retries = max, .window = 60s, .clock = clock}};
        CHECK(take_on_another_thread(b, 100'000) == 100'000);
        const int here = take_here(b);
        CHECK(100'000 + here <= max);
        CHECK(100'000 + here >= max - 1024);
        CHECK(b.remaining() == 0);
    }
}

TEST_CASE("a refused thread stays refused in its bucket and is admitted once the window has passed") {
    ManualClock clock;
    Budget b{{.max_retries = 300, .window = 32s, .clock = clock}};
    REQUIRE(b.consume(300));
    CHECK_FALSE(b.consume());
    CHECK_FALSE(b.consume());
    clock.advance(33s);
    CHECK(b.consume());
    CHECK(b.remaining() == 299);
}

// ---- the coarse clock --------------------------------------------------------------------

TEST_CASE("budget reads the coarse clock only with the default clock and a long enough window") {
    const bool linux_coarse = redress::detail::CoarseClock::available();
    CHECK(Budget(100, 60s).uses_coarse_clock() == linux_coarse);
    CHECK_FALSE(Budget(100, 1ms).uses_coarse_clock());
    CHECK_FALSE(Budget({.max_retries = 100, .window = 60s, .coarse_clock = false}).uses_coarse_clock());
    CHECK_FALSE(Budget({.max_retries = 100, .window = 60s, .clock = ManualClock{}}).uses_coarse_clock());
    if (linux_coarse) {
        const auto lag = redress::detail::CoarseClock::lag_bound();
        CHECK(lag >= 10ms);
        CHECK(Budget(100, 16 * lag).uses_coarse_clock());
        CHECK_FALSE(Budget(100, 16 * lag - 1ns).uses_coarse_clock());
    }
    Budget real{2, 60s};  // whichever clock it reads, it counts
    CHECK(real.consume());
    CHECK(real.consume());
    CHECK_FALSE(real.consume());
}

namespace {

/// Real (manual) time read through a clock that lags it by a settable amount, as a coarse
/// clock does by up to one tick.
struct LaggingClock {
    ManualClock real;
    std::shared_ptr<redress::Duration> lag = std::make_shared<redress::Duration>(0);
    [[nodiscard]] redress::TimePoint now() const { return real.now() - *lag; }
};

}  // namespace

TEST_CASE("a clock lagging by up to its bound never lets the budget admit early in real time") {
    const auto window = 32s;
    const auto bound = 2s;
    LaggingClock clock;
    const auto run = [&](redress::Duration lag_allowed) {
        *clock.lag = bound;      // the retry is stamped with a reading 2 s late...
        redress::detail::BudgetCore core({.max_retries = 1, .window = window, .clock = clock}, lag_allowed);
        REQUIRE(core.consume(1));
        const auto taken = clock.real.now();
        *clock.lag = 0s;         // ...and the next reading is on time
        clock.real.advance_to(taken + window - 1ns);
        return core.consume(1);  // still inside the window in real time
    };
    CHECK_FALSE(run(bound));     // the margin covers the lag
    CHECK(run(0s));              // control: without it the retry is forgotten 2 s early
    CHECK_THROWS_AS(redress::detail::BudgetCore({.max_retries = 1, .window = window}, -1ns), redress::InvalidOption);
    CHECK_THROWS_WITH(redress::detail::BudgetCore({.max_retries = 1, .window = window}, -1ns),
                      "redress: BudgetCore::lag must be >= 0");
}

// ---- the property: any window, any clock origin, any sequence -----------------------------

namespace {

/// The documented rule, computed directly: time is cut into buckets of ceil(window / 32)
/// counted from the clock's epoch; a cost is admitted when it fits with the retries of its
/// bucket and of the 32 buckets before it. Times must not go backwards.
class ModelBudget {
public:
    ModelBudget(int max_retries, Duration window) : max_(max_retries), width_((window.count() + 31) / 32) {}

    bool consume(TimePoint t, int cost) {
        if (cost > max_) return false;
        const auto b = bucket(t);
        if (used(b) + cost > max_) return false;
        if (counts_.empty() || counts_.back().first != b) counts_.emplace_back(b, 0);
        counts_.back().second += cost;
        return true;
    }
    [[nodiscard]] int remaining(TimePoint t) const { return static_cast<int>(std::max<std::int64_t>(0, max_ - used(bucket(t)))); }
    [[nodiscard]] Duration width() const { return Duration(width_); }

private:
    [[nodiscard]] std::int64_t bucket(TimePoint t) const {
        const auto ns = t.time_since_epoch().count();
        return ns / width_ - (ns % width_ < 0 ? 1 : 0);
    }
    [[nodiscard]] std::int64_t used(std::int64_t b) const {
        std::int64_t sum = 0;
        for (auto it = counts_.rbegin(); it != counts_.rend() && it->first >= b - 32; ++it) sum += it->second;
        return sum;
    }

    std::int64_t max_;
    std::int64_t width_;
    std::vector<std::pair<std::int64_t, std::int64_t>> counts_;  ///< (bucket, retries), in time order
};

/// The most retries admitted within any interval [t, t + window) of a log of (time, cost) in
/// time order.
int worst_window(const std::vector<std::pair<TimePoint, int>>& log, Duration window) {
    int worst = 0;
    int in_window = 0;
    std::size_t end = 0;
    for (std::size_t begin = 0; begin < log.size(); ++begin) {
        while (end < log.size() && log[end].first - log[begin].first < window) in_window += log[end++].second;
        worst = std::max(worst, in_window);
        in_window -= log[begin].second;
    }
    return worst;
}

}  // namespace

TEST_CASE("property: for any window, clock origin and sequence the budget never admits more than max_retries "
          "within a window, matches the bucket rule exactly, and admits again after a quiet window") {
    std::mt19937_64 rng(20240601);
    const auto uniform = [&](std::uint64_t n) { return static_cast<std::int64_t>(rng() % n); };
    constexpr std::int64_t origin_limit = std::int64_t{290} * 365 * 86400 * 1'000'000'000;  // 290 years
    int sequences = 0;
    int admitted_total = 0;
    int refused_total = 0;
    for (int seq = 0; seq < 3000; ++seq) {
        // Windows from 1 ns to 1 h, spread evenly over the orders of magnitude.
        const auto window = Duration(std::max<Duration::rep>(
            1, static_cast<Duration::rep>(std::exp(std::log(3.6e12) * static_cast<double>(rng() % 1'000'001) / 1e6))));
        const std::int64_t origin = seq % 4 == 0 ? origin_limit - uniform(1'000'000) : uniform(static_cast<std::uint64_t>(origin_limit));
        // Small budgets (exact shared counting) and large ones (a busy thread leases retries).
        const int max_retries = seq % 5 == 0 ? 256 + static_cast<int>(uniform(3000)) : static_cast<int>(uniform(21));
        ManualClock clock{TimePoint{} + Duration(origin)};
        Budget b{{.max_retries = max_retries, .window = window, .clock = clock}};
        ModelBudget model(max_retries, window);
        const Duration width = model.width();
        const auto idle = [&](std::int64_t buckets) {  // at most 10 days, so 290 years plus all of them fits
            const Duration cap = 240h;
            return width.count() > cap.count() / buckets ? cap : width * buckets;
        };
        std::vector<std::pair<TimePoint, int>> log;
        TimePoint last_admission = clock.now();
        bool consistent = true;
        std::string mismatch;
        for (int step = 0; step < 60 && consistent; ++step) {
            const auto roll = uniform(100);
            if (roll < 45) {  // consume, sometimes in a burst
                const int cost = 1 + static_cast<int>(uniform(3));
                for (int burst = roll < 10 ? 400 : 1; burst > 0; --burst) {
                    const bool expected = model.consume(clock.now(), cost);
                    const bool got = b.consume(cost);
                    if (got != expected) {
                        consistent = false;
                        mismatch = "consume";
                        break;
                    }
                    if (!got) {
                        ++refused_total;
                        break;
                    }
                    ++admitted_total;
                    log.emplace_back(clock.now(), cost);
                    last_admission = clock.now();
                }
            } else if (roll < 55) {
                if (b.remaining() != model.remaining(clock.now())) {
                    consistent = false;
                    mismatch = "remaining";
                }
            } else if (roll < 75) {  // within a bucket or two
                clock.advance(Duration(uniform(static_cast<std::uint64_t>(2 * width.count() + 1))));
            } else if (roll < 88) {  // around a window
                clock.advance(window - width + Duration(uniform(static_cast<std::uint64_t>(3 * width.count() + 1))));
            } else if (roll < 93) {  // an idle gap that wrapped 32-bit bucket numbers
                const std::int64_t gaps[] = {std::int64_t{1} << 31, std::int64_t{1} << 32, (std::int64_t{1} << 32) + 1,
                                             (std::int64_t{1} << 32) - 1, (std::int64_t{1} << 32) + 33};
                clock.advance(idle(gaps[uniform(5)]));
            } else {  // a quiet window: everything taken has left it 33 buckets (>= window + width) later
                clock.advance_to(last_admission + 33 * width);
                if (b.remaining() != max_retries || model.remaining(clock.now()) != max_retries) {
                    consistent = false;
                    mismatch = "quiet window";
                } else if (max_retries > 0) {
                    const bool got = b.consume();
                    if (!got || !model.consume(clock.now(), 1)) {
                        consistent = false;
                        mismatch = "quiet window consume";
                    }
                    log.emplace_back(clock.now(), 1);
                    last_admission = clock.now();
                }
            }
        }
        const int worst = worst_window(log, window);
        if (!consistent || worst > max_retries) {
            INFO("sequence " << seq << ": window " << window.count() << " ns, origin " << origin << " ns, max_retries "
                             << max_retries << ", worst window " << worst << ", mismatch: " << mismatch);
            CHECK(consistent);
            CHECK(worst <= max_retries);
            break;
        }
        ++sequences;
    }
    CHECK(sequences == 3000);
    // Not vacuous: both answers were given many times.
    CHECK(admitted_total > 100'000);
    CHECK(refused_total > 10'000);
}

TEST_CASE("a budget given redress::CoarseClock counts each retry the clock's lag longer") {
    redress::Budget coarse{redress::BudgetOptions{.max_retries = 1, .window = 1s, .clock = redress::CoarseClock{}}};
    CHECK(coarse.uses_coarse_clock() == (redress::detail::CoarseClock::lag_bound() > redress::Duration::zero()));
    CHECK(coarse.consume());
    CHECK_FALSE(coarse.consume());
}
