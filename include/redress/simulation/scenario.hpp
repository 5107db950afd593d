// Scenario: the clients, the downstream and the fault of one simulated run, validated, and
// the named scenarios of docs/simulation.md.
#pragma once

#include <array>
#include <chrono>
#include <string>
#include <string_view>

#include <redress/clock.hpp>
#include <redress/errors.hpp>

namespace redress::simulation {

/// What goes wrong with the downstream during the fault window.
enum class FaultKind {
    None,       ///< nothing: the baseline
    Blip,       ///< a share of attempts (`error_rate`) fail fast with a 5xx
    Outage,     ///< every attempt fails fast with a 5xx
    Overload,   ///< service slows down `slowdown` times: queues and timeouts follow
    RateLimit,  ///< at most `rate_limit` attempts/s admitted; the rest get 429 + Retry-After
};

/// The fault: a window of virtual time, counted from the start of the run.
struct Fault {
    /// What goes wrong.
    FaultKind kind = FaultKind::Overload;
    /// When it starts, from the start of the run, >= 0.
    Duration start = std::chrono::seconds(30);
    /// How long it lasts, >= 0.
    Duration duration = std::chrono::seconds(10);
    /// Blip: the probability that an attempt fails, in [0, 1].
    double error_rate = 0.5;
    /// Overload: how many times slower each request is served, >= 1.
    double slowdown = 4.0;
    /// RateLimit: attempts admitted per second, > 0.
    double rate_limit = 500.0;
    /// RateLimit: the Retry-After the downstream answers with, >= 0.
    Duration retry_after = std::chrono::seconds(1);

    /// When it ends, from the start of the run.
    [[nodiscard]] Duration end() const noexcept { return start + duration; }
};

/// One simulated run: who calls, what they call, and what breaks. An aggregate with
/// designated initializers; `validate()` (called by `simulate`) throws `InvalidOption`
/// naming the first invalid option.
struct Scenario {
    // ---- clients ---------------------------------------------------------------------------
    /// Client count. Closed loop: each client sends a request, waits for its outcome, thinks,
    /// and repeats. Open loop: informational only (arrivals are one Poisson stream).
    int clients = 10'000;
    /// Open loop when > 0: requests per second in all, Poisson arrivals, whatever the
    /// downstream does (the realistic case for a service with many independent callers).
    double request_rate = 1'000.0;
    /// Closed loop: mean think time between a client's requests (exponential), >= 0.
    Duration think_time = std::chrono::seconds(10);
    /// Closed loop: requests per client; 0 means until `duration` ends.
    int requests_per_client = 0;
    /// New requests start only before this; the run then drains what is in flight.
    Duration duration = std::chrono::seconds(120);

    // ---- the downstream --------------------------------------------------------------------
    /// Requests served at once, >= 1. Capacity = concurrency / service_time requests/s.
    int concurrency = 100;
    /// Mean service time of one request, > 0 (log-normal with `service_time_cv`).
    Duration service_time = std::chrono::milliseconds(50);
    /// Coefficient of variation of the service time, >= 0 (0: every request takes the mean).
    double service_time_cv = 0.5;
    /// A long latency tail: this share of attempts, in [0, 1], is served `tail_slowdown` times
    /// slower (a garbage-collection pause, a slow disk), each attempt drawn on its own, so a
    /// hedge rarely shares its first attempt's bad luck. 0: no tail beyond `service_time_cv`.
    double tail_share = 0.0;
    /// How many times slower a tail attempt is served, >= 1.
    double tail_slowdown = 10.0;
    /// Requests waiting for a server at most, >= 0; an attempt beyond gets a fast 503.
    int queue_limit = 5'000;
    /// Mean one-way network delay, >= 0.
    Duration network_delay = std::chrono::milliseconds(1);
    /// Standard deviation of the network delay, >= 0 (a folded normal, as in the AWS model).
    Duration network_jitter = Duration::zero();
    /// The client's timeout for one attempt, > 0: a slower answer is an `AttemptTimeoutError`
    /// to the client, while the downstream still does the work (the waste behind metastability).
    Duration timeout = std::chrono::seconds(1);
    /// Every request is a read then a conditional write of one shared row (optimistic
    /// concurrency, as in the AWS backoff study): a write after another client's fails with
    /// `ConcurrencyError`. No queue or capacity: only the network delays apply.
    bool shared_row = false;

    /// The fault (`kind = None` for a baseline).
    Fault fault{};

    // ---- the report ------------------------------------------------------------------------
    /// Width of one time-series interval, > 0.
    Duration interval = std::chrono::seconds(1);
    /// An interval whose completed requests succeed at least this often counts as healthy.
    double healthy_success_rate = 0.95;

    /// Throws `InvalidOption` naming the first invalid option.
    void validate() const {
        require(clients >= 1, "clients", "must be >= 1");
        require(request_rate >= 0.0 && request_rate <= 1e7, "request_rate", "must be in [0, 1e7]");
        require(think_time >= Duration::zero(), "think_time", "must be >= 0");
        require(requests_per_client >= 0, "requests_per_client", "must be >= 0");
        require(duration > Duration::zero(), "duration", "must be > 0");
        require(concurrency >= 1, "concurrency", "must be >= 1");
        require(service_time > Duration::zero(), "service_time", "must be > 0");
        require(service_time_cv >= 0.0 && service_time_cv <= 10.0, "service_time_cv", "must be in [0, 10]");
        require(tail_share >= 0.0 && tail_share <= 1.0, "tail_share", "must be in [0, 1]");
        require(tail_slowdown >= 1.0 && tail_slowdown <= 1e6, "tail_slowdown", "must be in [1, 1e6]");
        require(queue_limit >= 0, "queue_limit", "must be >= 0");
        require(network_delay >= Duration::zero(), "network_delay", "must be >= 0");
        require(network_jitter >= Duration::zero(), "network_jitter", "must be >= 0");
        require(timeout > Duration::zero(), "timeout", "must be > 0");
        require(fault.start >= Duration::zero(), "fault.start", "must be >= 0");
        require(fault.duration >= Duration::zero(), "fault.duration", "must be >= 0");
        require(fault.error_rate >= 0.0 && fault.error_rate <= 1.0, "fault.error_rate", "must be in [0, 1]");
        require(fault.slowdown >= 1.0 && fault.slowdown <= 1e6, "fault.slowdown", "must be in [1, 1e6]");
        require(fault.rate_limit > 0.0, "fault.rate_limit", "must be > 0");
        require(fault.retry_after >= Duration::zero(), "fault.retry_after", "must be >= 0");
        require(interval > Duration::zero(), "interval", "must be > 0");
        // A finer series than 1/100,000 of the run is noise and costs memory.
        require(duration / interval <= 100'000, "interval", "must be at least duration / 100000");
        require(healthy_success_rate >= 0.0 && healthy_success_rate <= 1.0, "healthy_success_rate",
                "must be in [0, 1]");
    }

    /// True when clients are an open-loop Poisson stream.
    [[nodiscard]] bool open_loop() const noexcept { return request_rate > 0.0; }

private:
    static void require(bool ok, std::string_view option, std::string_view rule) {
        if (!ok) throw InvalidOption("Scenario", option, rule);
    }
};

/// The names `scenario(name)` knows, the default first.
inline constexpr std::array<std::string_view, 7> scenario_names{"overload", "blip",   "outage",   "rate-limit",
                                                                "aws-occ",  "steady", "slow-tail"};

/// A named scenario (docs/simulation.md): "overload" (the default: 10 s at a quarter of the
/// capacity, the metastable case), "blip" (half the attempts fail for 10 s), "outage" (all
/// fail for 10 s), "rate-limit" (429 + Retry-After above 500/s for 10 s), "aws-occ" (100
/// clients writing one row once, the AWS backoff study), "steady" (no fault), "slow-tail" (5 %
/// of attempts ten times slower, and 10 s at 1.3 times slower: where hedging helps, then
/// where it hurts). Throws `InvalidOption` for another name.
[[nodiscard]] inline Scenario scenario(std::string_view name) {
    Scenario s{};
    if (name == "overload") return s;
    if (name == "blip") {
        s.fault.kind = FaultKind::Blip;
        return s;
    }
    if (name == "outage") {
        s.fault.kind = FaultKind::Outage;
        return s;
    }
    if (name == "rate-limit") {
        s.fault.kind = FaultKind::RateLimit;
        return s;
    }
    if (name == "steady") {
        s.fault.kind = FaultKind::None;
        return s;
    }
    if (name == "slow-tail") {
        s.tail_share = 0.05;
        // 94 % of the capacity the tail leaves: clients that do not hedge ride it out.
        s.fault.slowdown = 1.3;
        return s;
    }
    if (name == "aws-occ") {
        using std::chrono::milliseconds;
        s.clients = 100;
        s.request_rate = 0.0;
        s.think_time = Duration::zero();
        s.requests_per_client = 1;
        s.duration = milliseconds(1);  // every client starts at once
        s.shared_row = true;
        s.network_delay = milliseconds(10);
        s.network_jitter = milliseconds(2);
        s.timeout = std::chrono::hours(1);
        s.fault.kind = FaultKind::None;
        s.interval = milliseconds(500);
        return s;
    }
    std::string rule = "must be one of";
    for (auto n : scenario_names) (rule += ' ') += n;
    throw InvalidOption("scenario", "name", rule);
}

}  // namespace redress::simulation
