// Testing code that uses a policy: write it against any policy type, then hand it a
// FakePolicy (scripted outcomes, no retries) or a RecordingPolicy (the real policy, recorded)
// in tests. Virtual time (ManualClock + AdvancingSleeper) keeps real policies instant.
#include <redress/redress.hpp>
#include <redress/testing.hpp>
#include <redress/testing/fake_policy.hpp>
#include <redress/testing/recording_policy.hpp>

#include <cstdio>
#include <string>

using namespace std::chrono_literals;

// ---- the code under test -------------------------------------------------------------

// A service that takes its policy as a template parameter (or a constructor argument of a
// class template), so tests can inject a fake.
// snippet-begin: testing-1
template <class PolicyT>
class ProfileService {
public:
    explicit ProfileService(PolicyT policy) : policy_(std::move(policy)) {}

    std::string profile(int id) {
        try {
            return policy_.call([&] { return fetch(id); }, {.operation = "fetch_profile"});
        } catch (const redress::CircuitOpenError&) {
            return "cached";
        } catch (const std::exception&) {
            return "unavailable";
        }
    }

private:
    static std::string fetch(int id) { return "profile-" + std::to_string(id); }
    PolicyT policy_;
};
// snippet-end: testing-1

// ---- the tests ------------------------------------------------------------------------

// snippet-begin: testing-2
bool falls_back_to_cache_when_the_breaker_is_open() {
    auto fake = redress::testing::FakePolicy::reject();
    ProfileService service(fake);  // the fake is a handle: `fake` sees the calls
    return service.profile(1) == "cached" && fake.calls() == 1 && fake.runs() == 0;
}
// snippet-end: testing-2

// snippet-begin: testing-3
bool reports_unavailable_when_retries_run_out() {
    auto fake = redress::testing::FakePolicy::fail_with(redress::StopReason::MaxAttemptsGlobal,
                                                        redress::ErrorClass::ServerError);
    ProfileService service(fake);
    return service.profile(1) == "unavailable";
}
// snippet-end: testing-3

// snippet-begin: testing-4
bool names_its_operation() {
    redress::testing::ManualClock clock;
    redress::testing::RecordingPolicy recording{redress::Policy{redress::Retry{
        .strategy = redress::testing::instant_retries,
        .sleeper = redress::testing::AdvancingSleeper(clock),
        .clock = clock,
    }}};
    ProfileService service(recording);
    const bool value_ok = service.profile(7) == "profile-7";
    const auto call = recording.last_call();
    return value_ok && call.operation == "fetch_profile" && call.ok && call.attempts == 1;
}
// snippet-end: testing-4

int main() {
    const bool a = falls_back_to_cache_when_the_breaker_is_open();
    const bool b = reports_unavailable_when_retries_run_out();
    const bool c = names_its_operation();
    std::printf("breaker open -> cache: %d; exhausted -> unavailable: %d; operation named: %d\n", a, b, c);
    return a && b && c ? 0 : 1;
}
