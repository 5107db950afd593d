// Hedging a blocking call: the attempts run on an executor while the calling thread waits,
// sends a hedge when the first attempt is slow, and takes whichever answers first. The
// first lookup here is stuck behind a slow replica; it waits on its stop token, so it ends
// as soon as the hedge has answered.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <string>

#include <redress/redress.hpp>

using namespace std::chrono_literals;

namespace {

// A blocking lookup: the first call takes 2 s (a slow replica), the next 5 ms. A real client
// would close its connection from a std::stop_callback; here the wait itself is stoppable.
std::string lookup(const redress::Attempt& attempt) {
    const auto latency = attempt.number == 1 ? 2s : 5ms;
    std::mutex mutex;
    std::condition_variable_any cv;
    std::unique_lock lock(mutex);
    if (cv.wait_for(lock, attempt.stop_token, latency, [] { return false; }), attempt.stop_token.stop_requested())
        throw std::runtime_error("cancelled: another attempt answered");
    return "user 42 (from attempt " + std::to_string(attempt.number) + ")";
}

}  // namespace

int main() {
    // snippet-begin: sync
    redress::Policy policy{
        redress::Retry{.strategy = redress::decorrelated_jitter({.max = 1s}), .max_attempts = 3},
        redress::Hedge{.delay = 50ms},
    };
    redress::ThreadExecutor executor;  // or a thread pool: anything with execute(std::function<void()>)

    auto outcome = policy.execute(lookup,
                                  {.operation = "lookup",
                                   .on_attempt_end =
                                       [](const redress::AttemptContext& a) {
                                           std::printf("attempt %d: %s\n", a.attempt,
                                                       redress::to_string(*a.decision).data());
                                       }},
                                  redress::hedge_on(executor));  // the attempts run there
    // snippet-end: sync

    std::printf("%s: attempt %d won, %d attempts in all, %s than the slow replica\n", outcome.value->c_str(),
                int{outcome.winner}, outcome.attempts, outcome.elapsed < 1s ? "far sooner" : "no sooner");
    return outcome.ok && outcome.winner == 2 && outcome.elapsed < 1s ? 0 : 1;
}
