// Hedging: when an attempt is slower than usual, send another and take whichever answers
// first. Runs in virtual time on redress::testing::VirtualScheduler (a real program passes
// its event loop's timer as the sleeper), against a replica whose first answer is slow.
#include <chrono>
#include <cstdio>
#include <stop_token>
#include <string>

#include <redress/redress.hpp>
#include <redress/testing.hpp>

using namespace std::chrono_literals;

namespace {

redress::testing::ManualClock clock_;
redress::testing::VirtualScheduler loop{clock_};

// A lookup whose first call is stuck behind a slow replica (400 ms); the next takes 30 ms.
// It waits on its stop token, so a lookup that lost the race stops at once.
int calls = 0;
redress::Task<std::string> lookup(std::stop_token token) {
    const auto latency = ++calls == 1 ? 400ms : 30ms;
    co_await loop.sleep(latency, token);
    if (token.stop_requested()) throw std::runtime_error("cancelled: another attempt answered");
    co_return "user 42 (from call " + std::to_string(calls) + ")";
}

}  // namespace

int main() {
    // snippet-begin: policy
    redress::Policy policy{
        redress::Retry{.strategy = redress::decorrelated_jitter({.max = 1s}),
                       .max_attempts = 4,
                       .budget = redress::Budget{20, 60s},  // hedges spend from it too
                       .clock = clock_},
        redress::Hedge{.delay = 100ms,        // until 20 latencies are known
                       .percentile = 0.95,    // then hedge at the p95 of recent successes
                       .max_hedges = 1},
    };
    // snippet-end: policy

    // snippet-begin: call
    auto outcome = loop.run(policy.async_execute(
        lookup,
        {.operation = "lookup",
         .on_log =
             [](const redress::Event& e) {
                 std::printf("%s attempt=%d", redress::to_string(e.name).data(), e.attempt);
                 if (e.name == redress::EventName::HedgeSent)
                     std::printf(" delay=%lldms trigger=%s", static_cast<long long>(e.sleep / 1ms),
                                 redress::to_string(*e.trigger).data());
                 if (e.in_flight) std::printf(" in_flight=%d", *e.in_flight);
                 std::printf("\n");
             }},
        {.sleeper = loop.sleeper()}));  // hedges wait for their delay on the event loop's timer
    // snippet-end: call

    std::printf("%s after %lld ms: attempt %d won, %d in flight, %d attempts in all\n", outcome.value->c_str(),
                static_cast<long long>(outcome.elapsed / 1ms), int{outcome.winner}, int{outcome.in_flight},
                outcome.attempts);
    return outcome.ok && outcome.winner == 2 ? 0 : 1;
}
