// An HTTP client under a policy with <redress/contrib/curl.hpp>: a GET retried through a 503
// and a 429 (waiting as long as its Retry-After says), a POST retried because it carries an
// idempotency key, and a POST without one that is sent once and never again.
//
//   curl_http_client http://127.0.0.1:8080
//
// The integration test (tests/integration/curl) runs it against its scripted server, which
// fails each path first: /inventory with 503 then 429 (Retry-After: 1), /orders and
// /payments with 503.
#include <redress/contrib/curl.hpp>
#include <redress/redress.hpp>

#include <cstdio>
#include <string>

using namespace std::chrono_literals;
namespace http = redress::contrib::curl;

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s BASE_URL\n", argv[0]);
        return 2;
    }
    const std::string base = argv[1];
    curl_global_init(CURL_GLOBAL_DEFAULT);

    int retries = 0;
    // snippet-begin: curl-policy
    redress::RetryPolicy policy{redress::Retry{
        .classifier = http::classifier,  // CURLcode + status, Retry-After, the idempotency rule
        .strategy = redress::retry_after_or(redress::full_jitter({.base = 100ms, .max = 2s})),
        .deadline = 10s,        // bounds the running transfer too
        .attempt_timeout = 2s,  // each transfer's CURLOPT_TIMEOUT_MS
        .max_attempts = 4,
        .on_log =
            [&](const redress::Event& e) {
                if (e.name != redress::EventName::Retry) return;
                ++retries;
                std::printf("  retry after attempt %d: %s, sleeping %lld ms\n", e.attempt,
                            std::string(redress::to_string(*e.error_class)).c_str(),
                            static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(e.sleep).count()));
            },
    }};
    // snippet-end: curl-policy

    // snippet-begin: curl-get
    const http::Options options{
        .connect_timeout = 1s,
        .configure = [](CURL* handle) { curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 1L); },
    };
    http::Response inventory =
        http::perform(policy, {.url = base + "/inventory"}, options, {.operation = "GET /inventory"});
    std::printf("GET /inventory: %ld %s\n", inventory.status, inventory.body.c_str());
    // snippet-end: curl-get

    // snippet-begin: curl-post-key
    http::Response order = http::perform(policy, {
        .method = "POST",
        .url = base + "/orders",
        .headers = {{"Content-Type", "application/json"}, {"Idempotency-Key", "order-7f3a"}},
        .body = R"({"item": "widget", "quantity": 2})",
    });
    // snippet-end: curl-post-key
    std::printf("POST /orders: %ld %s\n", order.status, order.body.c_str());

    const int retries_before_payment = retries;
    bool payment_failed = false;
    // snippet-begin: curl-post-once
    try {
        http::perform(policy, {.method = "POST",
                               .url = base + "/payments",
                               .headers = {{"Content-Type", "application/json"}},
                               .body = R"({"amount": 100})"});
    } catch (const http::RequestError& e) {
        // Sent once: without an idempotency key a POST is not repeated (may_retry() is false).
        std::printf("POST /payments: %s, may_retry=%d, body %s\n", e.what(), e.may_retry(), e.response().body.c_str());
        // snippet-hide: curl-post-once
        payment_failed = !e.may_retry() && e.http_status() >= 500;
        // snippet-show: curl-post-once
    }
    // snippet-end: curl-post-once
    curl_global_cleanup();

    const bool ok = inventory.status == 200 && order.status >= 200 && order.status < 300 && payment_failed &&
                    retries == retries_before_payment;
    std::printf("%s: %d retries in all, none for the POST without a key\n", ok ? "ok" : "FAILED", retries);
    return ok ? 0 : 1;
}
