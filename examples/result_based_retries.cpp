// Result-based retries: result_classifier turns returned values into failures.
#include <redress/redress.hpp>

#include <cctype>
#include <cstdio>
#include <map>
#include <optional>
#include <string>

using namespace std::chrono_literals;

struct Response {
    int status = 200;
    std::map<std::string, std::string> headers{};
};

// snippet-begin: usage-patterns-19
std::optional<redress::Classification> result_classifier(const Response& resp) {
    if (resp.status == 429) {
        std::optional<redress::Duration> retry_after;
        if (auto it = resp.headers.find("Retry-After"); it != resp.headers.end() && !it->second.empty() &&
                                                        std::isdigit(static_cast<unsigned char>(it->second[0])))
            retry_after = std::chrono::seconds(std::stoi(it->second));
        return redress::Classification{.klass = redress::ErrorClass::RateLimit, .retry_after = retry_after};
    }
    if (resp.status >= 500) return redress::Classification{.klass = redress::ErrorClass::ServerError};
    return std::nullopt;
}
// snippet-end: usage-patterns-19

int main() {
    // snippet-begin: usage-patterns-20
    redress::RetryPolicy policy{redress::Retry{
        .classifier = redress::default_classifier,
        .result_classifier = result_classifier,
        .strategy = redress::retry_after_or(redress::decorrelated_jitter({.max = 10s})),
        .max_attempts = 3,
    }};
    // snippet-end: usage-patterns-20
    const redress::CallOptions virtual_sleeps{.sleeper = [](redress::Duration) {}};

    int calls = 0;
    auto flaky = [&] {
        ++calls;
        if (calls == 1) return Response{503};
        if (calls == 2) return Response{429, {{"Retry-After", "1"}}};
        return Response{200};
    };
    const Response ok = policy.call(flaky, virtual_sleeps);

    auto fetch_response = [] { return Response{503}; };
    int last_status = 0;
    // snippet-begin: usage-patterns-21
    try {
        policy.call(fetch_response, virtual_sleeps);
    } catch (const redress::RetryExhaustedError& err) {
    // snippet-end: usage-patterns-21
        if (const Response* last = err.last_result<Response>()) last_status = last->status;
        std::printf("gave up: %s after %d attempts, last status %d\n",
                    std::string(redress::to_string(err.stop_reason())).c_str(), err.attempts(), last_status);
    }
    return ok.status == 200 && calls == 3 && last_status == 503 ? 0 : 1;
}
