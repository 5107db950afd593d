// Hedging on Asio against a loopback server with a long tail (tests/asio/tail_server.hpp):
// 5 % of the answers are 10x slower than the rest. Each round starts 1,000 operations at once
// on one io_context (over connections opened ahead); the same server serves every policy in
// one run: no hedging, a hedge at a fixed delay, and the same hedge bounded by a ratio budget
// of 10 % extra requests. Prints p50 / p99 / max latency and the requests the server received
// per operation (amplification) of each, and the p99 of each hedged policy over the unhedged
// one. Latencies are real: run it on a quiet machine, built optimised (the release preset).
// About 15 s with the defaults.
//
//   redress_asio_hedge_bench [--operations N] [--rounds R] [--base-us US] [--delay-us US]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <redress/asio.hpp>

#include "tail_server.hpp"

using namespace std::chrono_literals;

namespace {

struct Settings {
    int operations = 1000;
    int rounds = 3;
    // The usual answer (the tail takes 10x), long next to what starting 1,000 operations at
    // once costs the client and the server (tens of ms on 2 busy cores).
    std::chrono::microseconds base = 100ms;
    std::chrono::microseconds delay = 200ms;  // the hedge's delay: twice the usual answer
};

Settings parse(int argc, char** argv) {
    Settings s;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view flag = argv[i];
        const long value = std::strtol(argv[i + 1], nullptr, 10);
        if (flag == "--operations") {
            s.operations = static_cast<int>(value);
        } else if (flag == "--rounds") {
            s.rounds = static_cast<int>(value);
        } else if (flag == "--base-us") {
            s.base = std::chrono::microseconds(value);
        } else if (flag == "--delay-us") {
            s.delay = std::chrono::microseconds(value);
        } else {
            std::fprintf(stderr, "unknown option %s\n", argv[i]);
            std::exit(2);
        }
    }
    return s;
}

double ms(std::chrono::nanoseconds d) { return std::chrono::duration<double, std::milli>(d).count(); }

/// Runs `rounds` rounds of the load under `policy` and prints one line; returns the p99.
template <class PolicyT>
std::chrono::nanoseconds measure(const char* name, const PolicyT& policy, const redress_test::TailServer& server,
                                 const Settings& s) {
    redress_test::LoadResult all;
    const long requests_before = server.requests();
    for (int round = 0; round < s.rounds; ++round) {
        auto r = redress_test::run_load(policy, server.endpoint(), s.operations);
        all.latencies.insert(all.latencies.end(), r.latencies.begin(), r.latencies.end());
        all.failed += r.failed;
        all.attempts += r.attempts;
    }
    const double operations = static_cast<double>(s.operations) * s.rounds;
    const auto p99 = all.quantile(0.99);
    std::printf("%-22s p50 %7.2f ms   p99 %7.2f ms   max %7.2f ms   requests %7ld (%.3f per operation)   failed %d\n",
                name, ms(all.quantile(0.50)), ms(p99), ms(all.quantile(1.0)), server.requests() - requests_before,
                static_cast<double>(server.requests() - requests_before) / operations, all.failed);
    return p99;
}

}  // namespace

int main(int argc, char** argv) {
    const Settings s = parse(argc, argv);
    redress_test::raise_open_files_limit(static_cast<rlim_t>(4 * s.operations + 256));
    redress_test::TailServer server({.base = s.base, .tail_factor = 10, .tail_share = 0.05, .seed = 42});
    std::printf("%d rounds of %d concurrent operations; answers take %.1f ms, 5 %% of them %.1f ms; hedge delay %.1f ms\n",
                s.rounds, s.operations, ms(s.base), ms(s.base * 10), ms(s.delay));

    const redress::Retry retry{.strategy = redress::constant(1ms), .max_attempts = 2};
    const redress::Policy unhedged{retry};
    const redress::Policy hedged{retry, redress::Hedge{.delay = s.delay, .max_hedges = 1}};
    auto budgeted_retry = retry;
    budgeted_retry.budget = redress::Budget(redress::RatioBudgetOptions{.ratio = 0.1, .min_retries_per_second = 0});
    const redress::Policy budgeted{budgeted_retry, redress::Hedge{.delay = s.delay, .max_hedges = 1}};

    const auto base = measure("unhedged", unhedged, server, s);
    const auto fixed = measure("hedged", hedged, server, s);
    const auto bounded = measure("hedged, budget 10 %", budgeted, server, s);
    std::printf("p99 hedged / unhedged: %.2f; with the budget: %.2f\n", ms(fixed) / ms(base), ms(bounded) / ms(base));
    return 0;
}
