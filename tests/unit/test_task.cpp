// redress::Task<T>: lazy, move-only, symmetric transfer, exceptions, void.
#include <catch2/catch.hpp>

#include <array>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

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

namespace {
redress::Task<int> add(int a, int b) { co_return a + b; }
redress::Task<int> sum_of_two(int a) { co_return (co_await add(a, 1)) + (co_await add(a, 2)); }
/// A frame of its own size for each `N` (the parameter is copied into the frame).
template <int N>
redress::Task<int> sized(std::array<char, 64 * N> pad) {
    co_return pad[0];
}
}  // namespace

// A task held in a vector escapes, so no compiler elides its frame's allocation.
TEST_CASE("with a frame pool installed, task frames are reused, and without one nothing changes") {
    redress::detail::FramePool pool;
    {
        const redress::detail::FramePoolScope use(pool);
        for (int i = 0; i < 100; ++i) {
            std::vector<redress::Task<int>> tasks;
            tasks.push_back(sum_of_two(i));
            CHECK(redress::sync_wait(std::move(tasks.back())) == 2 * i + 3);
        }
    }
    const auto c = pool.counters();
    if constexpr (REDRESS_FRAME_POOL_ENABLED) {
        CHECK(c.reused + c.fresh >= 100);  // and the `add`s, unless the compiler elided them
        CHECK(c.fresh <= 3);               // at most three frames are alive at once
        CHECK(c.kept == c.reused + c.fresh);
    } else {  // AddressSanitizer: every frame is malloc'd, so a use-after-free is still caught
        CHECK(c.reused + c.fresh + c.kept == 0);
    }
    // Uninstalled: frames come from the heap again; the pool is not touched.
    CHECK(redress::sync_wait(sum_of_two(1)) == 5);
    CHECK(pool.counters().reused + pool.counters().fresh + pool.counters().kept == c.reused + c.fresh + c.kept);
}

TEST_CASE("a pooled frame may be freed on another thread or after its pool is gone, and a heap one into a pool") {
    std::vector<redress::Task<int>> escaped;
    {
        redress::detail::FramePool pool;
        const redress::detail::FramePoolScope use(pool);
        for (int i = 0; i < 4; ++i) escaped.push_back(add(i, i));
        std::vector<redress::Task<int>> from_heap;  // made on a thread without a pool
        std::thread([&] { from_heap.push_back(add(1, 1)); }).join();
        from_heap.clear();  // freed into this pool, then reused for the next frame of its size
        escaped.push_back(add(5, 5));
        if constexpr (REDRESS_FRAME_POOL_ENABLED) {
            CHECK(pool.counters().fresh == 4);
            CHECK(pool.counters().kept == 1);
            CHECK(pool.counters().reused == 1);
        }
    }  // the pool is gone; its frames still in use are plain heap blocks
    int first = -1;
    std::thread([&] {
        first = redress::sync_wait(std::move(escaped[0]));
        escaped[1] = {};  // freed, unstarted, on a thread without a pool
    }).join();
    CHECK(first == 0);
    CHECK(redress::sync_wait(std::move(escaped[2])) == 4);
    CHECK(redress::sync_wait(std::move(escaped[3])) == 6);
    CHECK(redress::sync_wait(std::move(escaped[4])) == 10);
}

TEST_CASE("a frame pool keeps lists for eight sizes, and blocks of other sizes bypass it") {
    redress::detail::FramePool pool;
    std::vector<void*> blocks;
    for (int round = 0; round < 2; ++round) {
        for (std::size_t size = 16; size <= 160; size += 16) blocks.push_back(pool.allocate(size));
        for (std::size_t i = 0; i < blocks.size(); ++i) pool.deallocate(blocks[i], 16 * (i + 1));
        blocks.clear();
    }
    CHECK(pool.counters().fresh == 10 + 2);  // the second round: the two sizes past eight again
    CHECK(pool.counters().reused == 8);
    CHECK(pool.counters().kept == 2 * 8);
}

TEST_CASE("tasks of many frame sizes run the same with a frame pool installed") {
    redress::detail::FramePool pool;
    const redress::detail::FramePoolScope use(pool);
    const auto run_all = [] {
        std::vector<redress::Task<int>> tasks;
        tasks.push_back(sized<1>({1}));
        tasks.push_back(sized<2>({2}));
        tasks.push_back(sized<3>({3}));
        tasks.push_back(sized<4>({4}));
        tasks.push_back(sized<5>({5}));
        tasks.push_back(sized<6>({6}));
        tasks.push_back(sized<7>({7}));
        tasks.push_back(sized<8>({8}));
        tasks.push_back(sized<9>({9}));
        tasks.push_back(sized<10>({10}));
        int sum = 0;
        for (auto& t : tasks) sum += redress::sync_wait(std::move(t));
        return sum;
    };
    CHECK(run_all() == 55);
    CHECK(run_all() == 55);
    if constexpr (REDRESS_FRAME_POOL_ENABLED) {
        CHECK(pool.counters().reused + pool.counters().fresh == 20);
        CHECK(pool.counters().reused >= 8);  // the second run reuses the first's frames (their sizes vary by compiler)
    }
}
