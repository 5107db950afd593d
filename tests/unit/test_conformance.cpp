// Conformance with the contract that one dashboard serves Python and C++ services: the exact
// tag set of every event kind (checked against the table in docs/observability.md, so the
// page cannot drift from the code), and the outcome fields users read in tests, on every
// path: the sync and coroutine drivers, with a retry and with a breaker only.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <vector>

#include <redress/redress.hpp>
#include <redress/testing.hpp>

using namespace std::chrono_literals;
using redress::ErrorClass;
using redress::EventName;
using redress::StopReason;
using redress::Task;
using redress::testing::DeterministicStrategy;
using redress::testing::ManualClock;

namespace {

// ---- scripted operations ------------------------------------------------------------------

/// "CLASS" or "CLASS@<ms>": the class, and a retry_after hint in milliseconds.
struct HintClassifier {
    redress::Classification operator()(const std::exception_ptr& ep) const {
        try {
            std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            const std::string what = e.what();
            const auto at = what.find('@');
            if (auto k = redress::parse<ErrorClass>(what.substr(0, at))) {
                redress::Classification c{*k};
                if (at != std::string::npos) c.retry_after = std::chrono::milliseconds(std::stoll(what.substr(at + 1)));
                return c;
            }
        } catch (...) {
        }
        return {ErrorClass::Unknown};
    }
};

/// A negative value is a failure of class RateLimit.
struct NegativeIsFailure {
    std::optional<ErrorClass> operator()(const int& v) const {
        if (v < 0) return ErrorClass::RateLimit;
        return std::nullopt;
    }
};

using RetryT = redress::Retry<HintClassifier, redress::AnyStrategy, NegativeIsFailure>;

/// One step of a script: throw `error` ("ABORT" throws AbortRetryError), or return `value`;
/// each step first advances the clock by `cost`.
struct Step {
    std::string error;
    int value = 7;
    redress::Duration cost{};
};
Step fail(std::string what, redress::Duration cost = {}) { return Step{std::move(what), 0, cost}; }
Step value(int v) { return Step{"", v, {}}; }
Step abort_step() { return Step{"ABORT", 0, {}}; }

struct Script {
    std::vector<Step> steps;
    ManualClock clock;
    std::shared_ptr<int> calls = std::make_shared<int>(0);
    int operator()() const {
        const auto i = static_cast<std::size_t>((*calls)++);
        const Step& s = steps[i < steps.size() ? i : steps.size() - 1];
        clock.advance(s.cost);
        if (s.error == "ABORT") throw redress::AbortRetryError("the caller gave up");
        if (s.error == "TIMEOUT") throw redress::AttemptTimeoutError();  // Transient for default_classifier
        if (!s.error.empty()) throw std::runtime_error(s.error);
        return s.value;
    }
};

enum class Path { Sync, Coroutine };
const char* name(Path p) { return p == Path::Sync ? "sync" : "coroutine"; }

/// Runs `script` under `policy` through `execute()` or `async_execute()` (a virtual-time
/// scheduler does the coroutine's sleeps), with `options`.
template <class PolicyT>
redress::Outcome<int> execute_on(Path path, const PolicyT& policy, const Script& script, redress::CallOptions options) {
    if (path == Path::Sync) {
        if (!options.sleeper) options.sleeper = redress::testing::AdvancingSleeper(script.clock);
        return policy.execute(script, options);
    }
    redress::testing::VirtualScheduler loop{script.clock};
    auto op = [script]() -> Task<int> { co_return script(); };
    redress::AsyncSleepHooks<Task> async;
    if (!options.sleeper) async.sleeper = loop.sleeper();
    return loop.run(policy.async_execute(op, options, async));
}

// ---- tags ---------------------------------------------------------------------------------

using Tags = std::set<std::string>;

Tags tags_of(const redress::Event& e) {
    Tags t;
    if (e.error_class) t.insert("error_class");
    if (!e.error_type.empty()) t.insert("error_type");
    if (e.stop_reason) t.insert("stop_reason");
    if (e.cause) t.insert("cause");
    if (!e.operation.empty()) t.insert("operation");
    if (e.state) t.insert("state");
    if (e.retry_after) t.insert("retry_after");
    if (e.trigger) t.insert("trigger");
    if (e.in_flight) t.insert("in_flight");
    return t;
}

struct Seen {
    std::string name;
    Tags tags;
    int attempt;
    redress::Duration sleep;
};

struct TagLog {
    std::shared_ptr<std::vector<Seen>> seen = std::make_shared<std::vector<Seen>>();
    redress::EventHook hook() const {
        return [seen = seen](const redress::Event& e) {
            seen->push_back({std::string(redress::to_string(e.name)), tags_of(e), e.attempt, e.sleep});
        };
    }
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& s : *seen) out.push_back(s.name);
        return out;
    }
};

/// The event table of docs/observability.md: wire value -> (tags always carried, tags
/// carried when they apply).
struct Expected {
    Tags always;
    Tags when_they_apply;
};

Tags parse_tags(const std::string& cell) {
    Tags out;
    std::stringstream in(std::regex_replace(cell, std::regex(R"(\([^)]*\))"), ""));
    std::string tag;
    while (std::getline(in, tag, ',')) {
        tag = std::regex_replace(tag, std::regex(R"(^[\s`]+|[\s`]+$)"), "");
        if (!tag.empty() && tag != "-") out.insert(tag);
    }
    return out;
}

std::map<std::string, Expected> documented_tags() {
    std::ifstream doc(std::string(REDRESS_SOURCE_DIR) + "/docs/observability.md");
    REQUIRE(doc.good());
    // | `EventName` | `wire` | when | tags | tags when they apply |
    const std::regex row(R"(^\| `(\w+)` \| `([a-z_]+)` \| ([^|]*)\| ([^|]*)\| ([^|]*)\|\s*$)");
    std::map<std::string, Expected> table;
    std::string line;
    while (std::getline(doc, line)) {
        std::smatch m;
        if (std::regex_match(line, m, row)) table[m[2]] = Expected{parse_tags(m[4]), parse_tags(m[5])};
    }
    return table;
}

// ---- the scenarios that make every event ---------------------------------------------------

struct Fixture {
    ManualClock clock{};
    TagLog log{};

    RetryT retry() const { return RetryT{.strategy = DeterministicStrategy{100ms}, .clock = clock}; }
    redress::CircuitBreaker quiet_breaker() const {
        return redress::CircuitBreaker{{.failure_threshold = 1000, .clock = clock}};
    }
    redress::CallOptions options() const { return {.operation = "op", .on_metric = log.hook()}; }
    Script script(std::vector<Step> steps) const { return Script{std::move(steps), clock}; }
};

/// An attempt that takes `latency` of virtual time (or less, stopped) and returns 7.
Task<int> slow_attempt(redress::testing::VirtualScheduler& loop, redress::Duration latency, std::stop_token token) {
    co_await loop.sleep(latency, token);
    co_return 7;
}

/// The hedging events (coroutine path only): a hedge sent that wins, a hedge the budget
/// refuses, a hedge the half-open breaker refuses.
void run_hedge_scenarios(Fixture& f) {
    redress::testing::VirtualScheduler loop{f.clock};
    const auto run = [&](const auto& policy) {
        auto calls = std::make_shared<int>(0);
        auto op = [&loop, calls](std::stop_token token) {
            return slow_attempt(loop, ++*calls == 1 ? 200ms : 10ms, std::move(token));
        };
        return loop.run(policy.async_execute(op, f.options(), {.sleeper = loop.sleeper()}));
    };
    CHECK(run(redress::Policy{f.retry(), f.quiet_breaker(), redress::Hedge{.delay = 50ms}}).winner == 2);
    CHECK(run(redress::Policy{f.retry(), redress::Hedge{.delay = 50ms, .budget = redress::Budget{0, 60s}}}).winner == 1);
    redress::testing::FakeCircuitBreaker probing{redress::testing::BreakerDecision::Probe};
    CHECK(run(redress::Policy{f.retry(), probing, redress::Hedge{.delay = 50ms}}).winner == 1);
}

/// Runs every scenario on `path`; returns the log.
TagLog run_all_scenarios(Path path) {
    Fixture f;
    auto plain = [&](RetryT r) { return redress::Policy{std::move(r), f.quiet_breaker()}; };

    // success after an exception failure with a hint, and a rejected result: retry, success
    execute_on(path, plain(f.retry()), f.script({fail("TRANSIENT@50"), value(-1), value(3)}), f.options());
    // permanent_fail
    execute_on(path, plain(f.retry()), f.script({fail("PERMANENT")}), f.options());
    // deadline_exceeded
    {
        auto r = f.retry();
        r.deadline = 1s;
        execute_on(path, plain(r), f.script({fail("TRANSIENT", 2s)}), f.options());
    }
    // max_attempts_exceeded (global), after a result failure
    {
        auto r = f.retry();
        r.max_attempts = 2;
        execute_on(path, plain(r), f.script({value(-1)}), f.options());
    }
    // max_unknown_attempts_exceeded
    execute_on(path, plain(f.retry()), f.script({fail("what?")}), f.options());
    // no_strategy_configured
    {
        auto r = f.retry();
        r.strategy = redress::AnyStrategy{};
        r.strategies = {{ErrorClass::RateLimit, DeterministicStrategy{1s}}};
        execute_on(path, plain(r), f.script({fail("SERVER_ERROR")}), f.options());
    }
    // budget_exhausted
    {
        auto r = f.retry();
        r.budget = redress::Budget{redress::BudgetOptions{.max_retries = 0, .window = 60s, .clock = f.clock}};
        execute_on(path, plain(r), f.script({fail("TRANSIENT")}), f.options());
    }
    // budget_backend_unavailable: a backend that did not answer, failing open then closed
    for (const auto verdict : {redress::BudgetVerdict::AdmittedUnavailable, redress::BudgetVerdict::RefusedUnavailable}) {
        struct Unanswering final : redress::BudgetBackend {
            explicit Unanswering(redress::BudgetVerdict v) : verdict(v) {}
            redress::BudgetVerdict consume(int) override { return verdict; }
            [[nodiscard]] int remaining() const override { return 0; }
            redress::BudgetVerdict verdict;
        };
        auto r = f.retry();
        r.max_attempts = 2;
        r.budget = redress::Budget{std::make_shared<Unanswering>(verdict)};
        execute_on(path, plain(r), f.script({fail("TRANSIENT")}), f.options());
    }
    // scheduled
    {
        auto o = f.options();
        o.sleep = [](const redress::BackoffContext&, redress::Duration) { return redress::SleepDecision::Defer; };
        execute_on(path, plain(f.retry()), f.script({fail("TRANSIENT")}), o);
    }
    // aborted: after a failure (abort_if), and by the callable after a failure
    {
        auto o = f.options();
        o.abort_if = [] { return true; };
        execute_on(path, plain(f.retry()), f.script({fail("TRANSIENT")}), o);
        execute_on(path, plain(f.retry()), f.script({fail("SERVER_ERROR"), abort_step()}), f.options());
    }
    // the breaker: opened, rejected, half-open, closed
    {
        redress::CircuitBreaker breaker{{.failure_threshold = 1, .recovery_timeout = 10s, .clock = f.clock}};
        auto r = f.retry();
        r.max_attempts = 1;
        redress::Policy policy{r, breaker};
        execute_on(path, policy, f.script({fail("SERVER_ERROR")}), f.options());
        execute_on(path, policy, f.script({value(1)}), f.options());
        f.clock.advance(10s);
        execute_on(path, policy, f.script({value(1)}), f.options());
    }
    if (path == Path::Coroutine) run_hedge_scenarios(f);
    return f.log;
}

/// The breaker-only policy's scenarios: failure that opens, rejection, probe, abort.
TagLog run_breaker_only_scenarios(Path path) {
    Fixture f;
    redress::CircuitBreaker breaker{{.failure_threshold = 2, .recovery_timeout = 10s, .clock = f.clock}};
    redress::Policy policy{breaker};
    execute_on(path, policy, f.script({fail("x", 5ms)}), f.options());  // not a trip class: no event
    execute_on(path, policy, f.script({value(1)}), f.options());        // success: no event
    execute_on(path, policy, f.script({abort_step()}), f.options());   // aborted
    auto stopped = f.options();
    std::stop_source source;
    source.request_stop();
    stopped.stop_token = source.get_token();
    execute_on(path, policy, f.script({value(1)}), stopped);  // aborted before the attempt
    execute_on(path, policy, f.script({fail("TIMEOUT")}), f.options());
    execute_on(path, policy, f.script({fail("TIMEOUT")}), f.options());  // opened
    execute_on(path, policy, f.script({fail("TIMEOUT")}), f.options());  // rejected
    f.clock.advance(10s);
    execute_on(path, policy, f.script({value(1)}), f.options());  // half-open, closed
    return f.log;
}

void check_against_table(const TagLog& log, const std::map<std::string, Expected>& table, const std::string& where) {
    for (const auto& e : *log.seen) {
        INFO(where << ": event " << e.name);
        REQUIRE(table.count(e.name) == 1);
        const Expected& x = table.at(e.name);
        for (const auto& tag : x.always) {
            INFO("missing tag " << tag);
            CHECK(e.tags.count(tag) == 1);
        }
        for (const auto& tag : e.tags) {
            INFO("extra tag " << tag);
            CHECK((x.always.count(tag) == 1 || x.when_they_apply.count(tag) == 1));
        }
        if (e.name.rfind("circuit_", 0) == 0) CHECK(e.attempt == 0);
        if (e.name != "retry" && e.name != "scheduled" && e.name != "hedge_sent")
            CHECK(e.sleep == redress::Duration::zero());
    }
}

}  // namespace

TEST_CASE("the event table of docs/observability.md lists every event with its tags") {
    const auto table = documented_tags();
    CHECK(table.size() == redress::all_values<EventName>().size());
    for (auto name : redress::all_values<EventName>()) {
        INFO(redress::to_string(name));
        CHECK(table.count(std::string(redress::to_string(name))) == 1);
    }
}

TEST_CASE("every event carries exactly the tags the documented table gives it, on every path") {
    const auto table = documented_tags();
    for (Path path : {Path::Sync, Path::Coroutine}) {
        const TagLog retry = run_all_scenarios(path);
        check_against_table(retry, table, std::string(name(path)) + " retry");
        // Every event kind and every conditional tag is reached, so no row is untested.
        std::set<std::string> kinds;
        Tags conditional_seen;
        for (const auto& e : *retry.seen) {
            kinds.insert(e.name);
            for (const auto& t : e.tags) conditional_seen.insert(t);
        }
        // Hedging runs on the coroutine path only.
        const std::set<std::string> hedging_only{"hedge_sent", "hedge_skipped", "in_flight"};
        for (const auto& [event, expected] : table) {
            if (path == Path::Sync && hedging_only.count(event) == 1) continue;
            INFO(name(path) << ": never emitted: " << event);
            CHECK(kinds.count(event) == 1);
            for (const auto& t : expected.when_they_apply) {
                if (path == Path::Sync && hedging_only.count(t) == 1) continue;
                INFO("conditional tag never seen: " << t);
                CHECK(conditional_seen.count(t) == 1);
            }
        }

        const TagLog breaker_only = run_breaker_only_scenarios(path);
        check_against_table(breaker_only, table, std::string(name(path)) + " breaker-only");
        for (const auto& e : *breaker_only.seen) {
            INFO(name(path) << " breaker-only emitted " << e.name);
            CHECK((e.name == "aborted" || e.name.rfind("circuit_", 0) == 0));
        }
    }
}

TEST_CASE("a successful outcome carries no failure, even after failed attempts") {
    for (Path path : {Path::Sync, Path::Coroutine}) {
        INFO(name(path));
        Fixture f;
        redress::Policy policy{f.retry()};
        const auto out = execute_on(path, policy, f.script({fail("TRANSIENT"), value(-1), value(5)}), f.options());
        CHECK(out.ok);
        CHECK(out.value == 5);
        CHECK(out.attempts == 3);
        CHECK_FALSE(out.last_class);
        CHECK_FALSE(out.cause);
        CHECK_FALSE(out.last_exception);
        CHECK_FALSE(out.last_result);
        CHECK_FALSE(out.stop_reason);
    }
}

TEST_CASE("an operation that throws AbortRetryError on attempt 2 reports no class for that attempt") {
    for (Path path : {Path::Sync, Path::Coroutine}) {
        INFO(name(path));
        Fixture f;
        redress::Policy policy{f.retry()};
        auto o = f.options();
        std::vector<std::string> ends;
        o.on_attempt_end = [&](const redress::AttemptContext& c) {
            std::string line = std::to_string(c.attempt) + " " + std::string(redress::to_string(*c.decision));
            if (c.classification != nullptr) line += " " + std::string(redress::to_string(c.classification->klass));
            if (c.cause) line += " cause";
            if (c.exception) line += " exception";
            ends.push_back(line);
        };
        const auto out = execute_on(path, policy, f.script({fail("SERVER_ERROR"), abort_step()}), o);
        CHECK(out.stop_reason == StopReason::Aborted);
        CHECK(out.attempts == 2);
        CHECK(ends == std::vector<std::string>{"1 retry SERVER_ERROR cause exception", "2 aborted"});
        REQUIRE(f.log.seen->size() == 2);
        CHECK(f.log.seen->back().name == "aborted");
        CHECK(f.log.seen->back().tags == Tags{"stop_reason", "operation"});
        CHECK(f.log.seen->back().attempt == 2);
        // The outcome's failure is the operation's last failure (attempt 1), not the abort.
        CHECK(out.last_class == ErrorClass::ServerError);
        CHECK(out.cause == redress::FailureCause::Exception);
        CHECK(redress::error_type_name(out.last_exception) == "std::runtime_error");
    }
}

TEST_CASE("call() rethrows the AbortRetryError the operation threw, message and all") {
    Fixture f;
    redress::Policy policy{f.retry()};
    try {
        (void)policy.call(f.script({abort_step()}), f.options());
        FAIL("no exception");
    } catch (const redress::AbortRetryError& e) {
        CHECK(std::string(e.what()) == "the caller gave up");
    }
}

TEST_CASE("circuit_opened carries the class of the failure that opened the breaker") {
    for (Path path : {Path::Sync, Path::Coroutine}) {
        INFO(name(path));
        Fixture f;
        redress::CircuitBreaker breaker{{.failure_threshold = 1, .trip_on = {ErrorClass::RateLimit}, .clock = f.clock}};
        auto r = f.retry();
        r.max_attempts = 1;
        redress::Policy policy{r, breaker};
        execute_on(path, policy, f.script({fail("RATE_LIMIT")}), f.options());
        REQUIRE_FALSE(f.log.seen->empty());
        CHECK(f.log.seen->back().name == "circuit_opened");
        CHECK(f.log.seen->back().tags == Tags{"error_class", "state", "operation"});
        redress::Event last;
        auto hook = [&](const redress::Event& e) { last = e; };
        breaker.reset();
        auto o = f.options();
        o.on_metric = hook;
        execute_on(path, policy, f.script({fail("RATE_LIMIT")}), o);
        CHECK(last.name == EventName::CircuitOpened);
        CHECK(last.error_class == ErrorClass::RateLimit);
    }
}

TEST_CASE("the attempt that ends in Scheduled carries the deferred sleep, as next_sleep does") {
    for (Path path : {Path::Sync, Path::Coroutine}) {
        INFO(name(path));
        Fixture f;
        redress::Policy policy{f.retry()};
        auto o = f.options();
        o.sleep = [](const redress::BackoffContext&, redress::Duration) { return redress::SleepDecision::Defer; };
        std::optional<redress::Duration> end_sleep;
        std::optional<redress::AttemptDecision> decision;
        o.on_attempt_end = [&](const redress::AttemptContext& c) {
            end_sleep = c.sleep;
            decision = c.decision;
        };
        const auto out = execute_on(path, policy, f.script({fail("TRANSIENT")}), o);
        CHECK(out.stop_reason == StopReason::Scheduled);
        CHECK(decision == redress::AttemptDecision::Scheduled);
        REQUIRE(out.next_sleep);
        CHECK(*out.next_sleep == 100ms);
        CHECK(end_sleep == out.next_sleep);
    }
}

TEST_CASE("a breaker-only policy calls the attempt hooks once per started attempt") {
    for (Path path : {Path::Sync, Path::Coroutine}) {
        INFO(name(path));
        Fixture f;
        redress::Policy policy{redress::CircuitBreaker{{.failure_threshold = 5, .clock = f.clock}}};
        std::vector<std::string> hooks;
        auto o = f.options();
        o.on_attempt_start = [&](const redress::AttemptContext& c) { hooks.push_back("start " + std::to_string(c.attempt)); };
        o.on_attempt_end = [&](const redress::AttemptContext& c) {
            hooks.push_back("end " + std::to_string(c.attempt) + " " + std::string(redress::to_string(*c.decision)) +
                            (c.classification != nullptr ? " " + std::string(redress::to_string(c.classification->klass))
                                                         : std::string()));
        };
        execute_on(path, policy, f.script({value(1)}), o);
        execute_on(path, policy, f.script({fail("boom")}), o);
        execute_on(path, policy, f.script({abort_step()}), o);
        CHECK(hooks == std::vector<std::string>{"start 1", "end 1 success", "start 1", "end 1 raise UNKNOWN", "start 1",
                                                "end 1 aborted"});
    }
}

TEST_CASE("a breaker-only policy reports an operation's AbortRetryError as an abort, not a failure") {
    for (Path path : {Path::Sync, Path::Coroutine}) {
        INFO(name(path));
        Fixture f;
        redress::CircuitBreaker breaker{{.failure_threshold = 5, .clock = f.clock}};
        redress::Policy policy{breaker};
        const auto out = execute_on(path, policy, f.script({abort_step()}), f.options());
        CHECK(out.stop_reason == StopReason::Aborted);
        CHECK(out.attempts == 1);
        CHECK_FALSE(out.last_exception);
        CHECK_FALSE(out.last_class);
        CHECK_FALSE(out.cause);
        CHECK(f.log.names() == std::vector<std::string>{"aborted"});
        CHECK(f.log.seen->front().tags == Tags{"stop_reason", "operation"});
        CHECK(breaker.state() == redress::CircuitState::Closed);
    }
}

TEST_CASE("a breaker-only policy measures elapsed on its breaker's clock") {
    for (Path path : {Path::Sync, Path::Coroutine}) {
        INFO(name(path));
        Fixture f;
        redress::Policy policy{redress::CircuitBreaker{{.failure_threshold = 5, .clock = f.clock}}};
        CHECK(execute_on(path, policy, f.script({Step{"", 1, 250ms}}), f.options()).elapsed == 250ms);
        CHECK(execute_on(path, policy, f.script({fail("x", 40ms)}), f.options()).elapsed == 40ms);
    }
}

TEST_CASE("a retry_after longer than the time left stops at once with DeadlineExceeded") {
    for (Path path : {Path::Sync, Path::Coroutine}) {
        INFO(name(path));
        Fixture f;
        auto r = f.retry();
        r.deadline = 60s;
        r.strategy = redress::retry_after_or(DeterministicStrategy{1s}, 0ms);
        redress::Policy policy{r};
        const auto t0 = f.clock.now();
        const auto out = execute_on(path, policy, f.script({fail("RATE_LIMIT@120000"), value(1)}), f.options());
        CHECK(out.stop_reason == StopReason::DeadlineExceeded);
        CHECK(out.attempts == 1);
        CHECK(f.clock.now() - t0 == 0s);  // no sleep
        CHECK(f.log.names() == std::vector<std::string>{"deadline_exceeded"});
        CHECK(out.last_class == ErrorClass::RateLimit);

        // A hint that fits is honoured.
        Fixture g;
        auto r2 = g.retry();
        r2.strategy = redress::retry_after_or(DeterministicStrategy{1s}, 0ms);
        const auto ok = execute_on(path, redress::Policy{r2}, g.script({fail("RATE_LIMIT@30000"), value(1)}), g.options());
        CHECK(ok.ok);
        CHECK(ok.elapsed == 30s);
    }
}
