// Budgets kept by a BudgetBackend inside the engine: every path tells a budget that counts
// requests of each operation exactly once, a budget that does not is never told, and the
// backend's verdict (answered or not) gives the exact event sequence on sync and Task paths.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <redress/redress.hpp>
#include <redress/testing.hpp>

using namespace std::chrono_literals;
using redress::Budget;
using redress::BudgetVerdict;
using redress::EventName;
using redress::testing::ManualClock;

namespace {

/// A backend that counts what it is told and answers `verdict` to every retry.
class ScriptedBackend final : public redress::BudgetBackend {
public:
    explicit ScriptedBackend(BudgetVerdict verdict = BudgetVerdict::Admitted, bool counts = true)
        : verdict_(verdict), counts_(counts) {}
    BudgetVerdict consume(int) override {
        ++asked;
        return verdict_;
    }
    void record_request() noexcept override { ++requests; }
    [[nodiscard]] bool counts_requests() const noexcept override { return counts_; }
    [[nodiscard]] int remaining() const override { return 0; }

    std::atomic<int> requests{0};
    std::atomic<int> asked{0};

private:
    BudgetVerdict verdict_;
    bool counts_;
};

/// The ways an operation runs under a policy.
enum class Path {
    CallQuiet,
    ExecuteQuiet,
    CallQuietAfterFailure,
    CallQuietTakesAttempt,
    CallWithOptions,
    ExecuteWithOptions,
    CallObserved,
    ExecuteObserved,
    CallRejectingResults,
    Context,
    WithBreaker,
    BreakerRejected,
    AsyncCall,
    AsyncExecute,
    Decorator,
    DecoratorCoroutine,
};

const char* name(Path p) {
    switch (p) {
        case Path::CallQuiet: return "call(fn)";
        case Path::ExecuteQuiet: return "execute(fn)";
        case Path::CallQuietAfterFailure: return "call(fn), first attempt failing";
        case Path::CallQuietTakesAttempt: return "call(fn(const Attempt&))";
        case Path::CallWithOptions: return "call(fn, options)";
        case Path::ExecuteWithOptions: return "execute(fn, options)";
        case Path::CallObserved: return "call(fn) with on_metric";
        case Path::ExecuteObserved: return "execute(fn) with on_metric";
        case Path::CallRejectingResults: return "call(fn) with a result classifier";
        case Path::Context: return "context(options)(fn)";
        case Path::WithBreaker: return "Policy<Retry, CircuitBreaker>::call";
        case Path::BreakerRejected: return "Policy<Retry, CircuitBreaker>::execute, rejected";
        case Path::AsyncCall: return "async_call (Task)";
        case Path::AsyncExecute: return "async_execute (Task)";
        case Path::Decorator: return "redress::retry";
        case Path::DecoratorCoroutine: return "redress::retry, coroutine";
    }
    return "?";
}

using RetryT = redress::Retry<redress::DefaultClassifier, redress::AnyStrategy>;

RetryT settings(const Budget& budget, const ManualClock& clock) {
    return RetryT{
        .strategy = redress::constant(1ms),
        .budget = budget,
        .sleeper = redress::testing::AdvancingSleeper(clock),
        .clock = clock,
    };
}

/// Runs one operation on `path` with `budget`.
void run_once(Path path, const Budget& budget, const ManualClock& clock) {
    auto retry = settings(budget, clock);
    const auto ok = [] { return 1; };
    const auto ok_task = []() -> redress::Task<int> { co_return 1; };
    switch (path) {
        case Path::CallQuiet: CHECK(redress::Policy{retry}.call(ok) == 1); return;
        case Path::ExecuteQuiet: CHECK(redress::Policy{retry}.execute(ok).ok); return;
        case Path::CallQuietAfterFailure: {
            int calls = 0;
            CHECK(redress::Policy{retry}.call([&] {
                if (++calls == 1) throw redress::ServerError("503");
                return calls;
            }) == 2);
            return;
        }
        case Path::CallQuietTakesAttempt:
            CHECK(redress::Policy{retry}.call([](const redress::Attempt& a) { return a.number; }) == 1);
            return;
        case Path::CallWithOptions: CHECK(redress::Policy{retry}.call(ok, {.operation = "op"}) == 1); return;
        case Path::ExecuteWithOptions: CHECK(redress::Policy{retry}.execute(ok, {.operation = "op"}).ok); return;
        case Path::CallObserved:
            retry.on_metric = [](const redress::Event&) {};
            CHECK(redress::Policy{retry}.call(ok) == 1);
            return;
        case Path::ExecuteObserved:
            retry.on_metric = [](const redress::Event&) {};
            CHECK(redress::Policy{retry}.execute(ok).ok);
            return;
        case Path::CallRejectingResults: {
            redress::Policy policy{redress::Retry{
                .result_classifier = [](const int& v) -> std::optional<redress::ErrorClass> {
                    if (v < 0) return redress::ErrorClass::Transient;
                    return std::nullopt;
                },
                .strategy = redress::constant(1ms),
                .budget = budget,
                .sleeper = redress::testing::AdvancingSleeper(clock),
                .clock = clock,
            }};
            CHECK(policy.call(ok) == 1);
            return;
        }
        case Path::Context: {
            const redress::Policy policy{retry};
            CHECK(policy.context({.operation = "op"})(ok) == 1);
            return;
        }
        case Path::WithBreaker:
            CHECK(redress::Policy{retry, redress::CircuitBreaker{{.clock = clock}}}.call(ok) == 1);
            return;
        case Path::BreakerRejected: {
            redress::CircuitBreaker breaker{{.clock = clock}};
            breaker.isolate();
            CHECK(redress::Policy{retry, breaker}.execute(ok).stop_reason == redress::StopReason::CircuitOpen);
            return;
        }
        case Path::AsyncCall: CHECK(redress::sync_wait(redress::Policy{retry}.async_call(ok_task)) == 1); return;
        case Path::AsyncExecute: CHECK(redress::sync_wait(redress::Policy{retry}.async_execute(ok_task)).ok); return;
        case Path::Decorator: CHECK(redress::retry(ok, retry)() == 1); return;
        case Path::DecoratorCoroutine: CHECK(redress::sync_wait(redress::retry(ok_task, retry)()) == 1); return;
    }
}

const auto every_path = {Path::CallQuiet,         Path::ExecuteQuiet,       Path::CallQuietAfterFailure,
                         Path::CallQuietTakesAttempt, Path::CallWithOptions, Path::ExecuteWithOptions,
                         Path::CallObserved,      Path::ExecuteObserved,    Path::CallRejectingResults,
                         Path::Context,           Path::WithBreaker,        Path::BreakerRejected,
                         Path::AsyncCall,         Path::AsyncExecute,       Path::Decorator,
                         Path::DecoratorCoroutine};

}  // namespace

TEST_CASE("every path tells a budget that counts requests of each operation exactly once") {
    for (const Path path : every_path) {
        CAPTURE(name(path));
        ManualClock clock;
        const auto backend = std::make_shared<ScriptedBackend>();
        const Budget budget(backend);
        for (int i = 0; i < 3; ++i) run_once(path, budget, clock);
        CHECK(backend->requests == 3);
        // Only a failed attempt asks for a retry.
        CHECK(backend->asked == (path == Path::CallQuietAfterFailure ? 3 : 0));
    }
}

TEST_CASE("on every path a ratio budget counts each operation: remaining grows by the ratio per operation") {
    for (const Path path : every_path) {
        CAPTURE(name(path));
        ManualClock clock;
        const Budget budget(redress::RatioBudgetOptions{.ratio = 1.0, .min_retries_per_second = 0, .clock = clock});
        for (int i = 0; i < 4; ++i) run_once(path, budget, clock);
        // One retry was taken per operation on the failing path.
        CHECK(budget.remaining() == (path == Path::CallQuietAfterFailure ? 0 : 4));
    }
}

TEST_CASE("a budget that does not count requests is never told of them, on any path") {
    for (const Path path : every_path) {
        CAPTURE(name(path));
        ManualClock clock;
        const auto backend = std::make_shared<ScriptedBackend>(BudgetVerdict::Admitted, false);
        const Budget budget(backend);
        CHECK_FALSE(budget.counts_requests());
        run_once(path, budget, clock);
        CHECK(backend->requests == 0);
    }
}

TEST_CASE("the backend's verdict gives the exact event sequence, on the sync and Task paths") {
    using V = BudgetVerdict;
    const auto [verdict, expected] = GENERATE(table<V, std::vector<std::string>>({
        {V::Admitted, {"retry", "retry", "max_attempts_exceeded"}},
        {V::AdmittedUnavailable,
         {"budget_backend_unavailable", "retry", "budget_backend_unavailable", "retry", "max_attempts_exceeded"}},
        {V::Refused, {"budget_exhausted"}},
        {V::RefusedUnavailable, {"budget_backend_unavailable", "budget_exhausted"}},
    }));
    const bool task = GENERATE(false, true);
    CAPTURE(redress::to_string(redress::EventName::BudgetBackendUnavailable), static_cast<int>(verdict), task);
    ManualClock clock;
    const auto backend = std::make_shared<ScriptedBackend>(verdict);
    auto retry = settings(Budget(backend), clock);
    retry.max_attempts = 3;
    std::vector<std::string> names;
    std::vector<redress::Event> unavailable;
    std::vector<std::string> operations;  // an event's views are valid during the hook only
    retry.on_metric = [&](const redress::Event& e) {
        names.emplace_back(redress::to_string(e.name));
        if (e.name == EventName::BudgetBackendUnavailable) {
            unavailable.push_back(e);
            operations.emplace_back(e.operation);
        }
    };
    const redress::Policy policy{retry};
    const auto out = task ? redress::sync_wait(policy.async_execute([]() -> redress::Task<int> {
                                throw redress::ServerError("503");
                                co_return 0;
                            }, {.operation = "op"}))
                          : policy.execute([]() -> int { throw redress::ServerError("503"); }, {.operation = "op"});
    CHECK(names == expected);
    const bool admitted = redress::admitted(verdict);
    CHECK(out.stop_reason == (admitted ? redress::StopReason::MaxAttemptsGlobal : redress::StopReason::BudgetExhausted));
    CHECK(out.attempts == (admitted ? 3 : 1));
    CHECK(backend->asked == (admitted ? 2 : 1));
    for (const auto& op : operations) CHECK(op == "op");
    for (const auto& e : unavailable) {  // the failure's tags, as on the retry it precedes
        CHECK(e.error_class == redress::ErrorClass::ServerError);
        CHECK(e.cause == redress::FailureCause::Exception);
        CHECK_FALSE(e.stop_reason.has_value());
        CHECK(e.sleep == redress::Duration::zero());
    }
}
