// The policies redress-sim compares: a plain description (PolicySpec), the built-in ones,
// the JSON file format, and running one description on a scenario.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <redress/redress.hpp>
#include <redress/simulation/simulation.hpp>

namespace redress_sim {

using Duration = redress::Duration;
using std::chrono::milliseconds;
using std::chrono::seconds;

struct BudgetSpec {
    int max_retries = 100;
    Duration window = seconds(10);
};

struct BreakerSpec {
    double failure_ratio = 0.5;
    Duration window = seconds(10);
    Duration recovery_timeout = seconds(5);
    int minimum_throughput = 20;
};

/// A `redress::Hedge`: the delay (the fallback of a percentile), the percentile, the hedges
/// in flight besides the first attempt, and a budget of the hedge's own.
struct HedgeSpec {
    Duration delay = milliseconds(100);
    std::optional<double> percentile{};
    int max_hedges = 1;
    std::optional<BudgetSpec> budget{};  ///< none: hedges spend from the retry's budget
};

/// One policy, as data: what the built-ins and the JSON file describe.
struct PolicySpec {
    std::string name;
    /// none | immediate | constant | exponential | full_jitter | equal_jitter | decorrelated_jitter
    std::string strategy = "full_jitter";
    Duration base = milliseconds(100);
    Duration max = seconds(10);
    int max_attempts = 4;
    Duration deadline = seconds(30);
    std::optional<BudgetSpec> budget{};
    std::optional<BreakerSpec> breaker{};
    std::optional<HedgeSpec> hedge{};
    bool adaptive = false;     ///< wrap the strategy in `redress::adaptive`
    bool retry_after = false;  ///< honour Retry-After (`retry_after_or` + the hint-reading classifier)
};

/// The built-in policies; `budget_retries` sizes the budgets to ~10 % of the scenario's requests.
std::vector<PolicySpec> builtin_policies(int budget_retries);

/// Reads `{"policies": [ ... ]}` (docs/simulation.md). Throws std::runtime_error naming the
/// offending key.
std::vector<PolicySpec> policies_from_json(const nlohmann::json& doc);

/// Runs `spec` on `scenario`.
redress::simulation::Result run_policy(const PolicySpec& spec, const redress::simulation::Scenario& scenario,
                                       const redress::simulation::RunOptions& options);

}  // namespace redress_sim
