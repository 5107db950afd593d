// The README's first look: a policy, and a call under it.
#include <redress/redress.hpp>

#include <cstdio>
#include <string>

using namespace std::chrono_literals;

// Stands in for an HTTP client.
std::string fetch(const std::string& url) { return "<html>" + url + "</html>"; }

redress::Policy policy{redress::Retry{
    .classifier = redress::default_classifier,
    .strategy = redress::decorrelated_jitter({.max = 5s}),
    .deadline = 30s,
    .max_attempts = 5,
}};

int main() {
    auto body = policy.call([] { return fetch("https://example.com/"); });
    std::printf("%s\n", body.c_str());
    return body == "<html>https://example.com/</html>" ? 0 : 1;
}
