// A loopback TCP server whose answers have a long tail, and a load of concurrent operations
// against it: shared by the Asio hedging test (correctness) and bench/asio_hedge_bench.cpp
// (latency and amplification).
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <random>
#include <thread>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <redress/asio.hpp>

namespace redress_test {

/// Serves 127.0.0.1 on a free port, on a thread and io_context of its own: each request (one
/// byte) is answered (the same byte) after `base`, or, for a `tail_share` of the requests drawn
/// from a generator seeded with `seed`, after `base * tail_factor`. Counts the requests it
/// received. Stops (and joins its thread) when destroyed.
class TailServer {
public:
    struct Options {
        std::chrono::microseconds base{std::chrono::milliseconds(5)};
        int tail_factor = 10;
        double tail_share = 0.05;
        std::uint64_t seed = 42;
    };

    explicit TailServer(Options options)
        : options_(options), acceptor_(io_, {asio::ip::address_v4::loopback(), 0}), rng_(options.seed) {
        asio::co_spawn(io_, accept(), asio::detached);
        thread_ = std::thread([this] { io_.run(); });
    }
    TailServer(const TailServer&) = delete;
    TailServer& operator=(const TailServer&) = delete;
    ~TailServer() {
        io_.stop();
        thread_.join();
    }

    [[nodiscard]] asio::ip::tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }
    [[nodiscard]] long requests() const noexcept { return requests_.load(); }

private:
    asio::awaitable<void> accept() {
        for (;;) {
            auto socket = co_await acceptor_.async_accept(asio::use_awaitable);
            asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
        }
    }

    asio::awaitable<void> serve(asio::ip::tcp::socket socket) {
        try {
            for (char byte = 0;;) {
                co_await asio::async_read(socket, asio::buffer(&byte, 1), asio::use_awaitable);
                requests_.fetch_add(1);
                const bool slow = std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < options_.tail_share;
                asio::steady_timer timer(io_, slow ? options_.base * options_.tail_factor : options_.base);
                co_await timer.async_wait(asio::use_awaitable);
                co_await asio::async_write(socket, asio::buffer(&byte, 1), asio::use_awaitable);
            }
        } catch (const std::exception&) {
            // the client closed its connection (a cancelled hedge, or its last request)
        }
    }

    Options options_;
    asio::io_context io_;
    asio::ip::tcp::acceptor acceptor_;
    std::mt19937_64 rng_;
    std::atomic<long> requests_{0};
    std::thread thread_;
};

/// Connections to the server, open ahead and kept between requests, on one io_context run by
/// one thread: a request takes an idle connection (or opens one), and gives it back once
/// answered; a request cancelled midway closes its own (its answer may still come).
class Connections {
public:
    explicit Connections(asio::ip::tcp::endpoint server) : server_(server) {}

    /// Opens `n` connections on `io` (run it to finish).
    void open(asio::io_context& io, int n) {
        for (int i = 0; i < n; ++i) {
            asio::co_spawn(
                io,
                [this]() -> asio::awaitable<void> {
                    asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
                    co_await socket.async_connect(server_, asio::use_awaitable);
                    idle_.push_back(std::move(socket));
                },
                asio::detached);
        }
    }

    /// One request: send a byte, read the answer.
    asio::awaitable<char> ask() {
        asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
        if (idle_.empty()) {
            co_await socket.async_connect(server_, asio::use_awaitable);
        } else {
            socket = std::move(idle_.back());
            idle_.pop_back();
        }
        char byte = 'x';
        co_await asio::async_write(socket, asio::buffer(&byte, 1), asio::use_awaitable);
        co_await asio::async_read(socket, asio::buffer(&byte, 1), asio::use_awaitable);
        idle_.push_back(std::move(socket));
        co_return byte;
    }

private:
    asio::ip::tcp::endpoint server_;
    std::vector<asio::ip::tcp::socket> idle_;
};

/// What a load of operations did: the latency of each successful one, and the attempts the
/// policy started in all.
struct LoadResult {
    std::vector<std::chrono::nanoseconds> latencies;
    int failed = 0;
    long attempts = 0;

    /// The `p` quantile (nearest rank) of the latencies.
    [[nodiscard]] std::chrono::nanoseconds quantile(double p) const {
        std::vector<std::chrono::nanoseconds> sorted = latencies;
        std::sort(sorted.begin(), sorted.end());
        if (sorted.empty()) return {};
        const auto rank = std::min(sorted.size() - 1, static_cast<std::size_t>(p * static_cast<double>(sorted.size())));
        return sorted[rank];
    }
};

/// Starts `operations` operations at once under `policy`, on one io_context run by this
/// thread, each asking `server` once (with the policy's attempts and hedges). Two
/// connections per operation are opened first (not timed).
template <class PolicyT>
LoadResult run_load(const PolicyT& policy, asio::ip::tcp::endpoint server, int operations) {
    asio::io_context io;
    Connections connections(server);
    connections.open(io, 2 * operations);
    io.run();
    io.restart();
    LoadResult result;
    for (int i = 0; i < operations; ++i) {
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                const auto start = std::chrono::steady_clock::now();
                const auto out = co_await policy.async_execute([&connections] { return connections.ask(); });
                result.attempts += out.attempts;
                if (out.ok && out.value == 'x') {
                    result.latencies.push_back(std::chrono::steady_clock::now() - start);
                } else {
                    ++result.failed;
                }
            },
            asio::detached);
    }
    io.run();
    return result;
}

/// Raises this process's limit of open files to at least `needed` when the hard limit allows
/// (each operation has two connections: two client sockets and two server sockets).
inline void raise_open_files_limit(rlim_t needed) {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= needed) return;
    limit.rlim_cur = std::min(needed, limit.rlim_max);
    setrlimit(RLIMIT_NOFILE, &limit);
}

}  // namespace redress_test
