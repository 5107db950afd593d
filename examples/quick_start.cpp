// The README's first look: a policy, and a call under it.
#include <cstdio>
#include <string>

// Stands in for an HTTP client.
std::string fetch(const std::string& url) { return "<html>" + url + "</html>"; }

// snippet-begin: readme
#include <redress/redress.hpp>

using namespace std::chrono_literals;

redress::Policy policy{redress::Retry{
    .classifier = redress::default_classifier,
    .strategy = redress::decorrelated_jitter({.max = 5s}),
    .deadline = 30s,
    .max_attempts = 5,
}};

std::string home_page() {
    return policy.call([] { return fetch("https://example.com/"); });
}
// snippet-end: readme

int main() {
    const auto body = home_page();
    std::printf("%s\n", body.c_str());
    return body == "<html>https://example.com/</html>" ? 0 : 1;
}
