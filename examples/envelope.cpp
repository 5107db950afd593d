// redress::envelope: how long a call can take and how many requests it can send, in the
// worst case, known at compile time; then a worst-case run in virtual time that reaches it.
#include <redress/redress.hpp>
#include <redress/testing.hpp>

#include <cstdio>

using namespace std::chrono_literals;

namespace {

void print(const char* what, redress::TimeBound bound) {
    if (bound.is_infinite())
        std::printf("  %-18s infinite\n", what);
    else
        std::printf("  %-18s %lld ms\n", what,
                    static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(bound.saturated()).count()));
}

void print(const char* name, const redress::Envelope& e) {
    std::printf("%s: %d attempts, %lld requests\n", name, e.max_attempts, static_cast<long long>(e.max_requests));
    print("max_sleep", e.max_sleep);
    print("max_attempt_time", e.max_attempt_time);
    print("max_time", e.max_time);
}

}  // namespace

// snippet-begin: envelope-limits
// The settings that bound the call, as a literal type: checked when the service compiles.
constexpr redress::RetryLimits payments_limits{
    .strategy = redress::exponential({.base = 100ms, .max = 1s}),
    .deadline = 2s,
    .attempt_timeout = 500ms,
    .max_attempts = 3,
};
constexpr redress::Envelope payments_worst = redress::envelope(payments_limits);
static_assert(payments_worst.max_requests == 3);
static_assert(payments_worst.max_sleep == 300ms);  // 100 ms, then 200 ms
static_assert(payments_worst.max_time <= 2s);      // 3 × 500 ms + 300 ms = 1.8 s
// snippet-end: envelope-limits

// snippet-begin: envelope-nest
// A retried call whose every attempt calls a client that retries too.
constexpr redress::RetryLimits gateway_limits{
    .strategy = redress::constant(200ms),
    .deadline = 10s,
    .attempt_timeout = 3s,
    .max_attempts = 3,
};
constexpr redress::Envelope through_gateway = redress::nest(redress::envelope(gateway_limits), payments_worst);
static_assert(through_gateway.max_requests == 9);  // 3 × 3 reach the payments service
static_assert(through_gateway.max_time <= 6s);     // 3 × 1.8 s + 2 × 200 ms = 5.8 s
// snippet-end: envelope-nest

int main() {
    redress::testing::ManualClock clock;

    // snippet-begin: envelope-policy
    // The policy runs with the same values the static_asserts checked.
    auto retry = payments_limits.retry();
    // snippet-hide: envelope-policy
    retry.clock = clock;
    retry.sleeper = redress::testing::AdvancingSleeper(clock);
    // snippet-show: envelope-policy
    const redress::Policy payments{retry};
    // At run time, any policy: the same numbers.
    const redress::Envelope worst = redress::envelope(payments);
    // snippet-end: envelope-policy
    print("payments", worst);
    print("through the gateway", through_gateway);

    // The worst case in virtual time: every attempt fails at its timeout.
    int requests = 0;
    const auto out = payments.execute([&]() -> int {
        ++requests;
        clock.advance(500ms);
        throw redress::ServerError("503 from payments");
    });
    std::printf("worst run: %d requests, %lld ms\n", requests,
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(out.elapsed).count()));

    // snippet-begin: envelope-lint
    // Without attempt_timeout nothing bounds an attempt: the time is infinite, and lint says so.
    const redress::Retry untimed{.strategy = redress::exponential(), .max_attempts = 4};
    const bool unbounded = redress::envelope(untimed).max_time.is_infinite();  // true
    const bool noted = redress::lint(untimed).has("time-unbounded");           // true: a note
    // snippet-end: envelope-lint
    std::printf("untimed: max_time %s; lint: %s", unbounded ? "infinite" : "finite",
                redress::lint(untimed).to_string().c_str());

    const bool as_expected = worst == payments_worst && requests == worst.max_requests && out.elapsed == 1800ms &&
                             worst.max_time == out.elapsed && unbounded && noted;
    return as_expected ? 0 : 1;
}
