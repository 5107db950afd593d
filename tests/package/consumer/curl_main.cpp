// Uses redress::curl: a request to a closed loopback port under a two-attempt policy, so
// libcurl is linked and called, and the connection refusal is classified and retried.
#include <redress/contrib/curl.hpp>

#include <iostream>

using namespace std::chrono_literals;
namespace http = redress::contrib::curl;

int main() {
    redress::Policy policy{redress::Retry{
        .classifier = http::classifier,
        .strategy = redress::constant(1ms),
        .max_attempts = 2,
    }};
    int attempts = 0;
    try {
        (void)http::perform(policy, {.url = "http://127.0.0.1:1/"}, {},
                            {.on_attempt_start = [&](const redress::AttemptContext&) { ++attempts; }});
    } catch (const http::RequestError& e) {
        std::cout << "consumer_curl: code=" << e.curl_code()
                  << " class=" << redress::to_string(redress::extras::classify_curl(e.curl_code(), e.http_status()))
                  << " attempts=" << attempts << "\n";
        return 0;
    }
    return 1;
}
