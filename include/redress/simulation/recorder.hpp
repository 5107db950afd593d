// Recorder: accumulates a run's measurements as they happen, in memory that grows with the
// number of intervals only (never with the number of requests).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include <redress/clock.hpp>
#include <redress/simulation/report.hpp>
#include <redress/simulation/scenario.hpp>
#include <redress/vocabulary.hpp>

namespace redress::simulation {

/// Counts requests, attempts and downstream busy time per interval. Times are offsets from
/// the start of the run. Single-threaded.
class Recorder {
public:
    /// Records a run of `s`.
    explicit Recorder(const Scenario& s) : interval_(s.interval), concurrency_(s.concurrency), fault_(s.fault) {}

    /// A request (one `async_execute`) starts at `at`.
    void request_started(Duration at) {
        ++slot(at).requests;
        ++result_.requests;
        ++in_flight_;
        auto& iv = slot(at);
        iv.peak_in_flight = std::max(iv.peak_in_flight, in_flight_);
    }

    /// A request that started `latency` ago ends at `at`, well (`ok`) or not (`why`), after
    /// starting `attempts` attempts (hedges included).
    void request_ended(Duration at, Duration latency, bool ok, std::optional<StopReason> why, int attempts) {
        --in_flight_;
        started_after_first_ += static_cast<std::uint64_t>(std::max(attempts - 1, 0));
        auto& iv = slot(at);
        ++(ok ? iv.successes : iv.failures);
        if (ok) ++result_.successes;
        if (why == StopReason::BudgetExhausted) ++result_.refused_by_budget;
        if (why == StopReason::CircuitOpen) ++result_.refused_by_breaker;
        latencies_.add(latency);
        result_.max = std::max(result_.max, latency);
        result_.completion = std::max(result_.completion, at);
    }

    /// An attempt reaches the downstream at `at`.
    void attempt(Duration at) {
        ++slot(at).attempts;
        ++result_.attempts;
    }

    /// A hedged policy sent a hedge.
    void hedge_sent() { ++result_.hedges; }

    /// A hedge was due but not sent: the breaker was not closed (`by_breaker`) or the budget
    /// refused it.
    void hedge_skipped(bool by_breaker) { ++(by_breaker ? result_.hedges_refused_by_breaker : result_.hedges_refused_by_budget); }

    /// The client stopped waiting for an attempt the downstream still works on (a loser).
    void cancelled() { ++result_.cancelled; }

    /// The downstream works on one request from `from` to `to`: its busy share is spread over
    /// the intervals it covers.
    void busy(Duration from, Duration to) {
        const double capacity_ns = static_cast<double>(interval_.count()) * concurrency_;
        while (from < to) {
            auto& iv = slot(from);
            const Duration end = std::min(to, iv.start + interval_);
            iv.busy += static_cast<double>((end - from).count()) / capacity_ns;
            from = end;
        }
    }

    /// The totals, the quantiles and the recovery time.
    [[nodiscard]] Result finish(const Scenario& s, LoopCounters loop) {
        Result r = std::move(result_);
        r.amplification = r.requests ? static_cast<double>(r.attempts) / static_cast<double>(r.requests) : 0.0;
        r.retries = started_after_first_ - std::min(started_after_first_, r.hedges);
        r.success_rate = r.requests ? static_cast<double>(r.successes) / static_cast<double>(r.requests) : 0.0;
        r.p50 = latencies_.quantile(0.50);
        r.p99 = latencies_.quantile(0.99);
        for (const auto& iv : series_) {
            r.peak_load = std::max(r.peak_load, static_cast<double>(iv.attempts) / (static_cast<double>(interval_.count()) / 1e9));
            r.peak_busy = std::max(r.peak_busy, iv.busy);
        }
        r.series = std::move(series_);
        find_recovery(s, r);
        r.loop = loop;
        return r;
    }

private:
    Interval& slot(Duration at) {
        const auto i = static_cast<std::size_t>(std::max<Duration::rep>(at / interval_, 0));
        while (series_.size() <= i) {
            Interval iv;
            iv.start = interval_ * static_cast<Duration::rep>(series_.size());
            iv.fault = fault_.kind != FaultKind::None && fault_.duration > Duration::zero() &&
                       iv.start < fault_.end() && iv.start + interval_ > fault_.start;
            iv.peak_in_flight = in_flight_;
            series_.push_back(iv);
        }
        return series_[i];
    }

    /// Recovery: the healthy stretch that runs to the end of the arrivals, measured from the
    /// end of the fault. Only intervals entirely before the end of the arrivals count.
    void find_recovery(const Scenario& s, Result& r) const {
        // A fault that starts after the arrivals stop never happened.
        if (s.fault.kind == FaultKind::None || s.fault.duration == Duration::zero() || s.fault.start >= s.duration) {
            r.recovered = true;
            return;
        }
        const Duration fault_end = s.fault.end();
        // (A flag and a value rather than an optional: g++ 12 -O1 warns maybe-uninitialized.)
        bool healthy_now = false;
        Duration healthy_since{};
        for (const auto& iv : r.series) {
            if (iv.start + interval_ > s.duration) break;
            if (iv.start + interval_ <= fault_end) continue;
            const bool healthy = iv.success_rate() >= s.healthy_success_rate;
            if (healthy && !healthy_now) healthy_since = std::max(iv.start, fault_end);
            healthy_now = healthy;
        }
        r.recovered = healthy_now;
        if (healthy_now) r.recovery = healthy_since - fault_end;
    }

    Duration interval_;
    int concurrency_;
    Fault fault_;
    std::vector<Interval> series_;
    LatencyHistogram latencies_;
    std::uint64_t in_flight_ = 0;
    std::uint64_t started_after_first_ = 0;  // retries and hedges
    Result result_;
};

}  // namespace redress::simulation
