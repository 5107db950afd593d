// RedisBudget against a local redis-server: decisions per second of one process (1 and 4
// threads) and the latency a decision adds to a retry (p50 / p99), for both forms, next to the
// local `Budget`; then RedisCircuitBreakerStore: each of its four calls' round trip (1 thread),
// and `CircuitBreaker::allow()` with the store, against one without. Starts its own
// redis-server on a free loopback port (or uses --port N).
//   redress_redis_bench [--port N] [--seconds S] [--timeout-ms T]
// S per measurement (default 2); T each Redis call's timeout (default 100, as a service would set
// it; the suite's run of it uses 5,000, so that a machine busy with other tests does not turn a
// slow answer into a failure). Exit status 77 when redis-server is missing and no --port was
// given; 1 when a call was not answered within T (the figures are then not valid).
#include <redress/contrib/redis.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"

namespace rc = redress::contrib;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

struct Result {
    double per_second = 0;
    double p50_us = 0;
    double p99_us = 0;
};

/// `threads` threads calling `decide` for `seconds`; every call's latency is kept.
template <class F>
Result measure(int threads, double seconds, F decide) {
    std::vector<std::vector<float>> latencies(static_cast<std::size_t>(threads));
    const auto until =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    {
        std::vector<std::jthread> pool;
        for (int t = 0; t < threads; ++t)
            pool.emplace_back([&, t] {
                auto& mine = latencies[static_cast<std::size_t>(t)];
                for (auto now = Clock::now(); now < until;) {
                    decide();
                    const auto after = Clock::now();
                    mine.push_back(std::chrono::duration<float, std::micro>(after - now).count());
                    now = after;
                }
            });
    }
    std::vector<float> all;
    for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    std::sort(all.begin(), all.end());
    const auto at = [&](double q) {
        return all.empty() ? 0.0 : all[static_cast<std::size_t>(q * static_cast<double>(all.size() - 1))];
    };
    return {static_cast<double>(all.size()) / seconds, at(0.50), at(0.99)};
}

void row(const char* name, int threads, const Result& r) {
    std::printf("| %-44s | %7d | %12.0f | %8.1f | %8.1f |\n", name, threads, r.per_second, r.p50_us, r.p99_us);
}

}  // namespace

int main(int argc, char** argv) {
    std::optional<int> port;
    double seconds = 2.0;
    std::chrono::milliseconds timeout = 100ms;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--port") port = std::atoi(argv[i + 1]);
        if (flag == "--seconds") seconds = std::atof(argv[i + 1]);
        if (flag == "--timeout-ms") timeout = std::chrono::milliseconds(std::atol(argv[i + 1]));
    }
    std::optional<redress::it::TempDir> dir;
    std::optional<redress::it::Process> server;
    if (!port) {
        const auto program = redress::it::find_program({"redis-server"}, {"/usr/sbin"});
        if (!program) redress::it::skip("redis-server not found: install redis-server, or pass --port N");
        port = redress::it::free_loopback_port();
        dir.emplace("redress-redis-bench");
        server.emplace(std::vector<std::string>{*program, "--port", std::to_string(*port), "--bind", "127.0.0.1",
                                                "--save", "", "--appendonly", "no", "--dir", dir->path().string()});
        redress::it::wait_for_port(*port, 10s, &*server);
    }
    const auto budget = [&](const std::string& key, std::variant<rc::RedisWindowLimit, rc::RedisRatioLimit> limit) {
        return std::make_shared<rc::RedisBudget>(
            rc::RedisBudgetOptions{.port = *port, .key = key, .limit = limit, .timeout = timeout});
    };
    // Admitting: room for every decision (the window's set holds one second of admissions).
    const auto admitting = budget("bench:admitting", rc::RedisWindowLimit{.max_retries = 1 << 30, .window = 1s});
    // Refusing: the budget is spent, the state of a fleet in a retry storm.
    const auto refusing = budget("bench:refusing", rc::RedisWindowLimit{.max_retries = 0, .window = 1s});
    const auto ratio = budget("bench:ratio", rc::RedisRatioLimit{});
    redress::Budget local{1 << 30, 1s};

    std::printf("redis-server on 127.0.0.1:%d; %.1f s per row; latency = one decide() call\n\n", *port, seconds);
    std::printf("| %-44s | %7s | %12s | %8s | %8s |\n", "decision", "threads", "decisions/s", "p50 us", "p99 us");
    std::printf("|%s|%s|%s|%s|%s|\n", std::string(46, '-').c_str(), std::string(9, '-').c_str(),
                std::string(14, '-').c_str(), std::string(10, '-').c_str(), std::string(10, '-').c_str());
    std::atomic<bool> answered{true};  // every decision reached Redis
    const auto check = [&](const rc::RedisDecision& d) {
        if (!d.server_time) answered = false;
    };
    for (const int threads : {1, 4}) {
        row("local Budget::consume (no Redis)", threads, measure(threads, seconds, [&] { (void)local.consume(); }));
        row("RedisBudget window, admitting", threads, measure(threads, seconds, [&] { check(admitting->decide()); }));
        row("RedisBudget window, refusing (spent)", threads,
            measure(threads, seconds, [&] { check(refusing->decide()); }));
        row("RedisBudget ratio, 4 record_request + decide", threads, measure(threads, seconds, [&] {
                for (int i = 0; i < 4; ++i) ratio->record_request();
                check(ratio->decide());
            }));
    }

    // The breaker store: one key, an opening on record whose probe lease (1 h) is held, so
    // acquire_probe takes its common path (refused); publish_open runs last (it ends the lease).
    rc::RedisCircuitBreakerStore store({.port = *port, .key = "bench:breaker", .timeout = timeout});
    const auto check_store = [&](const std::optional<redress::BreakerFleetState>& s) {
        if (!s) answered = false;
    };
    const auto opening = store.publish_open(0ms);
    check_store(opening);
    check_store(store.acquire_probe(opening ? opening->generation : 0, 1h));
    std::printf("\n| %-44s | %7s | %12s | %8s | %8s |\n", "breaker store call", "threads", "calls/s", "p50 us",
                "p99 us");
    std::printf("|%s|%s|%s|%s|%s|\n", std::string(46, '-').c_str(), std::string(9, '-').c_str(),
                std::string(14, '-').c_str(), std::string(10, '-').c_str(), std::string(10, '-').c_str());
    row("read", 1, measure(1, seconds, [&] { check_store(store.read()); }));
    row("acquire_probe (lease held: refused)", 1,
        measure(1, seconds, [&] { check_store(store.acquire_probe(opening ? opening->generation : 0, 10s)); }));
    row("publish_closed (another generation: no-op)", 1,
        measure(1, seconds, [&] { check_store(store.publish_closed(1)); }));
    row("publish_open (a new generation each call)", 1,
        measure(1, seconds, [&] { check_store(store.publish_open(1h)); }));
    // A breaker with the store: one call per refresh asks Redis; the others read the cache.
    auto shared = std::make_shared<rc::RedisCircuitBreakerStore>(
        rc::RedisBreakerStoreOptions{.port = *port, .key = "bench:breaker-closed", .timeout = timeout});
    redress::CircuitBreaker with_store{{.store = shared, .store_refresh = 100ms}};
    redress::CircuitBreaker without_store{{}};
    for (const int threads : {1, 4}) {
        row("CircuitBreaker::allow, no store", threads, measure(threads, seconds, [&] {
                (void)without_store.record_success(without_store.allow());
            }));
        row("CircuitBreaker::allow, Redis store (100 ms)", threads, measure(threads, seconds, [&] {
                (void)with_store.record_success(with_store.allow());
            }));
    }
    if (!answered.load()) {
        std::printf("\nsome calls were not answered by Redis (timeouts): the figures above are not valid\n");
        return 1;
    }
    return 0;
}
