// <redress/contrib/redis.hpp> against a real redis-server that this executable starts on a free
// loopback port (stopped at exit even when a test fails). The fleet tests run this executable
// again in worker mode (`--worker ...`): 4 processes of 4 threads on one key, each writing the
// server time of every decision to a log the test merges. The breaker store's tests are in
// test_redis_breaker.cpp (`--breaker-worker ...`).
#include <redress/contrib/redis.hpp>
#include <redress/redress.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "catch_runner.hpp"
#include "process.hpp"
#include "redis_fixture.hpp"

namespace it = redress::it;
namespace rc = redress::contrib;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using redis_it::Raw;
using redis_it::self_exe;
using redis_it::server;

namespace {

rc::RedisBudgetOptions options(const std::string& key, std::variant<rc::RedisWindowLimit, rc::RedisRatioLimit> limit) {
    return {.port = server->port, .key = key, .limit = limit, .timeout = 50ms};
}

// ---- worker mode: hammer one budget, log every answered decision ------------------------------

// --worker <port> <key> window <max> <window_ms> <threads> <ms> <log>
// --worker <port> <key> ratio <ratio> <ttl_ms> <floor_per_s> <threads> <ms> <log>
// Log lines: `A <µs>` admitted, `R <µs>` refused, `Q <µs> <n>` n requests delivered at <µs>.
int worker(int argc, char** argv) {
    if (argc < 10) return 2;
    const bool ratio = std::string(argv[4]) == "ratio";
    if (ratio && argc < 11) return 2;
    rc::RedisBudgetOptions o{.port = std::stoi(argv[2]), .key = argv[3], .timeout = 500ms, .flush_interval = 0s};
    if (ratio)
        o.limit = rc::RedisRatioLimit{.ratio = std::stod(argv[5]),
                                      .ttl = std::chrono::milliseconds(std::stoi(argv[6])),
                                      .min_retries_per_second = std::stod(argv[7])};
    else
        o.limit = rc::RedisWindowLimit{.max_retries = std::stoi(argv[5]),
                                       .window = std::chrono::milliseconds(std::stoi(argv[6]))};
    const int at = ratio ? 8 : 7;
    const int threads = std::stoi(argv[at]);
    const auto run_for = std::chrono::milliseconds(std::stoi(argv[at + 1]));
    const std::string log = argv[at + 2];
    rc::RedisBudget budget(o);
    std::vector<std::string> logs(static_cast<std::size_t>(threads));
    std::atomic<int> unanswered{0};
    {
        std::vector<std::jthread> pool;
        const auto until = Clock::now() + run_for;
        for (int t = 0; t < threads; ++t)
            pool.emplace_back([&, t] {
                std::string& out = logs[static_cast<std::size_t>(t)];
                while (Clock::now() < until) {
                    if (ratio) {
                        budget.record_request();
                        budget.record_request();
                    }
                    const rc::RedisDecision d = budget.decide();
                    if (!d.server_time) {
                        unanswered.fetch_add(1);
                        continue;
                    }
                    const auto us = std::to_string(d.server_time->count());
                    if (d.requests_sent > 0) out += "Q " + us + " " + std::to_string(d.requests_sent) + "\n";
                    out += (d.verdict == redress::BudgetVerdict::Admitted ? "A " : "R ") + us + "\n";
                }
            });
    }
    std::ofstream file(log);
    for (const auto& l : logs) file << l;
    return unanswered.load() == 0 ? 0 : 3;
}

struct Log {
    std::vector<std::int64_t> admitted, refused;
    std::vector<std::pair<std::int64_t, std::int64_t>> requests;  // (µs, n)
};

/// Runs 4 worker processes of 4 threads for `ms` on `key` with `form_args`; their merged logs.
Log run_fleet(const std::string& key, const std::vector<std::string>& form_args, int ms) {
    it::TempDir dir("redress-redis-fleet");
    std::vector<std::unique_ptr<it::Process>> workers;
    for (int w = 0; w < 4; ++w) {
        std::vector<std::string> argv{self_exe, "--worker", std::to_string(server->port), key};
        argv.insert(argv.end(), form_args.begin(), form_args.end());
        for (const std::string& a :
             {std::string("4"), std::to_string(ms), (dir.path() / ("w" + std::to_string(w))).string()})
            argv.push_back(a);
        workers.push_back(
            std::make_unique<it::Process>(argv, it::Process::Options{.log_file = (dir.path() / "stderr").string()}));
    }
    for (auto& w : workers) {
        const int status = w->wait();
        INFO("worker log: " << w->log());
        REQUIRE(WIFEXITED(status));
        REQUIRE(WEXITSTATUS(status) == 0);
    }
    Log log;
    for (int w = 0; w < 4; ++w) {
        std::ifstream in(dir.path() / ("w" + std::to_string(w)));
        std::string kind;
        std::int64_t us = 0;
        while (in >> kind >> us) {
            if (kind == "A") log.admitted.push_back(us);
            if (kind == "R") log.refused.push_back(us);
            if (kind == "Q") {
                std::int64_t n = 0;
                in >> n;
                log.requests.emplace_back(us, n);
            }
        }
    }
    std::sort(log.admitted.begin(), log.admitted.end());
    std::sort(log.requests.begin(), log.requests.end());
    return log;
}

}  // namespace

TEST_CASE("a window budget never admits more than its limit in any window, across 4 processes of 4 threads") {
    constexpr int max = 40;
    constexpr std::int64_t window_us = 200'000;
    const Log log = run_fleet("fleet:window", {"window", std::to_string(max), "200"}, 2000);
    REQUIRE(log.admitted.size() >= static_cast<std::size_t>(max));
    REQUIRE(!log.refused.empty());
    // Each admission at t: the admissions in (t - window, t], the interval the script counts.
    std::size_t most = 0;
    for (std::size_t j = 0, i = 0; j < log.admitted.size(); ++j) {
        while (log.admitted[i] <= log.admitted[j] - window_us) ++i;
        const auto last = std::upper_bound(log.admitted.begin(), log.admitted.end(), log.admitted[j]);
        most = std::max(most, static_cast<std::size_t>(last - log.admitted.begin()) - i);
    }
    std::printf("window: %zu admitted, %zu refused in 2 s; most in one window: %zu (limit %d)\n", log.admitted.size(),
                log.refused.size(), most, max);
    CHECK(most <= static_cast<std::size_t>(max));
    CHECK(most == static_cast<std::size_t>(max));  // the limit is reached, not just refused
}

TEST_CASE("a ratio budget never admits more than its share of the fleet's requests plus its floor") {
    constexpr double ratio = 0.2;
    constexpr std::int64_t ttl_us = 1'000'000;
    constexpr double floor = 10.0;  // 10 per second over 1 s
    const std::int64_t width = ttl_us / rc::RedisBudget::ratio_buckets;
    const Log log = run_fleet("fleet:ratio", {"ratio", "0.2", "1000", "10"}, 2000);
    REQUIRE(!log.admitted.empty());
    REQUIRE(!log.refused.empty());
    // At an admission at t the script counts the retries and requests of bucket floor(t / width)
    // and the 10 before it: every retry in (t - ttl, t], and only requests delivered in
    // [(floor(t / width) - 10) · width, t]. Bounding by all those requests can only loosen it.
    std::vector<std::int64_t> request_prefix{0};
    for (const auto& [us, n] : log.requests) request_prefix.push_back(request_prefix.back() + n);
    const auto requests_in = [&](std::int64_t from, std::int64_t to) {
        const auto lo = std::lower_bound(log.requests.begin(), log.requests.end(), std::pair{from, std::int64_t{-1}});
        const auto hi = std::upper_bound(log.requests.begin(), log.requests.end(),
                                         std::pair{to, std::numeric_limits<std::int64_t>::max()});
        return request_prefix[static_cast<std::size_t>(hi - log.requests.begin())] -
               request_prefix[static_cast<std::size_t>(lo - log.requests.begin())];
    };
    double worst = 0;   // retries / bound, at most 1
    bool full = false;  // an admission that left less than one retry: the bound was reached
    for (std::size_t j = 0, i = 0; j < log.admitted.size(); ++j) {
        const std::int64_t t = log.admitted[j];
        while (log.admitted[i] <= t - ttl_us) ++i;
        const auto last = std::upper_bound(log.admitted.begin(), log.admitted.end(), t);
        const auto retries = static_cast<double>(last - log.admitted.begin() - static_cast<std::ptrdiff_t>(i));
        const double bound = ratio * static_cast<double>(requests_in((t / width - 10) * width, t)) + floor;
        worst = std::max(worst, retries / bound);
        if (retries > bound + 1e-9) {
            FAIL("at " << t << " us: " << retries << " retries in the last ttl, bound " << bound);
        }
        full = full || bound - retries < 1.0;
    }
    std::printf("ratio: %zu admitted, %zu refused, %zu request batches in 2 s; retries / bound at most %.3f\n",
                log.admitted.size(), log.refused.size(), log.requests.size(), worst);
    CHECK(full);
}

TEST_CASE("a ratio budget's flusher delivers requests that no decision carried") {
    auto recorder_options =
        options("flush:ratio", rc::RedisRatioLimit{.ratio = 0.2, .ttl = 10s, .min_retries_per_second = 1});
    recorder_options.flush_interval = 100ms;
    rc::RedisBudget recorder(recorder_options);
    rc::RedisBudget reader(
        options("flush:ratio", rc::RedisRatioLimit{.ratio = 0.2, .ttl = 10s, .min_retries_per_second = 1}));
    REQUIRE(reader.remaining() == 10);  // the floor: 1 per second over 10 s
    for (int i = 0; i < 500; ++i) recorder.record_request();
    const auto until = Clock::now() + 2s;
    while (reader.remaining() != 110 && Clock::now() < until) std::this_thread::sleep_for(20ms);
    CHECK(reader.remaining() == 110);  // 0.2 × 500 + 10, seen by another client
}

TEST_CASE("a killed and restarted Redis: decisions keep their timeout, fail open or closed, then share state again") {
    constexpr auto timeout = 50ms;
    const auto backoff = redress::decorrelated_jitter({.base = 20ms, .max = 100ms});
    auto open_options = options("fault:open", rc::RedisWindowLimit{.max_retries = 100000, .window = 10s});
    open_options.timeout = timeout;
    open_options.reconnect_backoff = backoff;
    // Enough to last well into the outage (about two decisions a millisecond while it is down),
    // so that the fail-open side is seen admitting in that phase however late the phase flips.
    open_options.fallback = redress::Budget{200, 10s};
    auto closed_options = open_options;
    closed_options.key = "fault:closed";
    closed_options.failure_mode = rc::FailureMode::FailClosed;
    closed_options.fallback.reset();
    rc::RedisBudget fail_open(open_options);
    rc::RedisBudget fail_closed(closed_options);

    enum Phase { Before, Down, After };
    std::atomic<int> phase{Before};
    struct Seen {
        std::array<std::array<int, 4>, 3> verdicts{};  // [phase][verdict]
        Clock::duration slowest{};
        int answered_after = 0;
        int fallback_admitted = 0;  // in any phase
    };
    std::array<Seen, 4> seen{};
    std::atomic<bool> stop{false};
    {
        std::vector<std::jthread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&, t] {
                rc::RedisBudget& budget = t % 2 == 0 ? fail_open : fail_closed;
                Seen& s = seen[static_cast<std::size_t>(t)];
                while (!stop.load()) {
                    std::this_thread::sleep_for(1ms);
                    const int p = phase.load();
                    const redis_it::OwnTime took;
                    const rc::RedisDecision d = budget.decide();
                    s.slowest = std::max(s.slowest, took.elapsed());
                    if (d.verdict == redress::BudgetVerdict::AdmittedUnavailable) ++s.fallback_admitted;
                    if (p < 0 || phase.load() != p) continue;  // restarting, or across a phase change
                    ++s.verdicts[static_cast<std::size_t>(p)][static_cast<std::size_t>(d.verdict)];
                    if (p == After && d.server_time) ++s.answered_after;
                }
            });
        std::this_thread::sleep_for(300ms);
        phase = -1;  // no decision that straddles the kill is counted as before or during it
        server->process.kill(SIGKILL);
        phase = Down;
        std::this_thread::sleep_for(700ms);
        phase = -1;  // restarting: decisions may go either way
        server->restart();
        std::this_thread::sleep_for(150ms);  // longer than the longest backoff: both probe again
        phase = After;
        std::this_thread::sleep_for(400ms);
        stop = true;
    }
    const auto count = [&](int p, redress::BudgetVerdict v, int parity) {
        int n = 0;
        for (int t = parity; t < 4; t += 2)
            n += seen[static_cast<std::size_t>(t)].verdicts[static_cast<std::size_t>(p)][static_cast<std::size_t>(v)];
        return n;
    };
    Clock::duration slowest{};
    for (const auto& s : seen) slowest = std::max(slowest, s.slowest);
    const auto slowest_ms = std::chrono::duration<double, std::milli>(slowest).count();
    using V = redress::BudgetVerdict;
    std::printf(
        "kill: slowest decision %.2f ms (timeout 50 ms); while down: open %d admitted, %d refused; closed %d "
        "refused; after restart: %d + %d answered\n",
        slowest_ms, count(Down, V::AdmittedUnavailable, 0), count(Down, V::RefusedUnavailable, 0),
        count(Down, V::RefusedUnavailable, 1), seen[0].answered_after + seen[2].answered_after,
        seen[1].answered_after + seen[3].answered_after);
    CHECK(slowest_ms < 50 + 15);  // the timeout, plus what a wake-up costs (waits for a core excluded)
    CHECK(count(Before, V::Admitted, 0) > 0);
    CHECK(count(Before, V::Admitted, 1) > 0);
    // Down: fail-open decided by its fallback (200 retries per 10 s), fail-closed refused.
    CHECK(seen[0].fallback_admitted + seen[2].fallback_admitted == 200);
    CHECK(count(Down, V::AdmittedUnavailable, 0) > 0);
    CHECK(count(Down, V::RefusedUnavailable, 0) > 0);
    CHECK(count(Down, V::Admitted, 0) + count(Down, V::Refused, 0) == 0);
    CHECK(count(Down, V::RefusedUnavailable, 1) > 0);
    CHECK(count(Down, V::AdmittedUnavailable, 1) + count(Down, V::Admitted, 1) + count(Down, V::Refused, 1) == 0);
    // After the restart both reach Redis again.
    CHECK(count(After, V::Admitted, 0) > 0);
    CHECK(count(After, V::Admitted, 1) > 0);
    CHECK(count(After, V::AdmittedUnavailable, 0) + count(After, V::RefusedUnavailable, 0) == 0);
    CHECK(count(After, V::RefusedUnavailable, 1) == 0);

    // And they share state again: the restarted server's key, filled by one client, refuses another.
    auto shared = options("fault:shared", rc::RedisWindowLimit{.max_retries = 2, .window = 10s});
    rc::RedisBudget a(shared);
    rc::RedisBudget b(shared);
    CHECK(a.decide().verdict == V::Admitted);
    CHECK(a.decide().verdict == V::Admitted);
    CHECK(b.decide().verdict == V::Refused);
    CHECK(Raw{}.integer("ZCARD fault:shared") == 2);
}

TEST_CASE("a Redis that answers slowly (DEBUG SLEEP) does not stall a decision beyond its timeout") {
    auto o = options("slow:window", rc::RedisWindowLimit{.max_retries = 100, .window = 10s});
    o.failure_mode = rc::FailureMode::FailClosed;
    o.reconnect_backoff = redress::constant(50ms);
    rc::RedisBudget budget(o);
    REQUIRE(budget.decide().verdict == redress::BudgetVerdict::Admitted);  // connected and answered
    std::jthread sleeper = redis_it::sleep_server("1");
    std::this_thread::sleep_for(100ms);  // the server is asleep now
    // Times on the calling thread, less its waits for a core (redis_it::OwnTime).
    const redis_it::OwnTime start;
    const rc::RedisDecision stalled = budget.decide();
    const double took = start.elapsed_ms();
    const redis_it::OwnTime start2;
    const rc::RedisDecision backing_off = budget.decide();
    const double took2 = start2.elapsed_ms();
    std::printf("slow: decision on a sleeping Redis %.2f ms (timeout 50 ms); the next, backing off, %.3f ms\n", took,
                took2);
    CHECK(stalled.verdict == redress::BudgetVerdict::RefusedUnavailable);
    CHECK(took >= 45);  // it did wait for the server
    CHECK(took < 50 + 15);
    CHECK(backing_off.verdict == redress::BudgetVerdict::RefusedUnavailable);
    CHECK(took2 < 5);  // straight to the failure mode, no round trip

    // 4 threads deciding every millisecond while the server sleeps on: only one decision at a
    // time tries Redis, once per backoff step, and none waits longer than the timeout.
    std::atomic<int> decisions{0}, waited{0};
    std::atomic<std::int64_t> slowest_us{0};
    {
        std::vector<std::jthread> threads;
        const auto until = Clock::now() + 600ms;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&] {
                while (Clock::now() < until) {
                    const redis_it::OwnTime t0;
                    const bool answered = budget.decide().server_time.has_value();
                    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t0.elapsed()).count();
                    std::int64_t seen = slowest_us.load();
                    while (us > seen && !slowest_us.compare_exchange_weak(seen, us)) {
                    }
                    decisions.fetch_add(1);
                    if (us >= 20'000 || answered) waited.fetch_add(1);
                    std::this_thread::sleep_for(1ms);
                }
            });
    }
    std::printf("slow, 4 threads for 600 ms: %d decisions, %d waited on Redis, slowest %.2f ms\n", decisions.load(),
                waited.load(), static_cast<double>(slowest_us.load()) / 1000);
    CHECK(slowest_us.load() < (50 + 15) * 1000);
    CHECK(waited.load() >= 2);             // it kept trying
    CHECK(waited.load() <= 600 / 50 + 2);  // one try per backoff step, not one per thread
    CHECK(decisions.load() >= 200);
    sleeper.join();
    std::this_thread::sleep_for(60ms);
    CHECK(budget.decide().verdict == redress::BudgetVerdict::Admitted);
}

TEST_CASE("policies in two clients sharing a key are refused retries fleet-wide") {
    auto shared = options("policy:fleet", rc::RedisWindowLimit{.max_retries = 3, .window = 10s});
    shared.failure_mode = rc::FailureMode::FailClosed;
    // Two clients, as two processes would have: separate connections, one key.
    redress::Budget first_budget = rc::redis_budget(shared);
    redress::Budget second_budget = rc::redis_budget(shared);
    const auto policy = [](redress::Budget b) {
        return redress::RetryPolicy{
            redress::Retry{.strategy = redress::constant(0ms), .max_attempts = 10, .budget = b}};
    };
    auto always_down = []() -> int { throw redress::ServerError("503"); };
    const auto first = policy(first_budget).execute(always_down);
    const auto second = policy(second_budget).execute(always_down);
    CHECK(first.attempts == 4);  // 3 retries: the fleet's budget
    CHECK(first.stop_reason == redress::StopReason::BudgetExhausted);
    CHECK(second.attempts == 1);
    CHECK(second.stop_reason == redress::StopReason::BudgetExhausted);
    CHECK(first_budget.remaining() == 0);
    CHECK(Raw{}.integer("ZCARD policy:fleet") == 3);  // what the server holds
}

TEST_CASE("options are validated at construction, naming the option") {
    const auto rejects = [](rc::RedisBudgetOptions o, std::string_view option) {
        redis_it::check_rejects<rc::RedisBudget>(std::move(o), option, "RedisBudgetOptions");
    };
    const rc::RedisBudgetOptions ok{.key = "k"};
    rejects({}, "key");
    rejects({.host = "", .key = "k"}, "host");
    rejects({.port = 0, .key = "k"}, "port");
    rejects({.port = 65536, .key = "k"}, "port");
    rejects({.key = "k", .timeout = 0ms}, "timeout");
    rejects({.key = "k", .connections = 0}, "connections");
    rejects({.key = "k", .flush_interval = -1ms}, "flush_interval");
    rejects({.key = "k", .reconnect_backoff = redress::AnyStrategy{}}, "reconnect_backoff");
    rejects({.key = "k", .failure_mode = rc::FailureMode::FailClosed, .fallback = redress::Budget{1, 1s}}, "fallback");
    rejects({.key = "k", .limit = rc::RedisWindowLimit{.max_retries = -1}}, "limit.max_retries");
    rejects({.key = "k", .limit = rc::RedisWindowLimit{.window = 999us}}, "limit.window");
    rejects({.key = "k", .limit = rc::RedisRatioLimit{.ratio = -0.1}}, "limit.ratio");
    rejects({.key = "k", .limit = rc::RedisRatioLimit{.ratio = std::numeric_limits<double>::infinity()}},
            "limit.ratio");
    rejects({.key = "k", .limit = rc::RedisRatioLimit{.ratio = 1000.5}}, "limit.ratio");
    rejects({.key = "k", .limit = rc::RedisRatioLimit{.ttl = 9ms}}, "limit.ttl");
    rejects({.key = "k", .limit = rc::RedisRatioLimit{.ttl = 1000s, .min_retries_per_second = 3e6}},
            "limit.min_retries_per_second");
    rejects({.key = "k", .limit = rc::RedisRatioLimit{.min_retries_per_second = std::nan("")}},
            "limit.min_retries_per_second");
    CHECK_NOTHROW(rc::RedisBudget(ok));
    CHECK(rc::RedisBudget(ok).options().fallback.has_value());  // FailOpen's default local budget
    CHECK(rc::RedisBudget(ok).options().fallback->options().max_retries == 100);
    // The ratio form's default fallback is a local ratio budget of the same settings: it counts
    // this process's requests.
    const rc::RedisBudget ratio({.key = "k", .limit = rc::RedisRatioLimit{}});
    CHECK(ratio.options().fallback->counts_requests());
    CHECK_FALSE(ratio.options().fallback->is_window());
}

TEST_CASE("a policy emits budget_backend_unavailable when its RedisBudget cannot reach Redis, fail-open and "
          "fail-closed") {
    // Nothing listens on this port: every decision finds Redis unreachable.
    const int dead_port = it::free_loopback_port();
    const auto run = [&](rc::FailureMode mode) {
        rc::RedisBudgetOptions o{.port = dead_port,
                                 .key = "unreachable",
                                 .limit = rc::RedisWindowLimit{.max_retries = 1, .window = 60s},
                                 .timeout = 50ms,
                                 .failure_mode = mode};
        std::vector<std::string> events;
        redress::RetryPolicy policy{redress::Retry{
            .strategy = redress::constant(0ms),
            .max_attempts = 5,
            .budget = rc::redis_budget(o),
            .on_metric = [&](const redress::Event& e) { events.emplace_back(redress::to_string(e.name)); }}};
        const auto started = Clock::now();
        const auto out = policy.execute([]() -> int { throw redress::ServerError("503"); });
        const auto took = Clock::now() - started;
        CHECK(took < 1s);  // every decision within its timeout (refused connections fail at once)
        return std::pair{out, events};
    };
    SECTION("fail-open: the local fallback (1 retry) admits, then refuses; each decision is reported") {
        const auto [out, events] = run(rc::FailureMode::FailOpen);
        CHECK(out.attempts == 2);
        CHECK(out.stop_reason == redress::StopReason::BudgetExhausted);
        CHECK(events == std::vector<std::string>{"budget_backend_unavailable", "retry", "budget_backend_unavailable",
                                                 "budget_exhausted"});
    }
    SECTION("fail-closed: the first retry is refused, and reported") {
        const auto [out, events] = run(rc::FailureMode::FailClosed);
        CHECK(out.attempts == 1);
        CHECK(out.stop_reason == redress::StopReason::BudgetExhausted);
        CHECK(events == std::vector<std::string>{"budget_backend_unavailable", "budget_exhausted"});
    }
}

TEST_CASE("a decision is one EVALSHA round trip, after SCRIPT FLUSH one EVAL reloads the script") {
    Raw raw;
    rc::RedisBudget budget(options("trips:window", rc::RedisWindowLimit{.max_retries = 5, .window = 10s}));
    (void)raw.text("SCRIPT FLUSH");
    (void)raw.text("CONFIG RESETSTAT");
    for (int i = 0; i < 8; ++i) (void)budget.decide();
    CHECK(raw.stat("evalsha") == 8);
    CHECK(raw.stat("evalsha", "failed_calls") == 1);  // NOSCRIPT, once
    CHECK(raw.stat("eval") == 1);
    CHECK(raw.integer("ZCARD trips:window") == 5);
}

TEST_CASE("keys expire by themselves once the budget is idle") {
    Raw raw;
    rc::RedisBudget window(options("expire:window", rc::RedisWindowLimit{.max_retries = 5, .window = 100ms}));
    rc::RedisBudget ratio(options("expire:ratio", rc::RedisRatioLimit{.ratio = 0.2, .ttl = 100ms}));
    REQUIRE(window.decide().verdict == redress::BudgetVerdict::Admitted);
    ratio.record_request();
    REQUIRE(ratio.decide().verdict == redress::BudgetVerdict::Admitted);
    const long long window_ttl = raw.integer("PTTL expire:window");
    const long long ratio_ttl = raw.integer("PTTL expire:ratio");
    CHECK(window_ttl > 0);
    CHECK(window_ttl <= 101);  // the window, rounded up, plus 1 ms
    CHECK(ratio_ttl > 0);
    CHECK(ratio_ttl <= 111);  // ttl and one bucket of ttl / 10, plus 1 ms
    std::this_thread::sleep_for(150ms);
    CHECK(raw.integer("EXISTS expire:window") == 0);
    CHECK(raw.integer("EXISTS expire:ratio") == 0);
}

TEST_CASE("the scripts run by their SHA-1, as the server names them") {
    Raw raw;
    for (const std::string_view script : {rc::detail::window_script, rc::detail::ratio_script}) {
        const std::string text(script);
        auto* r = static_cast<redisReply*>(redisCommand(raw.c, "SCRIPT LOAD %b", text.data(), text.size()));
        REQUIRE(r != nullptr);
        CHECK(std::string(r->str, r->len) == rc::detail::sha1_hex(script));
        freeReplyObject(r);
    }
    CHECK(rc::detail::sha1_hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
}

#ifdef REDRESS_REDIS_EXAMPLE
TEST_CASE("the example, run as two processes, shares one budget") {
    const std::string first = redis_it::run_example(REDRESS_REDIS_EXAMPLE, "example:fleet");
    const std::string second = redis_it::run_example(REDRESS_REDIS_EXAMPLE, "example:fleet");
    CHECK(first.find("attempts=4 retries=3 stop=BUDGET_EXHAUSTED fleet_remaining=0") != std::string::npos);
    CHECK(second.find("attempts=1 retries=0 stop=BUDGET_EXHAUSTED fleet_remaining=0") != std::string::npos);
    CHECK(second.find("ratio budget: counts_requests=1 remaining=10") != std::string::npos);
}
#endif

int main(int argc, char** argv) {
    if (argc > 1 && std::string(argv[1]) == "--worker") return worker(argc, argv);
    if (argc > 1 && std::string(argv[1]) == "--breaker-worker") return redis_it::breaker_worker(argc, argv);
    const auto program = it::find_program({"redis-server"}, {"/usr/sbin", "/usr/local/bin"});
    if (!program) it::skip("redis-server not found on PATH: install redis-server");
    self_exe = std::filesystem::read_symlink("/proc/self/exe").string();
    it::TempDir dir("redress-redis");
    std::optional<redis_it::Server> started;
    try {
        started.emplace(*program, dir);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "could not start %s: %s\n", program->c_str(), e.what());
        return 1;
    }
    server = &*started;
    std::printf("redis-server %s on 127.0.0.1:%d\n", program->c_str(), server->port);
    const int failed = redress_test::run_catch(argc, argv);
    if (failed != 0) std::printf("the server's log:\n%s\n", server->process.log().c_str());
    return failed;
}
