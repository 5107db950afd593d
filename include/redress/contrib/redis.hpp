// Fleet-wide state kept in Redis, with hiredis. `RedisBudget`: a `BudgetBackend` whose counts
// live under one Redis key shared by every process that names it, in two forms (a window cap
// and a ratio of recent requests). `RedisCircuitBreakerStore`: a `BreakerStore`, so the
// `CircuitBreaker`s of a fleet open together and lease one probe. Each call is one round trip
// running an atomic Lua script on the server's clock; a slow or unreachable Redis costs a call
// at most its timeout (docs/fleet.md).
#pragma once

#include <hiredis/hiredis.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <redress/backoff_context.hpp>
#include <redress/budget.hpp>
#include <redress/circuit_breaker.hpp>
#include <redress/clock.hpp>
#include <redress/errors.hpp>
#include <redress/strategies.hpp>

namespace redress::contrib {

// ---- options -----------------------------------------------------------------------------

/// What a `RedisBudget` does when Redis does not answer within its timeout.
enum class FailureMode : std::uint8_t {
    /// Ask the local fallback budget: `AdmittedUnavailable` or `RefusedUnavailable`.
    FailOpen,
    /// Refuse the retry: `RefusedUnavailable`.
    FailClosed,
};

/// The window form: at most `max_retries` retries within any `window`, fleet-wide.
struct RedisWindowLimit {
    /// Retries admitted within any `window`; must be >= 0. Default 100.
    int max_retries = 100;
    /// The rolling window, counted in whole microseconds of the server's clock (rounded up);
    /// must be >= 1 ms. Default 60 s.
    Duration window = std::chrono::seconds(60);
};

/// The ratio form: retries in the last `ttl` <= `ratio` × requests in the last `ttl` +
/// `min_retries_per_second` × `ttl`, fleet-wide. Requests are told with `record_request()`.
struct RedisRatioLimit {
    /// Retries allowed per request; finite, >= 0. Default 0.2.
    double ratio = 0.2;
    /// How long requests and retries are remembered; >= 10 ms. Default 10 s.
    Duration ttl = std::chrono::seconds(10);
    /// Retries allowed per second of `ttl` without any request; finite, >= 0. Default 10.
    double min_retries_per_second = 10.0;
};

/// Settings of a `RedisBudget`. Validated at construction: an invalid one throws
/// `InvalidOption` (component `"RedisBudgetOptions"`) naming the option.
struct RedisBudgetOptions {
    /// The server's address. Give an IP address: a host name is resolved by the system's
    /// resolver, outside `timeout`. Must not be empty. Default "127.0.0.1".
    std::string host = "127.0.0.1";
    /// The server's port, 1..65535. Default 6379.
    int port = 6379;
    /// The Redis key holding the counts: every process naming the same key shares one budget
    /// (the two forms must not share a key). Must not be empty.
    std::string key{};
    /// The budget's form and settings. Default a window of 100 retries per 60 s.
    std::variant<RedisWindowLimit, RedisRatioLimit> limit = RedisWindowLimit{};
    /// The longest a decision waits on Redis: connecting (when a new connection is needed),
    /// sending and reading the answer, all within this one deadline; > 0. Default 50 ms.
    Duration timeout = std::chrono::milliseconds(50);
    /// What a decision answers when Redis did not answer in time. Default `FailOpen`.
    FailureMode failure_mode = FailureMode::FailOpen;
    /// `FailOpen`'s local budget (only with `FailOpen`). Default: a local budget of the same
    /// form and settings (a window `Budget`, or a ratio budget over this process's requests).
    /// A budget that counts requests is told about each request too.
    std::optional<Budget> fallback{};
    /// Idle connections kept for reuse; >= 1. A decision takes an idle one or opens another,
    /// so concurrent decisions never wait for each other. Default 4.
    int connections = 4;
    /// The wait after a failed round trip before the next one is tried (attempt = failures in
    /// a row). Meanwhile decisions go straight to `failure_mode`, and one decision at a time
    /// tries Redis again. Default `decorrelated_jitter({.base = 50ms, .max = 2s})`.
    AnyStrategy reconnect_backoff =
        decorrelated_jitter({.base = std::chrono::milliseconds(50), .max = std::chrono::seconds(2)});
    /// Ratio form: how often a background thread sends the requests counted since the last
    /// round trip (they also ride on every decision). Zero: no thread, requests ride on
    /// decisions only. >= 0. Default 1 s.
    Duration flush_interval = std::chrono::seconds(1);
};

/// One decision of a `RedisBudget`, with what the server said.
struct RedisDecision {
    /// The verdict (`AdmittedUnavailable` / `RefusedUnavailable` when Redis did not answer).
    BudgetVerdict verdict = BudgetVerdict::RefusedUnavailable;
    /// The server's clock when it decided (microseconds since the Unix epoch); empty when
    /// Redis did not answer.
    std::optional<std::chrono::microseconds> server_time{};
    /// Requests this decision delivered to Redis (ratio form; counted before deciding).
    std::int64_t requests_sent = 0;
    /// Retries left after the decision, as the server counted them (0 when Redis did not answer).
    std::int64_t remaining = 0;
};

namespace detail {

// ---- SHA-1, for EVALSHA ----------------------------------------------------------------

/// The SHA-1 of `text` in lowercase hex: the name Redis's script cache gives a script.
[[nodiscard]] inline std::string sha1_hex(std::string_view text) {
    std::array<std::uint32_t, 5> h{0x67452301U, 0xEFCDAB89U, 0x98BADCFEU, 0x10325476U, 0xC3D2E1F0U};
    std::string msg(text);
    const std::uint64_t bits = static_cast<std::uint64_t>(text.size()) * 8;
    msg.push_back(static_cast<char>(0x80));
    while (msg.size() % 64 != 56) msg.push_back('\0');
    for (int i = 7; i >= 0; --i) msg.push_back(static_cast<char>((bits >> (i * 8)) & 0xFFU));
    const auto rotl = [](std::uint32_t x, int n) { return (x << n) | (x >> (32 - n)); };
    for (std::size_t off = 0; off < msg.size(); off += 64) {
        std::array<std::uint32_t, 80> w{};
        for (std::size_t i = 0; i < 16; ++i)
            for (std::size_t b = 0; b < 4; ++b) w[i] = (w[i] << 8) | static_cast<unsigned char>(msg[off + i * 4 + b]);
        for (std::size_t i = 16; i < 80; ++i) w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        auto [a, b, c, d, e] = h;
        for (std::size_t i = 0; i < 80; ++i) {
            std::uint32_t f = 0;
            std::uint32_t k = 0;
            if (i < 20) {
                f = (b & c) | (~b & d), k = 0x5A827999U;
            } else if (i < 40) {
                f = b ^ c ^ d, k = 0x6ED9EBA1U;
            } else if (i < 60) {
                f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDCU;
            } else {
                f = b ^ c ^ d, k = 0xCA62C1D6U;
            }
            const std::uint32_t t = rotl(a, 5) + f + e + k + w[i];
            e = d, d = c, c = rotl(b, 30), b = a, a = t;
        }
        h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
    }
    std::string out;
    for (const auto word : h) {
        std::array<char, 9> buf{};
        std::snprintf(buf.data(), buf.size(), "%08x", word);
        out += buf.data();
    }
    return out;
}

// ---- the scripts -----------------------------------------------------------------------
// Both read the server's clock (TIME: allowed before writes under Redis 7's effect
// replication), decide atomically, and answer {admitted, seconds, microseconds, remaining}.
// A key is given a time to live on every write, so an idle budget leaves nothing behind.

/// Window form: a sorted set of admissions scored by their server time in microseconds.
/// KEYS[1] the set; ARGV: window (µs), max_retries, cost (0: only count).
inline constexpr std::string_view window_script = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
local ok = 0
if cost > 0 and used + cost <= max then
  for i = 1, cost do
    local member = t[1] .. '.' .. t[2] .. ':' .. (used + i)
    while redis.call('ZADD', KEYS[1], now, member) == 0 do member = member .. '+' end
  end
  used = used + cost
  ok = 1
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1)
end
return {ok, t[1], t[2], max - used}
)lua";

/// Ratio form: a hash of per-bucket counts, `q<bucket>` requests and `r<bucket>` retries,
/// buckets of `width` µs; the current bucket and the `buckets` before it are counted, so a
/// request or retry is remembered between `ttl` and `ttl + width`.
/// KEYS[1] the hash; ARGV: width (µs), buckets, ratio, floor (retries), cost (0: only count),
/// requests to add first.
inline constexpr std::string_view ratio_script = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local width = tonumber(ARGV[1])
local buckets = tonumber(ARGV[2])
local ratio = tonumber(ARGV[3])
local floor = tonumber(ARGV[4])
local cost = tonumber(ARGV[5])
local add = tonumber(ARGV[6])
local cur = math.floor(now / width)
local all = redis.call('HGETALL', KEYS[1])
local requests, retries = 0, 0
for i = 1, #all, 2 do
  local field = all[i]
  if tonumber(string.sub(field, 2)) < cur - buckets then
    redis.call('HDEL', KEYS[1], field)
  elseif string.sub(field, 1, 1) == 'q' then
    requests = requests + tonumber(all[i + 1])
  else
    retries = retries + tonumber(all[i + 1])
  end
end
if add > 0 then
  redis.call('HINCRBY', KEYS[1], 'q' .. string.format('%d', cur), add)
  requests = requests + add
end
local allowed = ratio * requests + floor
local ok = 0
if cost > 0 and retries + cost <= allowed then
  redis.call('HINCRBY', KEYS[1], 'r' .. string.format('%d', cur), cost)
  retries = retries + cost
  ok = 1
end
if add > 0 or ok == 1 then redis.call('PEXPIRE', KEYS[1], math.ceil(width * (buckets + 1) / 1000) + 1) end
return {ok, t[1], t[2], math.floor(allowed - retries)}
)lua";

// ---- connections -------------------------------------------------------------------------

/// Blocks SIGPIPE in this thread while it lives, and swallows one it caused: hiredis writes
/// with write(2), which raises SIGPIPE on a connection the server closed (a killed Redis
/// would otherwise kill the process). Costs four system calls (~1 µs, beside a round trip of
/// ~100 µs); leaves a SIGPIPE that was already pending alone.
class SigpipeGuard {
public:
    SigpipeGuard() noexcept {
        sigemptyset(&pipe_);
        sigaddset(&pipe_, SIGPIPE);
        sigset_t pending;
        sigpending(&pending);
        was_pending_ = sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    }
    SigpipeGuard(const SigpipeGuard&) = delete;
    SigpipeGuard& operator=(const SigpipeGuard&) = delete;
    ~SigpipeGuard() {
        if (!was_pending_) {
            sigset_t pending;
            sigpending(&pending);
            if (sigismember(&pending, SIGPIPE) == 1) {
                const timespec zero{};
                sigtimedwait(&pipe_, nullptr, &zero);
            }
        }
        pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }

private:
    sigset_t pipe_{};
    sigset_t old_{};
    bool was_pending_ = false;
};

struct ContextFree {
    void operator()(redisContext* c) const noexcept { redisFree(c); }
};
struct ReplyFree {
    void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

/// A Lua script and the name Redis's script cache gives it.
struct Script {
    explicit Script(std::string source) : text(std::move(source)), sha(sha1_hex(text)) {}
    std::string text;
    std::string sha;
};

/// The integer in `r` (an integer reply, or a string of digits); 0 otherwise.
template <class Int = std::int64_t>
[[nodiscard]] Int reply_number(const redisReply* r) noexcept {
    if (r->type == REDIS_REPLY_INTEGER) return static_cast<Int>(r->integer);
    Int v = 0;
    if (r->type == REDIS_REPLY_STRING) std::from_chars(r->str, r->str + r->len, v);
    return v;
}

/// The checks every Redis client's options share; throws `InvalidOption` for `component`.
template <class Options>
void validate_connection(std::string_view component, const Options& o) {
    const auto fail = [&](std::string_view option, std::string_view rule) {
        redress::detail::invalid_option(component, option, rule);
    };
    if (o.host.empty()) fail("host", "must not be empty");
    if (o.port < 1 || o.port > 65535) fail("port", "must be in 1..65535");
    if (o.key.empty()) fail("key", "must not be empty");
    if (o.timeout <= Duration::zero()) fail("timeout", "must be > 0");
    if (o.connections < 1) fail("connections", "must be >= 1");
    if (!o.reconnect_backoff) fail("reconnect_backoff", "must hold a strategy");
}

/// The way to one Redis server: a pool of non-blocking connections, each round trip bounded
/// by one deadline (poll(2) on the socket), and a backoff gate after failures. Thread-safe.
class RedisLink {
public:
    /// The server, timeout, pool size and backoff of validated `options` (see `validate_connection`).
    template <class Options>
    explicit RedisLink(const Options& options)
        : host_(options.host),
          port_(options.port),
          timeout_(options.timeout),
          idle_max_(static_cast<std::size_t>(options.connections)),
          backoff_(options.reconnect_backoff) {}

    /// Runs `script` (EVALSHA, then EVAL if the server has not cached it) with `keys` and
    /// `args`; the reply, or nothing when Redis did not answer within the timeout, answered
    /// an error, or the link is backing off after a failure.
    [[nodiscard]] Reply eval(const Script& script, const std::vector<std::string>& keys,
                             const std::vector<std::string>& args) {
        const auto now = std::chrono::steady_clock::now();
        if (!pass_gate(now)) return nullptr;
        const auto deadline = now + timeout_;
        std::vector<const char*> argv;
        std::vector<std::size_t> lens;
        const std::string nkeys = std::to_string(keys.size());
        const auto push = [&](std::string_view s) {
            argv.push_back(s.data());
            lens.push_back(s.size());
        };
        push("EVALSHA");
        push(script.sha);
        push(nkeys);
        for (const auto& k : keys) push(k);
        for (const auto& a : args) push(a);
        SigpipeGuard guard;
        const auto generation = generation_.load(std::memory_order_acquire);
        Connection conn = take(generation, deadline);
        Reply reply = conn ? round_trip(conn.get(), argv, lens, deadline) : nullptr;
        if (reply && reply->type == REDIS_REPLY_ERROR &&
            std::string_view(reply->str, reply->len).starts_with("NOSCRIPT")) {
            argv[0] = "EVAL";
            lens[0] = 4;
            argv[1] = script.text.data();
            lens[1] = script.text.size();
            reply = round_trip(conn.get(), argv, lens, deadline);
        }
        if (!reply || reply->type == REDIS_REPLY_ERROR) {
            // The connection's state is unknown after a timeout (the answer may still come):
            // it is closed, and so are the idle ones, which likely share its fate.
            failed(generation, std::chrono::steady_clock::now());
            return nullptr;
        }
        give_back(std::move(conn));
        succeeded();
        return reply;
    }

private:
    struct Connection {
        std::unique_ptr<redisContext, ContextFree> ctx;
        std::uint64_t generation = 0;
        explicit operator bool() const noexcept { return ctx != nullptr; }
        [[nodiscard]] redisContext* get() const noexcept { return ctx.get(); }
    };

    /// True when a round trip may be tried now: no failure since the last success, or the
    /// backoff has elapsed and this call claims the one retry (the others keep failing fast).
    bool pass_gate(std::chrono::steady_clock::time_point now) {
        if (failures_.load(std::memory_order_acquire) == 0) return true;
        auto at = retry_at_.load(std::memory_order_acquire);
        const auto ns = now.time_since_epoch().count();
        if (ns < at) return false;
        // The claim holds others off for one timeout; failing, it sets the next backoff.
        return retry_at_.compare_exchange_strong(at, ns + timeout_.count(), std::memory_order_acq_rel);
    }

    /// Closes the idle connections and backs off, once per outage: decisions that were in
    /// flight together when Redis went away (same `generation`) count as one failure.
    void failed(std::uint64_t generation, std::chrono::steady_clock::time_point now) {
        if (!generation_.compare_exchange_strong(generation, generation + 1, std::memory_order_acq_rel)) return;
        std::vector<Connection> closing;
        {
            const std::lock_guard lock(mutex_);
            closing.swap(idle_);
        }
        const std::lock_guard lock(backoff_mutex_);
        const int n = failures_.load(std::memory_order_relaxed) + 1;
        const Duration sleep = backoff_(BackoffContext{.attempt = n, .prev_sleep = prev_sleep_});
        prev_sleep_ = sleep;
        retry_at_.store(now.time_since_epoch().count() + sleep.count(), std::memory_order_release);
        failures_.store(n, std::memory_order_release);
    }

    void succeeded() {
        if (failures_.load(std::memory_order_acquire) == 0) return;
        const std::lock_guard lock(backoff_mutex_);
        prev_sleep_.reset();
        failures_.store(0, std::memory_order_release);
    }

    /// An idle connection of `generation` (the current one), or a new one connected by `deadline`.
    Connection take(std::uint64_t generation, std::chrono::steady_clock::time_point deadline) {
        {
            const std::lock_guard lock(mutex_);
            while (!idle_.empty()) {
                Connection c = std::move(idle_.back());
                idle_.pop_back();
                if (c.generation == generation) return c;
            }
        }
        Connection c{std::unique_ptr<redisContext, ContextFree>(redisConnectNonBlock(host_.c_str(), port_)),
                     generation};
        if (!c || c.get()->err != 0 || !wait(c.get()->fd, POLLOUT, deadline)) return {};
        int error = 0;
        socklen_t len = sizeof error;
        if (::getsockopt(c.get()->fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) return {};
        return c;
    }

    void give_back(Connection c) {
        if (c.generation != generation_.load(std::memory_order_acquire)) return;
        const std::lock_guard lock(mutex_);
        if (idle_.size() < idle_max_) idle_.push_back(std::move(c));
    }

    /// Sends one command and reads its reply on the non-blocking `c`, waiting on the socket
    /// no later than `deadline`.
    static Reply round_trip(redisContext* c, const std::vector<const char*>& argv, const std::vector<std::size_t>& lens,
                            std::chrono::steady_clock::time_point deadline) {
        if (redisAppendCommandArgv(c, static_cast<int>(argv.size()), const_cast<const char**>(argv.data()),
                                   lens.data()) != REDIS_OK)
            return nullptr;
        for (int done = 0; !done;) {
            if (redisBufferWrite(c, &done) != REDIS_OK) return nullptr;
            if (!done && !wait(c->fd, POLLOUT, deadline)) return nullptr;
        }
        for (;;) {
            void* reply = nullptr;
            if (redisGetReplyFromReader(c, &reply) != REDIS_OK) return nullptr;
            if (reply != nullptr) return Reply(static_cast<redisReply*>(reply));
            if (!wait(c->fd, POLLIN, deadline) || redisBufferRead(c) != REDIS_OK) return nullptr;
        }
    }

    /// Waits until `fd` is ready for `events`; false at `deadline` or on an error.
    static bool wait(int fd, short events, std::chrono::steady_clock::time_point deadline) {
        for (;;) {
            const auto left = deadline - std::chrono::steady_clock::now();
            if (left <= Duration::zero()) return false;
            const auto s = std::chrono::duration_cast<std::chrono::seconds>(left);
            const timespec ts{
                static_cast<time_t>(s.count()),
                static_cast<long>(std::chrono::duration_cast<std::chrono::nanoseconds>(left - s).count())};
            pollfd p{fd, events, 0};
            const int r = ::ppoll(&p, 1, &ts, nullptr);
            if (r > 0) return (p.revents & (events | POLLHUP | POLLERR)) != 0;
            if (r == 0) return false;
            if (errno != EINTR) return false;
        }
    }

    std::string host_;
    int port_;
    Duration timeout_;
    std::size_t idle_max_;
    AnyStrategy backoff_;
    std::mutex mutex_;
    std::vector<Connection> idle_;
    std::atomic<std::uint64_t> generation_{0};
    std::mutex backoff_mutex_;
    std::optional<Duration> prev_sleep_;
    std::atomic<int> failures_{0};
    std::atomic<Duration::rep> retry_at_{0};
};

/// `x` written so that Lua's `tonumber` reads back the same double.
[[nodiscard]] inline std::string exact(double x) {
    std::array<char, 32> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), x);
    return {buf.data(), r.ptr};
}

/// Whole microseconds of `d`, rounded up.
[[nodiscard]] inline std::int64_t micros_up(Duration d) {
    return std::chrono::ceil<std::chrono::microseconds>(d).count();
}

}  // namespace detail

// ---- the budget ----------------------------------------------------------------------------

/// A retry budget kept in Redis under `RedisBudgetOptions::key`: every process (and every
/// `RedisBudget`) naming the same key draws from one budget. Plug it into policies with
/// `redis_budget(options)` or `Budget(std::make_shared<RedisBudget>(options))`.
///
/// Each decision is one round trip running an atomic Lua script (EVALSHA; EVAL when the
/// server has not cached it) that reads the server's clock, so the fleet's clocks need not
/// agree. The window form keeps a sorted set of admissions (memory O(max_retries)); the
/// ratio form keeps 11 bucket counts of requests and 11 of retries. Keys expire by
/// themselves once the budget is idle.
///
/// The ratio form counts requests locally (`record_request()`: one relaxed atomic add, no
/// I/O) and sends the count with the next decision and from a background thread every
/// `flush_interval`. A count whose round trip fails, or taken while the budget backs off, is
/// dropped, never sent twice (docs/fleet.md: what this under- and over-admits).
///
/// A decision waits on Redis at most `timeout` (connecting included); when Redis did not
/// answer, the verdict is `AdmittedUnavailable` / `RefusedUnavailable` (see `FailureMode`),
/// and the next round trip is tried after `reconnect_backoff`, decisions in between going
/// straight to the failure mode. Thread-safe; connections are pooled.
class RedisBudget final : public BudgetBackend {
public:
    /// Validates `options` (throws `InvalidOption` naming the option) and starts the ratio
    /// form's flusher. Does not connect: the first decision does.
    explicit RedisBudget(RedisBudgetOptions options) : options_(std::move(options)) {
        validate();
        if (const auto* w = std::get_if<RedisWindowLimit>(&options_.limit)) {
            window_us_ = detail::micros_up(w->window);
        } else {
            const auto& r = std::get<RedisRatioLimit>(options_.limit);
            ratio_ = true;
            const std::int64_t ttl_us = detail::micros_up(r.ttl);
            width_us_ = (ttl_us + ratio_buckets - 1) / ratio_buckets;
            floor_ = r.min_retries_per_second * std::chrono::duration<double>(r.ttl).count();
        }
        if (options_.failure_mode == FailureMode::FailOpen && !options_.fallback)
            options_.fallback = local_equivalent();
        fallback_counts_ = options_.fallback && options_.fallback->counts_requests();
        script_.emplace(std::string(ratio_ ? detail::ratio_script : detail::window_script));
        link_ = std::make_unique<detail::RedisLink>(options_);
        if (ratio_ && options_.flush_interval > Duration::zero())
            flusher_ = std::jthread([this](std::stop_token stop) { flush_loop(stop); });
    }

    ~RedisBudget() override {
        if (flusher_.joinable()) {
            flusher_.request_stop();
            flusher_.join();
        }
    }

    /// One retry of `cost` units, with the server's time and count (see `RedisDecision`).
    /// Waits on Redis at most `timeout`.
    [[nodiscard]] RedisDecision decide(int cost = 1) const {
        if (cost < 1) throw std::invalid_argument("redress: RedisBudget::decide: cost must be >= 1");
        return run(cost);
    }

    [[nodiscard]] BudgetVerdict consume(int cost) override { return decide(cost).verdict; }

    /// Ratio form: counts one request locally (a relaxed atomic add; no I/O). Also tells a
    /// fallback budget that counts requests.
    void record_request() noexcept override {
        pending_.fetch_add(1, std::memory_order_relaxed);
        if (fallback_counts_) options_.fallback->record_request();
    }

    /// True for the ratio form.
    [[nodiscard]] bool counts_requests() const noexcept override { return ratio_; }

    /// Retries left fleet-wide (one round trip, which also delivers counted requests); when
    /// Redis does not answer, the fallback's (`FailOpen`) or 0 (`FailClosed`).
    [[nodiscard]] int remaining() const override {
        const RedisDecision d = run(0);
        if (d.server_time) return static_cast<int>(d.remaining < 0 ? 0 : d.remaining);
        return options_.fallback ? options_.fallback->remaining() : 0;
    }

    /// The validated options (with the default fallback filled in).
    [[nodiscard]] const RedisBudgetOptions& options() const noexcept { return options_; }

    /// Buckets of the ratio form's `ttl` (a count is remembered `ttl` to `ttl + ttl / 10`).
    static constexpr std::int64_t ratio_buckets = 10;

private:
    void validate() const {
        const auto fail = [](std::string_view option, std::string_view rule) {
            redress::detail::invalid_option("RedisBudgetOptions", option, rule);
        };
        detail::validate_connection("RedisBudgetOptions", options_);
        if (options_.flush_interval < Duration::zero()) fail("flush_interval", "must be >= 0");
        if (options_.fallback && options_.failure_mode == FailureMode::FailClosed)
            fail("fallback", "is used only with FailureMode::FailOpen");
        if (const auto* w = std::get_if<RedisWindowLimit>(&options_.limit)) {
            if (w->max_retries < 0) fail("limit.max_retries", "must be >= 0");
            if (w->window < std::chrono::milliseconds(1)) fail("limit.window", "must be >= 1 ms");
        } else {
            const auto& r = std::get<RedisRatioLimit>(options_.limit);
            // The bounds of the local ratio budget (the default fallback has the same settings).
            if (!(r.ratio >= 0 && r.ratio <= 1000)) fail("limit.ratio", "must be in [0, 1000]");
            if (r.ttl < std::chrono::milliseconds(10)) fail("limit.ttl", "must be >= 10 ms");
            if (!std::isfinite(r.min_retries_per_second) || r.min_retries_per_second < 0)
                fail("limit.min_retries_per_second", "must be finite and >= 0");
            if (r.min_retries_per_second * std::chrono::duration<double>(r.ttl).count() > 2147483647.0)
                fail("limit.min_retries_per_second", "times limit.ttl must be at most 2147483647 retries");
        }
    }

    /// The default fallback: a local budget of the same form and settings (a window budget, or
    /// a ratio budget that counts this process's requests).
    [[nodiscard]] Budget local_equivalent() const {
        if (const auto* w = std::get_if<RedisWindowLimit>(&options_.limit)) return Budget{w->max_retries, w->window};
        const auto& r = std::get<RedisRatioLimit>(options_.limit);
        return Budget{RatioBudgetOptions{.ratio = r.ratio, .ttl = r.ttl, .min_retries_per_second = r.min_retries_per_second}};
    }

    /// One round trip deciding `cost` retries (0: only count); falls back when Redis did not answer.
    RedisDecision run(int cost) const {
        const std::int64_t sent = ratio_ ? pending_.exchange(0, std::memory_order_relaxed) : 0;
        RedisDecision d;
        if (detail::Reply reply = link_->eval(*script_, {options_.key}, arguments(cost, sent));
            reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 4) {
            const auto number = [&](std::size_t i) { return detail::reply_number(reply->element[i]); };
            d.verdict = number(0) == 1 ? BudgetVerdict::Admitted : BudgetVerdict::Refused;
            d.server_time = std::chrono::seconds(number(1)) + std::chrono::microseconds(number(2));
            d.requests_sent = sent;
            d.remaining = number(3);
            return d;
        }
        if (cost > 0 && options_.failure_mode == FailureMode::FailOpen)
            d.verdict = options_.fallback->consume(cost) ? BudgetVerdict::AdmittedUnavailable
                                                         : BudgetVerdict::RefusedUnavailable;
        return d;
    }

    [[nodiscard]] std::vector<std::string> arguments(int cost, std::int64_t requests) const {
        if (!ratio_)
            return {std::to_string(window_us_), std::to_string(std::get<RedisWindowLimit>(options_.limit).max_retries),
                    std::to_string(cost)};
        return {std::to_string(width_us_),
                std::to_string(ratio_buckets),
                detail::exact(std::get<RedisRatioLimit>(options_.limit).ratio),
                detail::exact(floor_),
                std::to_string(cost),
                std::to_string(requests)};
    }

    void flush_loop(const std::stop_token& stop) const {
        std::mutex m;
        std::condition_variable_any wake;  // only the stop request wakes it early
        std::unique_lock lock(m);
        for (;;) {
            (void)wake.wait_for(lock, stop, options_.flush_interval, [] { return false; });
            if (stop.stop_requested()) return;
            if (pending_.load(std::memory_order_relaxed) > 0) (void)run(0);
        }
    }

    RedisBudgetOptions options_;
    bool ratio_ = false;
    bool fallback_counts_ = false;
    std::int64_t window_us_ = 0;
    std::int64_t width_us_ = 0;
    double floor_ = 0;
    std::optional<detail::Script> script_;
    std::unique_ptr<detail::RedisLink> link_;
    mutable std::atomic<std::int64_t> pending_{0};  // requests counted, not yet sent
    std::jthread flusher_;                          // last: stopped before the members it reads go
};

/// A `Budget` kept in Redis: `redress::Budget b = redis_budget({.key = "payments", ...})`,
/// ready for `Retry::budget`. Throws `InvalidOption` on invalid options.
[[nodiscard]] inline Budget redis_budget(RedisBudgetOptions options) {
    return Budget(std::make_shared<RedisBudget>(std::move(options)));
}

// ---- the breaker store ---------------------------------------------------------------------

/// Settings of a `RedisCircuitBreakerStore`. Validated at construction: an invalid one throws
/// `InvalidOption` (component `"RedisBreakerStoreOptions"`) naming the option.
struct RedisBreakerStoreOptions {
    /// The server's address (an IP address: a host name is resolved outside `timeout`). Must
    /// not be empty. Default "127.0.0.1".
    std::string host = "127.0.0.1";
    /// The server's port, 1..65535. Default 6379.
    int port = 6379;
    /// Names the shared breaker: every process naming the same key shares one breaker. The
    /// store uses this key (the opening on record), `key + ":probe"` (the probe lease) and
    /// `key + ":generation"` (the counter); on Redis Cluster give a hash tag (`"{payments}"`)
    /// so the three share a slot. Must not be empty.
    std::string key{};
    /// The longest a call waits on Redis: connecting (when a new connection is needed),
    /// sending and reading the answer, all within this one deadline; > 0. Default 50 ms.
    Duration timeout = std::chrono::milliseconds(50);
    /// Idle connections kept for reuse; >= 1. Default 2 (a breaker asks once per refresh).
    int connections = 2;
    /// The wait after a failed round trip before the next one is tried; meanwhile calls answer
    /// nothing at once. Default `decorrelated_jitter({.base = 50ms, .max = 2s})`.
    AnyStrategy reconnect_backoff =
        decorrelated_jitter({.base = std::chrono::milliseconds(50), .max = std::chrono::seconds(2)});
    /// How long an opening's record outlives its last write beyond what it needs (its recovery
    /// timeout, or a granted probe lease): a fleet whose breakers all stop calling leaves
    /// nothing behind, and one that calls again within it still probes once (an opening that
    /// expired reads as closed: the breakers following it close without a probe). Choose it
    /// longer than the fleet may go without calls. >= 1 ms. Default 1 h.
    Duration record_margin = std::chrono::hours(1);
};

namespace detail {

/// The breaker store's scripts: this prelude, then one call's body. KEYS: the opening on
/// record (a hash: generation, opened and recovery in µs of the server's clock), the probe
/// lease (the generation it leases, with a PX expiry), the generation counter. ARGV[1]: the
/// record margin (µs). Each answers {open, generation, open_for (µs), recovery (µs), granted,
/// seconds, microseconds}, the last two the server's clock.
inline constexpr std::string_view breaker_prelude = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local margin = math.ceil(tonumber(ARGV[1]) / 1000)
local function state(granted)
  local r = redis.call('HMGET', KEYS[1], 'generation', 'opened', 'recovery')
  if not r[1] then return {0, '0', 0, 0, 0, t[1], t[2]} end
  return {1, r[1], math.max(0, now - tonumber(r[2])), tonumber(r[3]), granted, t[1], t[2]}
end
)lua";

/// ARGV[2]: the recovery timeout (µs). A counter that expired starts again from the server's
/// clock in µs, above every generation it gave before.
inline constexpr std::string_view breaker_open_body = R"lua(
if redis.call('EXISTS', KEYS[3]) == 0 then redis.call('SET', KEYS[3], string.format('%d', now)) end
local generation = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], 'generation', string.format('%d', generation), 'opened', string.format('%d', now),
  'recovery', ARGV[2])
redis.call('DEL', KEYS[2])
local ttl = math.ceil(tonumber(ARGV[2]) / 1000) + margin
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[3], ttl)
return state(0)
)lua";

/// ARGV[2]: the generation, ARGV[3]: the lease (µs). A granted lease keeps the record at least
/// the lease and the margin.
inline constexpr std::string_view breaker_probe_body = R"lua(
local r = redis.call('HMGET', KEYS[1], 'generation', 'opened', 'recovery')
if r[1] == ARGV[2] and now - tonumber(r[2]) >= tonumber(r[3]) and redis.call('EXISTS', KEYS[2]) == 0 then
  local lease = math.ceil(tonumber(ARGV[3]) / 1000)
  redis.call('SET', KEYS[2], r[1], 'PX', lease)
  if redis.call('PTTL', KEYS[1]) < lease + margin then redis.call('PEXPIRE', KEYS[1], lease + margin) end
  return state(1)
end
return state(0)
)lua";

/// ARGV[2]: the generation the probe closed.
inline constexpr std::string_view breaker_close_body = R"lua(
if redis.call('HGET', KEYS[1], 'generation') == ARGV[2] then redis.call('DEL', KEYS[1], KEYS[2]) end
return state(0)
)lua";

inline constexpr std::string_view breaker_read_body = "return state(0)\n";

}  // namespace detail

/// A `BreakerStore` kept in Redis under `RedisBreakerStoreOptions::key`: give one to the
/// `CircuitBreakerOptions::store` of each process's breaker, and failures in one process open
/// the breaker in all (within their `store_refresh`), and after the recovery timeout one probe
/// is leased fleet-wide (docs/fleet.md, "Sharing a circuit breaker").
///
/// Each call is one round trip running an atomic Lua script (EVALSHA; EVAL when the server has
/// not cached it) on the server's clock, so the fleet's clocks need not agree. Generations come
/// from a counter on the server (INCR), so no two openings share one. The record expires
/// `recovery_timeout + record_margin` after its last write (a granted lease: `lease +
/// record_margin`), the lease after `lease` (PX).
///
/// A call waits on Redis at most `timeout` (connecting included); when Redis does not answer
/// it answers nothing, the breaker decides locally, and the next round trip is tried after
/// `reconnect_backoff`, calls in between answering nothing at once. Never throws from a call.
/// Thread-safe; connections are pooled.
class RedisCircuitBreakerStore final : public BreakerStore {
public:
    /// Validates `options` (throws `InvalidOption` naming the option). Does not connect: the
    /// first call does.
    explicit RedisCircuitBreakerStore(RedisBreakerStoreOptions options)
        : options_(std::move(options)),
          keys_{options_.key, options_.key + ":probe", options_.key + ":generation"},
          margin_(std::to_string(detail::micros_up(options_.record_margin))) {
        detail::validate_connection("RedisBreakerStoreOptions", options_);
        if (options_.record_margin < std::chrono::milliseconds(1))
            redress::detail::invalid_option("RedisBreakerStoreOptions", "record_margin", "must be >= 1 ms");
        link_ = std::make_unique<detail::RedisLink>(options_);
    }

    [[nodiscard]] std::optional<BreakerFleetState> read() override { return run(scripts().read, {}); }

    [[nodiscard]] std::optional<BreakerFleetState> publish_open(Duration recovery_timeout) override {
        return run(scripts().open, {micros(recovery_timeout)});
    }

    [[nodiscard]] std::optional<BreakerFleetState> acquire_probe(std::uint64_t generation, Duration lease) override {
        return run(scripts().probe, {std::to_string(generation), micros(lease)});
    }

    [[nodiscard]] std::optional<BreakerFleetState> publish_closed(std::uint64_t generation) override {
        return run(scripts().close, {std::to_string(generation)});
    }

    /// The server's clock (µs since the Unix epoch) at the latest answer, on any thread; empty
    /// before the first. For logs that line up the fleet's calls on one clock.
    [[nodiscard]] std::optional<std::chrono::microseconds> last_server_time() const noexcept {
        const auto us = server_us_.load(std::memory_order_acquire);
        if (us == 0) return std::nullopt;
        return std::chrono::microseconds(us);
    }

    /// The validated options.
    [[nodiscard]] const RedisBreakerStoreOptions& options() const noexcept { return options_; }

private:
    struct Scripts {
        detail::Script read, open, probe, close;
    };

    /// The four scripts, their SHA-1s computed once per process.
    static const Scripts& scripts() {
        static const Scripts all{with_prelude(detail::breaker_read_body), with_prelude(detail::breaker_open_body),
                                 with_prelude(detail::breaker_probe_body), with_prelude(detail::breaker_close_body)};
        return all;
    }

    static detail::Script with_prelude(std::string_view body) {
        std::string text(detail::breaker_prelude);
        text += body;
        return detail::Script(std::move(text));
    }

    /// Microseconds of `d` (rounded up, at least 0) as the scripts read them.
    static std::string micros(Duration d) { return std::to_string(std::max<std::int64_t>(0, detail::micros_up(d))); }

    std::optional<BreakerFleetState> run(const detail::Script& script, std::vector<std::string> args) noexcept {
        try {
            args.insert(args.begin(), margin_);
            const detail::Reply reply = link_->eval(script, keys_, args);
            if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 7) return std::nullopt;
            const auto number = [&](std::size_t i) { return detail::reply_number(reply->element[i]); };
            server_us_.store(number(5) * 1'000'000 + number(6), std::memory_order_release);
            BreakerFleetState s;
            s.open = number(0) == 1;
            s.generation = detail::reply_number<std::uint64_t>(reply->element[1]);
            s.open_for = std::chrono::microseconds(number(2));
            s.recovery_timeout = std::chrono::microseconds(number(3));
            s.probe_granted = number(4) == 1;
            return s;
        } catch (...) {  // allocation failure: no answer, as the interface asks
            return std::nullopt;
        }
    }

    RedisBreakerStoreOptions options_;
    std::vector<std::string> keys_;
    std::string margin_;
    std::unique_ptr<detail::RedisLink> link_;
    std::atomic<std::int64_t> server_us_{0};
};

}  // namespace redress::contrib
