// The flagship demo: a flaky downstream, scripted so every run tells the same story, called
// through a Policy with retries inside a circuit breaker. Every event and every outcome is
// printed with <redress/fmt.hpp>. Time is virtual (a ManualClock that the sleeper advances),
// so the 30 s recovery of the breaker passes in an instant.
//
//   GET /users/1   503, then ok           -> retried, succeeds
//   GET /users/2   connection resets      -> retries exhausted  (breaker: failure 1 of 2)
//   GET /users/3   503s                   -> retries exhausted  (breaker opens)
//   GET /users/4                          -> rejected at once, the downstream is not called
//   ... 30 s later
//   GET /users/5   ok                     -> the half-open probe succeeds, the breaker closes
//   GET /users/6   404                    -> permanent: not retried, does not trip the breaker
#include <redress/fmt.hpp>
#include <redress/redress.hpp>
#include <redress/testing.hpp>

#include <fmt/chrono.h>

#include <chrono>
#include <deque>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

struct ConnectionResetError : std::runtime_error {  // TRANSIENT: default_classifier reads the type name
    ConnectionResetError() : std::runtime_error("connection reset by peer") {}
};

namespace {

/// The flaky downstream: each path answers from its script, one entry per request.
class FlakyDownstream {
public:
    explicit FlakyDownstream(std::map<std::string, std::deque<std::string>> script) : script_(std::move(script)) {}

    std::string get(const std::string& path) {
        ++requests_;
        auto& answers = script_.at(path);
        const std::string answer = answers.empty() ? "ok" : answers.front();
        if (!answers.empty()) answers.pop_front();
        if (answer == "reset") throw ConnectionResetError();
        if (answer == "503") throw redress::ServerError("503 Service Unavailable");
        if (answer == "404") throw redress::StatusError(404, "404 Not Found");
        return "{\"path\": \"" + path + "\"}";
    }

    [[nodiscard]] int requests() const { return requests_; }

private:
    std::map<std::string, std::deque<std::string>> script_;
    int requests_ = 0;
};

std::chrono::milliseconds ms(redress::Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d); }

}  // namespace

int main() {
    redress::testing::ManualClock clock;
    const auto start = clock.now();

    FlakyDownstream downstream({
        {"/users/1", {"503"}},
        {"/users/2", {"reset", "reset", "reset"}},
        {"/users/3", {"503", "503", "503"}},
        {"/users/4", {}},
        {"/users/5", {}},
        {"/users/6", {"404"}},
    });

    redress::CircuitBreaker breaker{{
        .failure_threshold = 2,
        .window = 60s,
        .recovery_timeout = 30s,
        .clock = clock,
    }};

    redress::Policy policy{
        redress::Retry{
            .classifier = redress::default_classifier,
            .strategy = redress::exponential({.base = 100ms, .max = 2s}),
            .deadline = 10s,
            .max_attempts = 3,
            .sleeper = redress::testing::AdvancingSleeper(clock),
            .clock = clock,
            // snippet-begin: observability-2
            .on_log = [&](const redress::Event& e) { fmt::print("  {:>7} | {}\n", ms(clock.now() - start), e); },
            // snippet-end: observability-2
        },
        breaker,
    };

    std::vector<std::string> results;
    auto get = [&](const std::string& path) {
        fmt::print("GET {}\n", path);
        auto outcome = policy.execute([&] { return downstream.get(path); }, {.operation = "GET " + path});
        if (outcome.ok) {
            fmt::print("  => ok after {} attempt(s): {}\n\n", outcome.attempts, *outcome.value);
            results.emplace_back("ok");
        } else {
            const auto reason = outcome.stop_reason.value_or(redress::StopReason::MaxAttemptsGlobal);
            fmt::print("  => failed: stop_reason={} last_class={} attempts={} breaker={}\n\n", reason,
                       outcome.last_class ? redress::to_string(*outcome.last_class) : "-", outcome.attempts,
                       breaker.state());
            results.emplace_back(redress::to_string(reason));
        }
    };

    get("/users/1");
    get("/users/2");
    get("/users/3");
    get("/users/4");
    fmt::print("... 30s later\n\n");
    clock.advance(30s);
    get("/users/5");
    get("/users/6");

    const std::vector<std::string> expected{"ok",          "MAX_ATTEMPTS_GLOBAL", "MAX_ATTEMPTS_GLOBAL",
                                            "CIRCUIT_OPEN", "ok",                  "NON_RETRYABLE_CLASS"};
    const bool as_expected = results == expected && breaker.state() == redress::CircuitState::Closed &&
                             downstream.requests() == 2 + 3 + 3 + 0 + 1 + 1;
    fmt::print("breaker: {}; downstream requests: {}; {}\n", breaker.state(), downstream.requests(),
               as_expected ? "as expected" : "UNEXPECTED");
    return as_expected ? 0 : 1;
}
