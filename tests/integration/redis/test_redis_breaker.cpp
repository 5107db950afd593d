// RedisCircuitBreakerStore against the real redis-server that test_redis.cpp starts: the store's
// contract (the one InMemoryBreakerStore keeps), its keys and round trips, a fleet of 4 worker
// processes (this executable run again with `--breaker-worker ...`) whose breakers share one
// key, and a killed and restarted Redis.
#include <redress/contrib/redis.hpp>
#include <redress/redress.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "breaker_store_contract.hpp"
#include "process.hpp"
#include "redis_fixture.hpp"

namespace it = redress::it;
namespace rc = redress::contrib;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using redis_it::Raw;
using redis_it::server;

namespace {

rc::RedisBreakerStoreOptions store_options(const std::string& key) {
    return {.port = server->port, .key = key, .timeout = 50ms};
}

// ---- the fleet: 4 processes, one shared breaker ------------------------------------------------

// Each worker's breaker: 2 failures open it, recovery 800 ms, refreshed every 100 ms, lease 400 ms.
constexpr auto fleet_recovery = 800ms;
constexpr auto fleet_refresh = 100ms;
constexpr auto fleet_lease = 400ms;

/// Forwards to the Redis store and logs, with the server's clock, what this process learned:
/// `O gen µs` it published an opening, `S gen µs` it first saw opening gen, `G gen µs` it was
/// granted gen's probe, `X gen µs` it published gen's close, `C µs` it saw the fleet closed
/// after an opening, `L gen` its breaker ran a probe (written by the worker). One line per
/// write(2): a worker killed with SIGKILL keeps every line it wrote.
class LoggingStore final : public redress::BreakerStore {
public:
    LoggingStore(rc::RedisBreakerStoreOptions o, int fd) : store_(std::move(o)), fd_(fd) {}

    std::optional<redress::BreakerFleetState> read() override { return seen(store_.read()); }
    std::optional<redress::BreakerFleetState> publish_open(redress::Duration recovery) override {
        auto s = seen(store_.publish_open(recovery));
        if (s) line("O " + std::to_string(s->generation) + " " + now());
        return s;
    }
    std::optional<redress::BreakerFleetState> acquire_probe(std::uint64_t generation,
                                                            redress::Duration lease) override {
        auto s = seen(store_.acquire_probe(generation, lease));
        if (s && s->probe_granted) {
            granted_ = s->generation;
            line("G " + std::to_string(s->generation) + " " + now());
        }
        return s;
    }
    std::optional<redress::BreakerFleetState> publish_closed(std::uint64_t generation) override {
        auto s = seen(store_.publish_closed(generation));
        if (s) line("X " + std::to_string(generation) + " " + now());
        return s;
    }

    void line(const std::string& text) const {
        const std::string l = text + "\n";
        (void)!::write(fd_, l.data(), l.size());
    }
    [[nodiscard]] std::uint64_t granted() const { return granted_; }
    [[nodiscard]] std::size_t openings_seen() const { return generations_.size(); }
    [[nodiscard]] bool closed_seen() const { return closed_; }

private:
    std::optional<redress::BreakerFleetState> seen(std::optional<redress::BreakerFleetState> s) {
        if (!s) return s;
        if (s->open && generations_.insert(s->generation).second) {
            closed_ = false;
            line("S " + std::to_string(s->generation) + " " + now());
        }
        if (!s->open && !generations_.empty() && !closed_) {
            closed_ = true;
            line("C " + now());
        }
        return s;
    }
    [[nodiscard]] std::string now() const { return std::to_string(store_.last_server_time().value().count()); }

    rc::RedisCircuitBreakerStore store_;
    int fd_;
    std::set<std::uint64_t> generations_;
    bool closed_ = false;
    std::uint64_t granted_ = 0;
};

}  // namespace

// --breaker-worker <port> <key> <index> <log>
// Calls its breaker every 2 ms. Worker 0 fails its first two calls 350 ms in (half a refresh off
// the others' refreshes, which started with them), opening the fleet.
// A probe asks the server which probe of the run it is (INCR): the first holder kills itself with
// SIGKILL, the second fails (a new opening), the later ones succeed. Other calls succeed. Ends
// once the fleet has closed after two openings (exit 0), or after 6 s (exit 4).
int redis_it::breaker_worker(int argc, char** argv) {
    if (argc < 6) return 2;
    const int port = std::stoi(argv[2]);
    const std::string key = argv[3];
    const int index = std::stoi(argv[4]);
    const int fd = ::open(argv[5], O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return 2;
    auto store =
        std::make_shared<LoggingStore>(rc::RedisBreakerStoreOptions{.port = port, .key = key, .timeout = 500ms}, fd);
    redress::CircuitBreaker breaker{{.failure_threshold = 2,
                                     .window = 10s,
                                     .recovery_timeout = fleet_recovery,
                                     .store = store,
                                     .store_refresh = fleet_refresh,
                                     .store_lease = fleet_lease}};
    redisContext* counter = redisConnect("127.0.0.1", port);
    if (counter == nullptr || counter->err != 0) return 2;
    const auto start = Clock::now();
    int failures_left = index == 0 ? 2 : 0;
    while (Clock::now() - start < 6s) {
        std::this_thread::sleep_for(2ms);
        const auto permit = breaker.allow();
        if (store->openings_seen() >= 2 && store->closed_seen() && breaker.state() == redress::CircuitState::Closed)
            return 0;
        if (!permit.allowed) continue;
        if (permit.probe) {
            store->line("L " + std::to_string(store->granted()));
            auto* r = static_cast<redisReply*>(redisCommand(counter, "INCR %s:test-probes", key.c_str()));
            const long long n = r != nullptr ? r->integer : 0;
            freeReplyObject(r);
            if (n == 1) ::kill(::getpid(), SIGKILL);
            if (n == 2) {
                (void)breaker.record_failure(redress::ErrorClass::Transient, permit);
            } else {
                (void)breaker.record_success(permit);
            }
            continue;
        }
        if (failures_left > 0 && Clock::now() - start >= 350ms) {
            --failures_left;
            (void)breaker.record_failure(redress::ErrorClass::Transient, permit);
            continue;
        }
        (void)breaker.record_success(permit);
    }
    return 4;
}

TEST_CASE("RedisCircuitBreakerStore keeps the breaker store's contract") {
    rc::RedisCircuitBreakerStore store(store_options("breaker:contract"));
    const auto sleep = [](redress::Duration d) { std::this_thread::sleep_for(d); };
    redress_test::check_breaker_store_contract(store, sleep, 50ms);
}

TEST_CASE("the breaker store's calls are one EVALSHA each, its keys expire by themselves, generations survive expiry") {
    Raw raw;
    rc::RedisBreakerStoreOptions o = store_options("breaker:keys");
    o.record_margin = 100ms;
    rc::RedisCircuitBreakerStore store(o);
    (void)raw.text("SCRIPT FLUSH");
    (void)raw.text("CONFIG RESETSTAT");
    const auto a = store.publish_open(50ms);
    REQUIRE(a);
    CHECK(raw.stat("evalsha") == 1);
    CHECK(raw.stat("eval") == 1);  // NOSCRIPT, then the script's text once
    const long long record_ttl = raw.integer("PTTL breaker:keys");
    CHECK(record_ttl > 0);
    CHECK(record_ttl <= 150);  // recovery + margin
    CHECK(raw.integer("PTTL breaker:keys:generation") > 0);
    std::this_thread::sleep_for(60ms);
    REQUIRE(store.acquire_probe(a->generation, 500ms).value().probe_granted);
    const long long lease_ttl = raw.integer("PTTL breaker:keys:probe");
    CHECK(lease_ttl > 400);
    CHECK(lease_ttl <= 500);
    CHECK(raw.integer("PTTL breaker:keys") > 500);  // a granted lease keeps the record: lease + margin
    (void)store.read();
    (void)store.publish_closed(a->generation + 1);
    CHECK(raw.stat("evalsha") == 4);  // one per call
    CHECK(raw.stat("eval") == 4);     // each of the four scripts loaded once, after NOSCRIPT
    std::this_thread::sleep_for(700ms);
    CHECK(raw.integer("EXISTS breaker:keys breaker:keys:probe breaker:keys:generation") == 0);
    const auto after = store.read();
    REQUIRE(after);
    CHECK_FALSE(after->open);  // an opening nobody probed expires: the fleet is closed
    const auto b = store.publish_open(50ms);
    REQUIRE(b);
    CHECK(b->generation > a->generation);  // the counter starts again above every earlier generation
}

TEST_CASE("4 processes share one breaker: an opening reaches all within the refresh, one probe runs per opening") {
    const std::string key = "breaker:fleet";
    it::TempDir dir("redress-redis-breaker-fleet");
    std::vector<std::unique_ptr<it::Process>> workers;
    for (int w = 0; w < 4; ++w)
        workers.push_back(std::make_unique<it::Process>(
            std::vector<std::string>{redis_it::self_exe, "--breaker-worker", std::to_string(server->port), key,
                                     std::to_string(w), (dir.path() / ("w" + std::to_string(w))).string()},
            it::Process::Options{.log_file = (dir.path() / "stderr").string()}));
    int killed = 0;
    for (auto& w : workers) {
        const int status = w->wait();
        INFO("worker log: " << w->log());
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
            ++killed;
            continue;
        }
        REQUIRE(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    CHECK(killed == 1);  // the first probe's holder

    // Merge the logs: all times are the server's, in µs.
    std::vector<std::pair<std::uint64_t, std::int64_t>> opened, grants, closes;  // (generation, µs)
    std::array<std::map<std::uint64_t, std::int64_t>, 4> saw{};                  // per worker: generation -> µs
    std::array<std::optional<std::int64_t>, 4> saw_closed{};
    int probes_run = 0;
    for (std::size_t w = 0; w < 4; ++w) {
        std::ifstream in(dir.path() / ("w" + std::to_string(w)));
        std::string kind;
        while (in >> kind) {
            std::uint64_t gen = 0;
            std::int64_t us = 0;
            if (kind == "C") {
                in >> us;
                saw_closed[w] = us;
                continue;
            }
            in >> gen;
            if (kind == "L") {
                ++probes_run;
                continue;
            }
            in >> us;
            if (kind == "O") opened.emplace_back(gen, us);
            if (kind == "G") grants.emplace_back(gen, us);
            if (kind == "X") closes.emplace_back(gen, us);
            if (kind == "S") saw[w][gen] = us;
        }
    }
    std::sort(opened.begin(), opened.end());
    std::sort(grants.begin(), grants.end());
    REQUIRE(opened.size() == 2);  // worker 0's failures, then the second probe's failure
    const auto [gen_a, at_a] = opened[0];
    const auto [gen_b, at_b] = opened[1];
    const auto us = [](redress::Duration d) {
        return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
    };
    const std::int64_t slack = 100'000;

    // Every process saw each opening within a refresh (+ slack) of its publication.
    std::int64_t latest_a = 0, latest_b = 0;
    int saw_b = 0;
    for (std::size_t w = 0; w < 4; ++w) {
        INFO("worker " << w);
        REQUIRE(saw[w].count(gen_a) == 1);
        latest_a = std::max(latest_a, saw[w][gen_a] - at_a);
        if (saw[w].count(gen_b) == 1) {
            ++saw_b;
            latest_b = std::max(latest_b, saw[w][gen_b] - at_b);
        }
    }
    CHECK(latest_a >= 0);
    CHECK(latest_a <= us(fleet_refresh) + slack);
    CHECK(saw_b == 3);  // the survivors
    CHECK(latest_b <= us(fleet_refresh) + slack);

    // Opening A: its first probe holder died; the next probe came one lease later. Opening B: one probe.
    REQUIRE(grants.size() == 3);
    CHECK(grants[0].first == gen_a);
    CHECK(grants[1].first == gen_a);
    CHECK(grants[2].first == gen_b);
    CHECK(grants[0].second - at_a >= us(fleet_recovery));
    CHECK(grants[0].second - at_a <= us(fleet_recovery) + slack);
    const std::int64_t dead_lease_delay = grants[1].second - grants[0].second;
    CHECK(dead_lease_delay >= us(fleet_lease));
    CHECK(dead_lease_delay <= us(fleet_lease + fleet_refresh) + slack);
    CHECK(grants[2].second - at_b >= us(fleet_recovery));
    CHECK(grants[2].second - at_b <= us(fleet_recovery) + slack);
    CHECK(probes_run == 3);  // no process probed without the lease

    // The last probe closed the fleet; every survivor saw it within a refresh.
    REQUIRE(closes.size() == 1);
    CHECK(closes[0].first == gen_b);
    std::int64_t latest_close = 0;
    int saw_close = 0;
    for (const auto& c : saw_closed)
        if (c) {
            ++saw_close;
            latest_close = std::max(latest_close, *c - closes[0].second);
        }
    CHECK(saw_close == 3);
    CHECK(latest_close <= us(fleet_refresh) + slack);
    std::printf(
        "breaker fleet: all 4 saw opening A %.1f ms after it was published, the 3 survivors opening B %.1f ms after, "
        "the close %.1f ms after (refresh 100 ms); probes: A at +%.1f ms (holder killed), again %.1f ms later "
        "(lease 400 ms), B at +%.1f ms (recovery 800 ms)\n",
        static_cast<double>(latest_a) / 1000, static_cast<double>(latest_b) / 1000,
        static_cast<double>(latest_close) / 1000, static_cast<double>(grants[0].second - at_a) / 1000,
        static_cast<double>(dead_lease_delay) / 1000, static_cast<double>(grants[2].second - at_b) / 1000);
}

TEST_CASE("a sleeping or killed Redis: store calls give up at the timeout, breakers decide alone, then share again") {
    rc::RedisBreakerStoreOptions o = store_options("breaker:fault");
    o.reconnect_backoff = redress::decorrelated_jitter({.base = 20ms, .max = 100ms});
    auto store_a = std::make_shared<rc::RedisCircuitBreakerStore>(o);
    auto store_b = std::make_shared<rc::RedisCircuitBreakerStore>(o);  // another client, as another process
    const auto breaker_options = [](std::shared_ptr<redress::BreakerStore> s) {
        return redress::CircuitBreakerOptions{.failure_threshold = 2,
                                              .window = 10s,
                                              .recovery_timeout = 200ms,
                                              .store = std::move(s),
                                              .store_refresh = 50ms,
                                              .store_lease = 1s};
    };
    redress::CircuitBreaker a{breaker_options(store_a)};
    redress::CircuitBreaker b{breaker_options(store_b)};
    REQUIRE(store_a->read());
    REQUIRE(store_b->read());

    // A Redis that does not answer (DEBUG SLEEP): the call gives up at its timeout.
    std::jthread sleeper = redis_it::sleep_server("0.3");
    std::this_thread::sleep_for(50ms);
    const redis_it::OwnTime asleep_at;  // less the thread's waits for a core
    CHECK_FALSE(store_a->read().has_value());
    const double asleep_ms = asleep_at.elapsed_ms();
    CHECK(asleep_ms >= 45);
    CHECK(asleep_ms < 50 + 15);
    sleeper.join();

    const auto fail = [](redress::CircuitBreaker& br) {
        (void)br.record_failure(redress::ErrorClass::Transient, br.allow());
    };

    server->process.kill(SIGKILL);
    Clock::duration slowest{};
    int answered = 0;
    for (const auto until = Clock::now() + 300ms; Clock::now() < until; std::this_thread::sleep_for(5ms)) {
        const redis_it::OwnTime t0;
        if (store_a->read() || store_a->publish_open(1s) || store_a->acquire_probe(1, 1s)) ++answered;
        slowest = std::max(slowest, t0.elapsed());
    }
    const double slowest_ms = std::chrono::duration<double, std::milli>(slowest).count();
    CHECK(answered == 0);
    CHECK(slowest_ms < 50 + 15);

    // A opens on its own evidence, alone; B keeps admitting; A probes locally and closes.
    fail(a);
    fail(a);
    CHECK(a.state() == redress::CircuitState::Open);
    for (int i = 0; i < 20; ++i) {
        const auto p = b.allow();
        CHECK(p.allowed);
        (void)b.record_success(p);
        std::this_thread::sleep_for(5ms);
    }
    CHECK(b.state() == redress::CircuitState::Closed);
    std::this_thread::sleep_for(200ms);
    const auto probe = a.allow();
    CHECK(probe.probe);
    (void)a.record_success(probe);
    CHECK(a.state() == redress::CircuitState::Closed);
    CHECK(a.snapshot().store_unavailable.value_or(0) > 0);

    // Restarted (empty): A's next opening reaches B within its refresh again.
    server->restart();
    std::this_thread::sleep_for(150ms);  // longer than the longest backoff
    fail(a);
    fail(a);
    CHECK(a.state() == redress::CircuitState::Open);
    CHECK(a.snapshot().fleet);
    const auto t0 = Clock::now();
    while (b.allow().allowed && Clock::now() - t0 < 1s) std::this_thread::sleep_for(2ms);
    const double followed_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    CHECK(b.state() == redress::CircuitState::Open);
    CHECK(followed_ms <= 50 + 50);
    std::printf("breaker: a store call on a sleeping Redis %.2f ms, on a killed one at most %.2f ms (timeout 50 ms); "
                "after the restart B followed A's opening in %.1f ms (refresh 50 ms)\n",
                asleep_ms, slowest_ms, followed_ms);
}

TEST_CASE("the breaker store's options are validated at construction, naming the option") {
    const auto rejects = [](rc::RedisBreakerStoreOptions o, std::string_view option) {
        redis_it::check_rejects<rc::RedisCircuitBreakerStore>(std::move(o), option, "RedisBreakerStoreOptions");
    };
    rejects({}, "key");
    rejects({.host = "", .key = "k"}, "host");
    rejects({.port = 0, .key = "k"}, "port");
    rejects({.port = 65536, .key = "k"}, "port");
    rejects({.key = "k", .timeout = 0ms}, "timeout");
    rejects({.key = "k", .connections = 0}, "connections");
    rejects({.key = "k", .reconnect_backoff = redress::AnyStrategy{}}, "reconnect_backoff");
    rejects({.key = "k", .record_margin = 999us}, "record_margin");
    CHECK_NOTHROW(rc::RedisCircuitBreakerStore({.key = "k"}));
}

#ifdef REDRESS_REDIS_BREAKER_EXAMPLE
TEST_CASE("the breaker example, run as two processes, shares one breaker") {
    const std::string first = redis_it::run_example(REDRESS_REDIS_BREAKER_EXAMPLE, "example:breaker");
    const std::string second = redis_it::run_example(REDRESS_REDIS_BREAKER_EXAMPLE, "example:breaker");
    CHECK(first.find("downstream_calls=3 rejected=2 state=open shared=1") != std::string::npos);
    CHECK(second.find("downstream_calls=0 rejected=5 state=open shared=1") != std::string::npos);
}
#endif
