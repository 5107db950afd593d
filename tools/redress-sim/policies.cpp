#include "policies.hpp"

#include <set>
#include <stdexcept>

namespace redress_sim {

namespace sim = redress::simulation;
using redress::testing::ManualClock;

std::vector<PolicySpec> builtin_policies(int budget_retries) {
    const BudgetSpec budget{.max_retries = budget_retries, .window = seconds(10)};
    std::vector<PolicySpec> out;
    out.push_back({.name = "none", .strategy = "none", .max_attempts = 1});
    out.push_back({.name = "immediate", .strategy = "immediate"});
    out.push_back({.name = "exponential", .strategy = "exponential"});
    out.push_back({.name = "full-jitter", .strategy = "full_jitter"});
    out.push_back({.name = "equal-jitter", .strategy = "equal_jitter"});
    out.push_back({.name = "decorrelated-jitter", .strategy = "decorrelated_jitter"});
    out.push_back({.name = "immediate+budget", .strategy = "immediate", .budget = budget});
    out.push_back({.name = "immediate+breaker", .strategy = "immediate", .breaker = BreakerSpec{}});
    out.push_back({.name = "full-jitter+budget", .strategy = "full_jitter", .budget = budget});
    out.push_back({.name = "full-jitter+breaker", .strategy = "full_jitter", .breaker = BreakerSpec{}});
    out.push_back({.name = "adaptive", .strategy = "full_jitter", .adaptive = true});
    out.push_back({.name = "retry-after", .strategy = "full_jitter", .retry_after = true});
    const HedgeSpec p95{.delay = milliseconds(100), .percentile = 0.95};
    out.push_back({.name = "hedge-p95", .strategy = "full_jitter", .hedge = p95});
    out.push_back({.name = "hedge-p95+budget", .strategy = "full_jitter", .budget = budget, .hedge = p95});
    out.push_back({.name = "hedge-p95+breaker", .strategy = "full_jitter", .breaker = BreakerSpec{}, .hedge = p95});
    return out;
}

// ---- JSON ---------------------------------------------------------------------------------------

namespace {

[[noreturn]] void bad(const std::string& where, const std::string& what) {
    throw std::runtime_error("policy file: " + where + ": " + what);
}

void only_keys(const nlohmann::json& obj, const std::string& where, const std::set<std::string>& keys) {
    if (!obj.is_object()) bad(where, "must be an object");
    for (const auto& [key, value] : obj.items())
        if (!keys.contains(key)) bad(where + "." + key, "unknown key");
}

template <class T>
T get(const nlohmann::json& obj, const std::string& where, const char* key, T fallback) {
    if (!obj.contains(key)) return fallback;
    try {
        return obj.at(key).get<T>();
    } catch (const nlohmann::json::exception&) {
        bad(where + "." + key, "has the wrong type");
    }
}

Duration get_ms(const nlohmann::json& obj, const std::string& where, const char* key, Duration fallback) {
    const double ms = get<double>(obj, where, key, std::chrono::duration<double, std::milli>(fallback).count());
    if (!(ms >= 0.0) || ms > 1e12) bad(where + "." + key, "must be a number of milliseconds >= 0");
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(ms));
}

/// Builds the library's component from what was read, so an invalid value is reported here,
/// at its place in the file, with the library's rule: `where.<key>: <rule>`.
template <class Build>
void check(const std::string& where, Build&& build) {
    try {
        (void)build();
    } catch (const redress::InvalidOption& e) {
        const std::string option(e.option());
        const bool duration = option == "delay" || option == "window";
        const std::string what = e.what();
        const auto rule = what.find(option + ' ');
        bad(where + "." + option + (duration ? "_ms" : ""),
            rule == std::string::npos ? what : what.substr(rule + option.size() + 1));
    }
}

BudgetSpec budget_from_json(const nlohmann::json& b, const std::string& where) {
    only_keys(b, where, {"max_retries", "window_ms"});
    BudgetSpec spec;
    spec.max_retries = get<int>(b, where, "max_retries", spec.max_retries);
    spec.window = get_ms(b, where, "window_ms", spec.window);
    check(where, [&] { return redress::Budget{{.max_retries = spec.max_retries, .window = spec.window}}; });
    return spec;
}

HedgeSpec hedge_from_json(const nlohmann::json& h, const std::string& where) {
    only_keys(h, where, {"delay_ms", "percentile", "max_hedges", "budget"});
    HedgeSpec spec;
    spec.delay = get_ms(h, where, "delay_ms", spec.delay);
    if (h.contains("percentile")) spec.percentile = get<double>(h, where, "percentile", 0.0);
    spec.max_hedges = get<int>(h, where, "max_hedges", spec.max_hedges);
    if (h.contains("budget")) spec.budget = budget_from_json(h.at("budget"), where + ".budget");
    check(where, [&] {
        return redress::Policy{redress::Retry{.strategy = redress::constant(Duration::zero())},
                               redress::Hedge{.delay = spec.delay, .percentile = spec.percentile, .max_hedges = spec.max_hedges}};
    });
    return spec;
}

PolicySpec policy_from_json(const nlohmann::json& p, const std::string& where) {
    only_keys(p, where,
              {"name", "strategy", "base_ms", "max_ms", "max_attempts", "deadline_ms", "budget", "breaker", "hedge",
               "adaptive", "retry_after"});
    PolicySpec s;
    s.name = get<std::string>(p, where, "name", "");
    if (s.name.empty()) bad(where + ".name", "is required");
    s.strategy = get<std::string>(p, where, "strategy", s.strategy);
    s.base = get_ms(p, where, "base_ms", s.base);
    s.max = get_ms(p, where, "max_ms", s.max);
    s.max_attempts = get<int>(p, where, "max_attempts", s.max_attempts);
    s.deadline = get_ms(p, where, "deadline_ms", s.deadline);
    s.adaptive = get<bool>(p, where, "adaptive", false);
    s.retry_after = get<bool>(p, where, "retry_after", false);
    if (p.contains("budget")) s.budget = budget_from_json(p.at("budget"), where + ".budget");
    if (p.contains("breaker")) {
        const auto& b = p.at("breaker");
        const std::string w = where + ".breaker";
        only_keys(b, w, {"failure_ratio", "window_ms", "recovery_timeout_ms", "minimum_throughput"});
        BreakerSpec spec;
        spec.failure_ratio = get<double>(b, w, "failure_ratio", spec.failure_ratio);
        spec.window = get_ms(b, w, "window_ms", spec.window);
        spec.recovery_timeout = get_ms(b, w, "recovery_timeout_ms", spec.recovery_timeout);
        spec.minimum_throughput = get<int>(b, w, "minimum_throughput", spec.minimum_throughput);
        s.breaker = spec;
    }
    if (p.contains("hedge")) s.hedge = hedge_from_json(p.at("hedge"), where + ".hedge");
    return s;
}

}  // namespace

std::vector<PolicySpec> policies_from_json(const nlohmann::json& doc) {
    only_keys(doc, "top level", {"policies"});
    if (!doc.contains("policies") || !doc.at("policies").is_array() || doc.at("policies").empty())
        bad("policies", "must be a non-empty array");
    std::vector<PolicySpec> out;
    for (std::size_t i = 0; i < doc.at("policies").size(); ++i)
        out.push_back(policy_from_json(doc.at("policies").at(i), "policies[" + std::to_string(i) + "]"));
    return out;
}

// ---- running a description ---------------------------------------------------------------------

namespace {

redress::AnyStrategy base_strategy(const PolicySpec& s) {
    if (s.strategy == "none" || s.strategy == "immediate") return redress::constant(Duration::zero());
    if (s.strategy == "constant") return redress::constant(s.base);
    if (s.strategy == "exponential") return redress::exponential({.base = s.base, .max = s.max});
    if (s.strategy == "full_jitter") return redress::full_jitter({.base = s.base, .max = s.max});
    if (s.strategy == "equal_jitter") return redress::equal_jitter({.base = s.base, .max = s.max});
    if (s.strategy == "decorrelated_jitter") return redress::decorrelated_jitter({.base = s.base, .max = s.max});
    throw redress::InvalidOption("policy " + s.name, "strategy",
                                 "must be one of none, immediate, constant, exponential, full_jitter, equal_jitter, "
                                 "decorrelated_jitter");
}

redress::AnyStrategy strategy(const PolicySpec& s, const ManualClock& clock) {
    redress::AnyStrategy inner = base_strategy(s);
    if (s.adaptive) inner = redress::adaptive(std::move(inner), {.window = seconds(10), .clock = clock});
    if (s.retry_after) inner = redress::retry_after_or(std::move(inner));
    return inner;
}

/// The downstream's failures come back as `Response` values, classified as the default
/// classifier would classify the same failures thrown (a test checks it is the same run):
/// no exception per failed attempt, so a storm of millions of attempts takes seconds.
using SimRetry = redress::Retry<redress::DefaultClassifier, redress::AnyStrategy, sim::ResponseClassifier>;

redress::Budget budget(const BudgetSpec& b, const ManualClock& clock) {
    return redress::Budget{{.max_retries = b.max_retries, .window = b.window, .clock = clock}};
}

SimRetry retry(const PolicySpec& s, const ManualClock& clock) {
    SimRetry r{.result_classifier = s.retry_after ? sim::retry_after_response_classifier : sim::response_classifier,
               .strategy = strategy(s, clock),
               .deadline = s.deadline,
               .max_attempts = s.max_attempts,
               .clock = clock};
    if (s.budget) r.budget = budget(*s.budget, clock);
    return r;
}

redress::CircuitBreaker breaker(const BreakerSpec& b, const ManualClock& clock) {
    return redress::CircuitBreaker{{.window = b.window,
                                    .recovery_timeout = b.recovery_timeout,
                                    .failure_ratio = b.failure_ratio,
                                    .minimum_throughput = b.minimum_throughput,
                                    .clock = clock}};
}

redress::Hedge hedge(const HedgeSpec& h, const ManualClock& clock) {
    return redress::Hedge{.delay = h.delay,
                          .percentile = h.percentile,
                          .max_hedges = h.max_hedges,
                          .budget = h.budget ? std::optional(budget(*h.budget, clock)) : std::nullopt};
}

}  // namespace

sim::Result run_policy(const PolicySpec& spec, const sim::Scenario& scenario, const sim::RunOptions& options) {
    sim::RunOptions named = options;
    named.name = spec.name;
    const auto run = [&](auto make_policy) { return sim::simulate(scenario, make_policy, named); };
    if (spec.breaker && spec.hedge) {
        return run([&](const ManualClock& clock) {
            return redress::Policy{retry(spec, clock), breaker(*spec.breaker, clock), hedge(*spec.hedge, clock)};
        });
    }
    if (spec.breaker)
        return run([&](const ManualClock& clock) { return redress::Policy{retry(spec, clock), breaker(*spec.breaker, clock)}; });
    if (spec.hedge)
        return run([&](const ManualClock& clock) { return redress::Policy{retry(spec, clock), hedge(*spec.hedge, clock)}; });
    return run([&](const ManualClock& clock) { return redress::Policy{retry(spec, clock)}; });
}

}  // namespace redress_sim
