// Hedging across threads (run under ThreadSanitizer too). The latency ring a percentile
// trigger learns from, written and read at once: every answer is a latency some thread
// recorded, or the fixed fallback, never a torn or invented value. And sync hedged calls from
// several threads on a real thread executor.
#include <redress/hedge.hpp>
#include <redress/redress.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <stop_token>
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

namespace {

/// Waits until `token` is stopped, for at most `limit` (real time).
bool wait_for_stop(const std::stop_token& token, std::chrono::milliseconds limit) {
    std::mutex mutex;
    std::condition_variable_any never;
    std::unique_lock lock(mutex);
    never.wait_for(lock, token, limit, [] { return false; });
    return token.stop_requested();
}

}  // namespace

TEST_CASE("sync hedged calls from several threads on a ThreadExecutor: the hedge wins a slow call, a fast one "
          "sends none, losers are stopped, and only the calling threads drive the loop") {
    redress::ThreadExecutor executor;
    auto retry = redress::Retry{.strategy = redress::constant(1ms), .max_attempts = 3};
    const redress::Policy slow_policy{retry, redress::Hedge{.delay = 1ms, .max_hedges = 2}};
    const redress::Policy fast_policy{retry, redress::Hedge{.delay = 10s}};
    constexpr int callers = 4;
    constexpr int calls_each = 30;
    std::atomic<int> wrong{0};
    std::atomic<int> hedged_wins{0};
    std::atomic<int> stopped_losers{0};

    std::vector<std::thread> threads;
    for (int c = 0; c < callers; ++c) {
        threads.emplace_back([&, c] {
            const std::thread::id me = std::this_thread::get_id();
            for (int i = 0; i < calls_each; ++i) {
                std::atomic<int> attempts_run{0};
                std::atomic<bool> loser_stopped{false};
                bool hooks_elsewhere = false;  // written by the hooks, on this thread if all is well
                redress::CallOptions options{
                    .on_attempt_start = [&](const redress::AttemptContext&) { hooks_elsewhere |= std::this_thread::get_id() != me; },
                    .on_attempt_end = [&](const redress::AttemptContext&) { hooks_elsewhere |= std::this_thread::get_id() != me; }};
                if ((i + c) % 2 == 0) {
                    // Slow: attempt 1 answers only when stopped (up to 10 s); hedges answer at once.
                    const auto out = slow_policy.execute(
                        [&](const redress::Attempt& a) {
                            attempts_run.fetch_add(1);
                            if (a.number == 1) {
                                if (wait_for_stop(a.stop_token, 10s)) loser_stopped = true;
                                throw std::runtime_error("stopped");
                            }
                            return a.number;
                        },
                        options, redress::hedge_on(executor));
                    if (!out.ok || out.winner < 2 || out.attempts > 3 || attempts_run.load() != out.attempts ||
                        !loser_stopped.load())
                        wrong.fetch_add(1);
                    hedged_wins.fetch_add(out.winner >= 2 ? 1 : 0);
                    stopped_losers.fetch_add(loser_stopped.load() ? 1 : 0);
                } else {
                    // Fast: attempt 1 answers at once, long before the hedge's delay.
                    const auto value = fast_policy.call([&](std::stop_token) { return attempts_run.fetch_add(1) + 1; },
                                                        options, redress::hedge_on(executor));
                    if (value != 1 || attempts_run.load() != 1) wrong.fetch_add(1);
                }
                if (hooks_elsewhere) wrong.fetch_add(1);
            }
        });
    }
    for (auto& t : threads) t.join();

    CHECK(wrong.load() == 0);
    CHECK(hedged_wins.load() == callers * calls_each / 2);
    CHECK(stopped_losers.load() == callers * calls_each / 2);
}
