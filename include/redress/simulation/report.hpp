// What a simulated run measured: per-policy figures, the time series, and their table and
// CSV forms (byte for byte the same for the same seed).
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <redress/clock.hpp>
#include <redress/simulation/event_loop.hpp>

namespace redress::simulation {

/// Latencies in fixed memory: 64 exact buckets of 1 µs, then 32 buckets per power of two
/// (within ~3 %), up to ~2^63 µs. Integer arithmetic only, so quantiles are reproducible.
class LatencyHistogram {
public:
    /// Records one latency (negative counts as zero).
    void add(Duration d) {
        const auto us = static_cast<std::uint64_t>(std::max<Duration::rep>(d.count(), 0) / 1000);
        ++counts_[index(us)];
        ++total_;
    }

    /// The latency below which a share `q` of the samples lie (the bucket's upper edge).
    [[nodiscard]] Duration quantile(double q) const {
        if (total_ == 0) return Duration::zero();
        const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total_ - 1)) + 1;
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            seen += counts_[i];
            if (seen >= rank) return std::chrono::microseconds(upper_edge(i));
        }
        return std::chrono::microseconds(upper_edge(counts_.size() - 1));
    }

private:
    static constexpr std::size_t bucket_count = 64 + 58 * 32;
    static std::size_t index(std::uint64_t us) {
        if (us < 64) return static_cast<std::size_t>(us);
        const auto shift = static_cast<unsigned>(std::bit_width(us)) - 6U;  // >= 1
        const auto sub = static_cast<std::size_t>(us >> shift) - 32;         // in [0, 32)
        return std::min<std::size_t>(64 + (shift - 1) * 32 + sub, bucket_count - 1);
    }
    static std::uint64_t upper_edge(std::size_t i) {
        if (i < 64) return i;
        const auto shift = static_cast<unsigned>((i - 64) / 32) + 1;
        const auto sub = static_cast<std::uint64_t>((i - 64) % 32) + 32;
        return ((sub + 1) << shift) - 1;
    }

    std::array<std::uint64_t, bucket_count> counts_{};
    std::uint64_t total_ = 0;
};

/// One interval of the time series.
struct Interval {
    Duration start{};              ///< from the start of the run
    std::uint64_t requests = 0;    ///< requests started
    std::uint64_t attempts = 0;    ///< attempts that reached the downstream
    std::uint64_t successes = 0;   ///< requests that ended well
    std::uint64_t failures = 0;    ///< requests that ended in failure
    double busy = 0.0;             ///< downstream utilisation, 0 to 1 (0 for a shared row)
    std::uint64_t peak_in_flight = 0;  ///< most requests in flight at once
    bool fault = false;            ///< the fault was active during (part of) the interval

    /// Successes among the requests that ended here (1 when none ended).
    [[nodiscard]] double success_rate() const noexcept {
        const auto ended = successes + failures;
        return ended == 0 ? 1.0 : static_cast<double>(successes) / static_cast<double>(ended);
    }
};

/// What one policy did to one scenario.
struct Result {
    std::string policy;                  ///< the policy's name (`RunOptions::name`)
    std::uint64_t requests = 0;          ///< requests started
    std::uint64_t attempts = 0;          ///< attempts that reached the downstream
    std::uint64_t successes = 0;         ///< requests that succeeded
    double amplification = 0.0;          ///< attempts / requests
    double success_rate = 0.0;           ///< successes / requests
    Duration p50{};                      ///< request latency (first attempt to outcome), all requests
    Duration p99{};                      ///< 99th percentile of the request latency
    Duration max{};                      ///< the slowest request
    double peak_load = 0.0;              ///< most attempts per second in one interval
    double peak_busy = 0.0;              ///< highest downstream utilisation in one interval
    /// From the end of the fault to the start of the healthy stretch that lasts until new
    /// requests stop; empty when the run ends unhealthy (or has no fault).
    std::optional<Duration> recovery{};
    bool recovered = false;              ///< healthy when new requests stopped (true when no fault fell before then)
    Duration completion{};               ///< when the last request ended
    std::uint64_t refused_by_budget = 0;   ///< requests stopped because the budget was empty
    std::uint64_t refused_by_breaker = 0;  ///< requests stopped by an open breaker
    /// The policy hedges (`Policy{retry, hedge}`): the table then shows the columns below.
    bool hedged = false;
    std::uint64_t retries = 0;   ///< attempts started after a failure (`attempts` counts them, and hedges)
    std::uint64_t hedges = 0;    ///< hedges sent (each one an attempt that reached the downstream)
    std::uint64_t hedges_refused_by_budget = 0;   ///< hedges due but refused by the budget
    std::uint64_t hedges_refused_by_breaker = 0;  ///< hedges due while the breaker was not closed
    /// Attempts the client stopped waiting for (a hedge's losers): the downstream, never told,
    /// did their work all the same.
    std::uint64_t cancelled = 0;
    std::vector<Interval> series;        ///< one entry per `Scenario::interval`
    LoopCounters loop{};                 ///< the event loop's peaks: memory stays flat
};

namespace detail {
inline std::string format(const char* fmt, auto... args) {
    char buf[256];
    const int n = std::snprintf(buf, sizeof buf, fmt, args...);
    return std::string(buf, n < 0 ? 0 : std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1));
}
inline double ms(Duration d) { return static_cast<double>(d.count()) / 1e6; }
inline double s(Duration d) { return static_cast<double>(d.count()) / 1e9; }
inline std::string recovery_text(const Result& r) {
    if (r.recovered) return r.recovery ? format("%.1f s", s(*r.recovery)) : std::string("-");
    return "never";
}
}  // namespace detail

/// The results side by side, one policy per row, for a terminal. When one of them hedges,
/// five columns follow: retries, hedges sent, hedges refused by the budget and by the breaker,
/// and the losers cancelled.
[[nodiscard]] inline std::string format_table(const std::vector<Result>& results) {
    std::size_t width = 6;
    bool hedging = false;
    for (const auto& r : results) {
        width = std::max(width, r.policy.size());
        hedging = hedging || r.hedged;
    }
    const int w = static_cast<int>(width);
    std::string out = detail::format("%-*s %9s %9s %6s %8s %9s %9s %9s %9s %6s %8s %7s %7s", w, "policy",
                                     "requests", "attempts", "ampl.", "success", "p50", "p99", "max", "peak/s",
                                     "busy", "recovery", "budget", "breaker");
    if (hedging) out += detail::format(" %8s %8s %8s %9s %9s", "retries", "hedges", "h.budget", "h.breaker", "cancelled");
    out += '\n';
    const auto n = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
    for (const auto& r : results) {
        out += detail::format("%-*s %9llu %9llu %6.2f %7.2f%% %7.1fms %7.1fms %7.1fms %9.0f %5.0f%% %8s %7llu %7llu",
                              w, r.policy.c_str(), n(r.requests), n(r.attempts), r.amplification,
                              100.0 * r.success_rate, detail::ms(r.p50), detail::ms(r.p99), detail::ms(r.max),
                              r.peak_load, 100.0 * r.peak_busy, detail::recovery_text(r).c_str(),
                              n(r.refused_by_budget), n(r.refused_by_breaker));
        if (hedging)
            out += detail::format(" %8llu %8llu %8llu %9llu %9llu", n(r.retries), n(r.hedges),
                                  n(r.hedges_refused_by_budget), n(r.hedges_refused_by_breaker), n(r.cancelled));
        out += '\n';
    }
    return out;
}

/// The time series of every result, one row per policy and interval:
/// `policy,time_s,requests,attempts,load_per_s,successes,failures,success_rate,busy,in_flight,fault`.
[[nodiscard]] inline std::string format_csv(const std::vector<Result>& results) {
    std::string out = "policy,time_s,requests,attempts,load_per_s,successes,failures,success_rate,busy,in_flight,fault\n";
    for (const auto& r : results) {
        for (std::size_t i = 0; i < r.series.size(); ++i) {
            const Interval& iv = r.series[i];
            const Duration width = i + 1 < r.series.size() ? r.series[i + 1].start - iv.start
                                                           : (i > 0 ? iv.start - r.series[i - 1].start : Duration{1});
            out += detail::format("\"%s\",%.3f,%llu,%llu,%.1f,%llu,%llu,%.4f,%.4f,%llu,%d\n", r.policy.c_str(),
                                  detail::s(iv.start), static_cast<unsigned long long>(iv.requests),
                                  static_cast<unsigned long long>(iv.attempts),
                                  static_cast<double>(iv.attempts) / detail::s(width),
                                  static_cast<unsigned long long>(iv.successes),
                                  static_cast<unsigned long long>(iv.failures), iv.success_rate(), iv.busy,
                                  static_cast<unsigned long long>(iv.peak_in_flight), iv.fault ? 1 : 0);
        }
    }
    return out;
}

}  // namespace redress::simulation
