// The redis-server that the Redis integration executable starts once for all its test cases,
// and a plain hiredis connection to ask it what it holds; shared by its sources.
#pragma once

#include <hiredis/hiredis.h>

#include <catch2/catch.hpp>

#include <redress/errors.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "process.hpp"

namespace redis_it {

using namespace std::chrono_literals;

/// The redis-server under test: restartable on the same port (the fault test kills it).
struct Server {
    Server(const std::string& program, const redress::it::TempDir& dir)
        : port(redress::it::free_loopback_port()),
          process({program, "--port", std::to_string(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                   "--enable-debug-command", "yes", "--dir", dir.path().string()},
                  {.log_file = (dir.path() / "redis.log").string()}) {
        redress::it::wait_for_port(port, 10s, &process);
    }
    void restart() {
        process.start();
        redress::it::wait_for_port(port, 10s, &process);
    }
    int port;
    redress::it::Process process;
};

inline Server* server = nullptr;
inline std::string self_exe;  // this executable, run again as worker processes

/// A plain hiredis connection for what the server saw.
struct Raw {
    Raw() : c(redisConnect("127.0.0.1", server->port)) { REQUIRE((c && c->err == 0)); }
    Raw(const Raw&) = delete;
    Raw& operator=(const Raw&) = delete;
    ~Raw() { redisFree(c); }
    long long integer(const std::string& cmd) {
        auto* r = static_cast<redisReply*>(redisCommand(c, cmd.c_str()));
        REQUIRE(r != nullptr);
        const long long v = r->integer;
        freeReplyObject(r);
        return v;
    }
    std::string text(const std::string& cmd) {
        auto* r = static_cast<redisReply*>(redisCommand(c, cmd.c_str()));
        REQUIRE(r != nullptr);
        std::string v = r->str != nullptr ? std::string(r->str, r->len) : std::string{};
        freeReplyObject(r);
        return v;
    }
    /// `calls` (or another field) of `cmdstat_<command>` in INFO commandstats; 0 when absent.
    long long stat(const std::string& command, const std::string& field = "calls") {
        const std::string info = text("INFO commandstats");
        const auto line = info.find("cmdstat_" + command + ":");
        if (line == std::string::npos) return 0;
        const auto at = info.find(field + "=", line);
        return at == std::string::npos ? 0 : std::stoll(info.substr(at + field.size() + 1));
    }
    redisContext* c;
};

/// Puts the server to sleep (`DEBUG SLEEP seconds`) from a thread of its own: the server answers
/// no one until it wakes; join the thread to wait for that. Connects first, here (the thread
/// uses no Catch macro).
inline std::jthread sleep_server(const std::string& seconds) {
    redisContext* sleeping = redisConnect("127.0.0.1", server->port);
    REQUIRE((sleeping && sleeping->err == 0));
    return std::jthread([sleeping, command = "DEBUG SLEEP " + seconds] {
        freeReplyObject(redisCommand(sleeping, command.c_str()));
        redisFree(sleeping);
    });
}

/// Runs `program` (an example) with this server's port and `key`; what it printed. Checks that
/// it exited 0.
inline std::string run_example(const std::string& program, const std::string& key) {
    redress::it::TempDir dir("redress-redis-example");
    const auto out = dir.path() / "out";
    const int status = redress::it::run({program, std::to_string(server->port), key}, {.log_file = out.string()});
    std::ifstream in(out);
    std::stringstream text;
    text << in.rdbuf();
    INFO(text.str());
    CHECK(status == 0);
    return text.str();
}

/// Checks that constructing a `T` from `options` throws `InvalidOption` naming `option` of
/// `component`.
template <class T, class Options>
void check_rejects(Options options, std::string_view option, std::string_view component) {
    try {
        T rejected(std::move(options));
    } catch (const redress::InvalidOption& e) {
        CHECK(e.option() == option);
        CHECK(e.component() == component);
        return;
    }
    FAIL("accepted an invalid " << option);
}

/// `--breaker-worker ...`: one process of the shared breaker's fleet test (test_redis_breaker.cpp).
int breaker_worker(int argc, char** argv);

/// The time a call took on its own thread: the wall time less the time the thread waited for
/// a core (Linux's run-queue wait, /proc/thread-self/schedstat), that is the time it ran or was
/// blocked, which is what the library decides. Bounds on how long a call may block are checked
/// on it: on 2 cores running tests in parallel, a thread woken at its deadline has waited tens
/// of milliseconds for a core (a CI run measured a 50 ms timeout at 95.8 ms of wall time).
/// Without schedstat it is the wall time.
class OwnTime {
public:
    OwnTime() : start_(std::chrono::steady_clock::now()), waited_(runqueue_wait()) {}

    [[nodiscard]] std::chrono::steady_clock::duration elapsed() const {
        const auto wall = std::chrono::steady_clock::now() - start_;
        return std::max(wall - (runqueue_wait() - waited_), std::chrono::steady_clock::duration::zero());
    }
    [[nodiscard]] double elapsed_ms() const { return std::chrono::duration<double, std::milli>(elapsed()).count(); }

private:
    /// The calling thread's run-queue wait so far (the second of schedstat's three fields).
    static std::chrono::nanoseconds runqueue_wait() {
        std::ifstream f("/proc/thread-self/schedstat");
        long long on_cpu = 0;
        long long waiting = 0;
        if (!(f >> on_cpu >> waiting)) return std::chrono::nanoseconds::zero();
        return std::chrono::nanoseconds(waiting);
    }

    std::chrono::steady_clock::time_point start_;
    std::chrono::nanoseconds waited_;
};

}  // namespace redis_it
