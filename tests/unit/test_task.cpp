// redress::Task<T>: lazy, move-only, symmetric transfer, exceptions, void.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

#include <redress/task.hpp>
#include <redress/testing.hpp>

namespace {
redress::Task<int> answer(int* runs) {
    ++*runs;
    co_return 42;
}
redress::Task<int> add_one(redress::Task<int> inner) { co_return (co_await std::move(inner)) + 1; }
redress::Task<void> fail() {
    throw std::runtime_error("inside");
    co_return;
}
redress::Task<std::string> rethrows() {
    co_await fail();
    co_return "unreachable";
}
redress::Task<int> one() { co_return 1; }
redress::Task<long> sequence(int n) {
    long sum = 0;
    for (int i = 0; i < n; ++i) sum += co_await one();
    co_return sum;
}
redress::Task<int> chain(int depth) {
    if (depth == 0) co_return 0;
    co_return (co_await chain(depth - 1)) + 1;
}
}  // namespace

TEST_CASE("a task is lazy: nothing runs until it is awaited") {
    int runs = 0;
    auto t = answer(&runs);
    CHECK(runs == 0);
    CHECK(redress::sync_wait(std::move(t)) == 42);
    CHECK(runs == 1);
}

TEST_CASE("awaiting a task yields its value, void tasks and exceptions propagate") {
    int runs = 0;
    CHECK(redress::sync_wait(add_one(answer(&runs))) == 43);
    CHECK_THROWS_WITH(redress::sync_wait(rethrows()), "inside");
    CHECK_THROWS_AS(redress::sync_wait(fail()), std::runtime_error);
}

// GCC turns symmetric transfer into a real tail call only when optimising (this file is
// built with -O2, see tests/CMakeLists.txt); clang does at every level. Without the tail
// call, a million synchronously completing awaits overflow an 8 MiB stack.
// GCC's AddressSanitizer and ThreadSanitizer builds also lose the tail call (instrumentation
// keeps the frame alive); there the counts are cut to what fits in the stack, and the
// un-instrumented and clang builds carry the proof.
#if defined(__GNUC__) && !defined(__clang__) && (defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__))
constexpr int sequential_awaits = 2000;
constexpr int chain_depth = 500;
#else
constexpr int sequential_awaits = 1000000;
constexpr int chain_depth = 100000;
#endif

TEST_CASE("symmetric transfer: a million sequential awaits and a deep chain do not grow the stack") {
    CHECK(redress::sync_wait(sequence(sequential_awaits)) == sequential_awaits);
    CHECK(redress::sync_wait(chain(chain_depth)) == chain_depth);
}

TEST_CASE("a task is move-only and destroying an unstarted task frees its frame") {
    STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<redress::Task<int>>);
    STATIC_REQUIRE(std::is_nothrow_move_constructible_v<redress::Task<int>>);
    int runs = 0;
    {
        auto t = answer(&runs);
        auto moved = std::move(t);
        CHECK_FALSE(t);
        CHECK(moved);
    }
    CHECK(runs == 0);
}

TEST_CASE("sync_wait refuses a task that waits for an event loop") {
    redress::testing::VirtualScheduler loop;
    auto waits = [&]() -> redress::Task<int> {
        co_await loop.sleep(std::chrono::seconds(1));
        co_return 1;
    };
    CHECK_THROWS_AS(redress::sync_wait(waits()), std::logic_error);
    CHECK(loop.pending_timers() == 1);  // the frame is gone with the task; the timer is never run
}

TEST_CASE("the virtual scheduler resumes sleepers in virtual-time order") {
    redress::testing::ManualClock clock;
    redress::testing::VirtualScheduler loop{clock};
    const auto t0 = clock.now();
    std::vector<std::pair<int, long long>> order;
    auto sleeper = [&](int id, std::chrono::milliseconds d) -> redress::Task<void> {
        co_await loop.sleep(d);
        order.emplace_back(id, std::chrono::duration_cast<std::chrono::milliseconds>(clock.now() - t0).count());
    };
    loop.spawn(sleeper(1, std::chrono::milliseconds(300)));
    loop.spawn(sleeper(2, std::chrono::milliseconds(100)));
    loop.spawn(sleeper(3, std::chrono::milliseconds(100)));
    CHECK(loop.pending_timers() == 3);
    CHECK(loop.run() == 3);
    CHECK(order == std::vector<std::pair<int, long long>>{{2, 100}, {3, 100}, {1, 300}});
    CHECK(loop.unfinished() == 0);
}
