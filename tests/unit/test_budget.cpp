#include <redress/budget.hpp>
#include <redress/testing/manual_clock.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <climits>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;
using redress::Budget;
using redress::BudgetOptions;
using redress::testing::ManualClock;

namespace {

std::string invalid_message(const BudgetOptions& o) {
    try {
        Budget b{o};
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("budget validates its options naming the option") {
    CHECK_THAT(invalid_message({.max_retries = -1}), Catch::Contains("max_retries"));
    CHECK_THAT(invalid_message({.window = 0s}), Catch::Contains("window"));
    CHECK_THAT(invalid_message({.window = -5s}), Catch::Contains("window"));
    CHECK_THROWS_WITH(Budget(-1, 60s), Catch::Contains("max_retries"));
    CHECK_THROWS_WITH(Budget(10, 0s), Catch::Contains("window"));
    CHECK(invalid_message({.max_retries = 0}).empty());
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
