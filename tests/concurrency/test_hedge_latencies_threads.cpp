// The latency ring a hedge's percentile trigger learns from, written and read from several
// threads at once (run under ThreadSanitizer too): every answer is a latency some thread
// recorded, or the fixed fallback, never a torn or invented value.
#include <redress/hedge.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

TEST_CASE("a hedge's latency ring answers only recorded latencies while threads record and read it") {
    const redress::detail::HedgeState hedge(redress::Hedge{.delay = 100ms, .percentile = 0.9, .min_delay = 1ms,
                                                           .min_samples = 8});
    constexpr int writers = 3;
    constexpr int records_each = 20000;
    std::atomic<bool> stop{false};
    std::atomic<int> wrong{0};
    std::atomic<long> reads{0};

    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w) {
        threads.emplace_back([&hedge, w] {
            // Writer w records 10ms, 20ms or 30ms, by its number.
            const auto latency = std::chrono::milliseconds(10 * (w + 1));
            for (int i = 0; i < records_each; ++i) hedge.record(latency);
        });
    }
    for (int r = 0; r < 2; ++r) {
        threads.emplace_back([&] {
            // At least 1,000 reads each, however the threads are scheduled: writers may all be
            // done before a reader first runs (a loaded CI run read nothing).
            for (int n = 0; n < 1000 || !stop.load(std::memory_order_relaxed); ++n) {
                const redress::HedgeDelay d = hedge.delay();
                const bool fallback = d.trigger == redress::HedgeTrigger::Fixed && d.delay == 100ms;
                const bool recorded = d.trigger == redress::HedgeTrigger::Percentile &&
                                      (d.delay == 10ms || d.delay == 20ms || d.delay == 30ms);
                if (!fallback && !recorded) wrong.fetch_add(1);
                reads.fetch_add(1, std::memory_order_relaxed);
            }
        });
    }
    for (int w = 0; w < writers; ++w) threads[static_cast<std::size_t>(w)].join();
    stop = true;
    for (std::size_t t = writers; t < threads.size(); ++t) threads[t].join();

    CHECK(wrong.load() == 0);
    CHECK(reads.load() > 0);
    CHECK(hedge.delay().trigger == redress::HedgeTrigger::Percentile);
    // One more writer alone fills the whole ring: the percentile is its latency.
    for (int i = 0; i < 128; ++i) hedge.record(7ms);
    CHECK(hedge.delay().delay == 7ms);
}
