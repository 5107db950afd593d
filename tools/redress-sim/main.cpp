// redress-sim: what your retry policy does to a failing downstream, before production.
// Runs built-in and user-defined policies side by side on one simulated scenario
// (docs/simulation.md) and prints a table; optionally a CSV time series and a chart.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "chart.hpp"
#include "policies.hpp"

namespace sim = redress::simulation;
using namespace redress_sim;

namespace {

/// Command-line values; a negative number means "the scenario's own".
struct Args {
    std::string scenario = "overload";
    std::vector<std::string> policies;
    std::string policy_file;
    std::uint64_t seed = 1;
    std::string csv;
    std::string chart;
    bool list = false;
    double duration_s = -1, rate = -1, think_s = -1, service_ms = -1, timeout_ms = -1, tail_share = -1,
           tail_slowdown = -1;
    int clients = -1, concurrency = -1, queue_limit = -1;
    double fault_start_s = -1, fault_duration_s = -1, error_rate = -1, slowdown = -1, rate_limit = -1,
           retry_after_ms = -1;
};

redress::Duration from_seconds(double s) {
    return std::chrono::duration_cast<redress::Duration>(std::chrono::duration<double>(s));
}

/// The named scenario with the command line's overrides. A negative value given explicitly
/// reaches `Scenario::validate()`, which names the option.
sim::Scenario build_scenario(const Args& a, const CLI::App& app) {
    sim::Scenario s = sim::scenario(a.scenario);
    const auto given = [&](const char* name) { return app.count(name) > 0; };
    if (given("--duration")) s.duration = from_seconds(a.duration_s);
    if (given("--rate")) s.request_rate = a.rate;
    if (given("--clients")) s.clients = a.clients;
    if (given("--think")) s.think_time = from_seconds(a.think_s);
    if (given("--concurrency")) s.concurrency = a.concurrency;
    if (given("--service-ms")) s.service_time = from_seconds(a.service_ms / 1e3);
    if (given("--timeout-ms")) s.timeout = from_seconds(a.timeout_ms / 1e3);
    if (given("--tail-share")) s.tail_share = a.tail_share;
    if (given("--tail-slowdown")) s.tail_slowdown = a.tail_slowdown;
    if (given("--queue-limit")) s.queue_limit = a.queue_limit;
    if (given("--fault-start")) s.fault.start = from_seconds(a.fault_start_s);
    if (given("--fault-duration")) s.fault.duration = from_seconds(a.fault_duration_s);
    if (given("--error-rate")) s.fault.error_rate = a.error_rate;
    if (given("--slowdown")) s.fault.slowdown = a.slowdown;
    if (given("--rate-limit")) s.fault.rate_limit = a.rate_limit;
    if (given("--retry-after-ms")) s.fault.retry_after = from_seconds(a.retry_after_ms / 1e3);
    s.validate();
    return s;
}

/// ~10 % of the requests a budget window sees.
int budget_for(const sim::Scenario& s) {
    const double per_second =
        s.open_loop() ? s.request_rate
                      : s.clients / std::max(1e-3, std::chrono::duration<double>(s.think_time).count());
    return std::max(10, static_cast<int>(0.1 * per_second * 10.0));
}

std::vector<PolicySpec> choose_policies(const Args& a, const sim::Scenario& s) {
    const auto builtins = builtin_policies(budget_for(s));
    std::vector<PolicySpec> chosen;
    for (const auto& name : a.policies) {
        const auto it = std::find_if(builtins.begin(), builtins.end(), [&](const auto& p) { return p.name == name; });
        if (it == builtins.end()) throw std::runtime_error("--policies: unknown policy '" + name + "' (see --list)");
        chosen.push_back(*it);
    }
    if (!a.policy_file.empty()) {
        std::ifstream in(a.policy_file);
        if (!in) throw std::runtime_error("--policy-file: cannot read " + a.policy_file);
        nlohmann::json doc;
        try {
            doc = nlohmann::json::parse(in);
        } catch (const nlohmann::json::parse_error& e) {
            throw std::runtime_error("--policy-file: " + a.policy_file + " is not valid JSON: " + e.what());
        }
        for (auto& p : policies_from_json(doc)) chosen.push_back(std::move(p));
    }
    if (a.policies.empty() && a.policy_file.empty()) chosen = builtins;
    return chosen;
}

/// A progress bar on stderr, drawn only for a terminal.
sim::RunOptions progress_options(const std::string& name, std::uint64_t seed) {
    sim::RunOptions o{.seed = seed};
    if (!isatty(fileno(stderr))) return o;
    o.on_progress = [name](redress::Duration now, redress::Duration total) {
        const double done = static_cast<double>(now.count()) / static_cast<double>(total.count());
        const int filled = static_cast<int>(done * 30);
        std::fprintf(stderr, "\r%-24s [%-30s] %3.0f%%", name.c_str(), std::string(static_cast<std::size_t>(filled), '#').c_str(),
                     100.0 * done);
        if (now >= total) std::fprintf(stderr, "\r%*s\r", 64, "");
        std::fflush(stderr);
    };
    return o;
}

void list_everything() {
    std::cout << "scenarios:";
    for (auto n : sim::scenario_names) std::cout << ' ' << n;
    std::cout << "\npolicies:";
    for (const auto& p : builtin_policies(100)) std::cout << ' ' << p.name;
    std::cout << '\n';
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"redress-sim: compare retry policies on a simulated failing downstream (docs/simulation.md)"};
    Args a;
    app.add_option("-s,--scenario", a.scenario, "scenario name (--list shows them)")->capture_default_str();
    app.add_option("-p,--policies", a.policies, "built-in policies to compare (default: all)")->delimiter(',');
    app.add_option("-f,--policy-file", a.policy_file, "JSON file of your own policies");
    app.add_option("--seed", a.seed, "random seed")->capture_default_str();
    app.add_option("--csv", a.csv, "write the time series of every policy to this CSV file");
    app.add_option("--chart", a.chart, "write PREFIX.gp and render PREFIX.png and PREFIX.svg with gnuplot");
    app.add_flag("--list", a.list, "list the scenarios and built-in policies");
    app.add_option("--duration", a.duration_s, "seconds during which new requests start");
    app.add_option("--rate", a.rate, "open loop: requests per second (0: closed loop)");
    app.add_option("--clients", a.clients, "closed loop: number of clients");
    app.add_option("--think", a.think_s, "closed loop: mean think time, seconds");
    app.add_option("--concurrency", a.concurrency, "downstream: requests served at once");
    app.add_option("--service-ms", a.service_ms, "downstream: mean service time, ms");
    app.add_option("--timeout-ms", a.timeout_ms, "client timeout per attempt, ms");
    app.add_option("--tail-share", a.tail_share, "downstream: share of attempts served --tail-slowdown times slower");
    app.add_option("--tail-slowdown", a.tail_slowdown, "downstream: how many times slower a tail attempt is");
    app.add_option("--queue-limit", a.queue_limit, "downstream: queue length before fast 503s");
    app.add_option("--fault-start", a.fault_start_s, "fault start, seconds");
    app.add_option("--fault-duration", a.fault_duration_s, "fault length, seconds");
    app.add_option("--error-rate", a.error_rate, "blip: share of attempts that fail");
    app.add_option("--slowdown", a.slowdown, "overload: service slowdown factor");
    app.add_option("--rate-limit", a.rate_limit, "rate-limit: attempts per second admitted");
    app.add_option("--retry-after-ms", a.retry_after_ms, "rate-limit: Retry-After answered, ms");
    CLI11_PARSE(app, argc, argv);

    try {
        if (a.list) {
            list_everything();
            return 0;
        }
        const sim::Scenario scenario = build_scenario(a, app);
        std::vector<sim::Result> results;
        for (const auto& spec : choose_policies(a, scenario))
            results.push_back(run_policy(spec, scenario, progress_options(spec.name, a.seed)));

        std::cout << "scenario " << a.scenario << ", seed " << a.seed << "\n\n" << sim::format_table(results);
        if (!a.csv.empty()) {
            std::ofstream out(a.csv);
            if (!out) throw std::runtime_error("--csv: cannot write " + a.csv);
            out << sim::format_csv(results);
            std::cout << "\nwrote " << a.csv << '\n';
        }
        if (!a.chart.empty())
            std::cout << '\n' << write_chart(a.chart, "redress-sim: scenario " + a.scenario, results) << '\n';
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "redress-sim: " << e.what() << '\n';
        return 2;
    }
}
