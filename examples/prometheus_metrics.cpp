// Retry metrics for Prometheus: a sink counts every event in atomics, and the service's
// /metrics handler returns its rendering in the text exposition format.
#include <redress/contrib/prometheus.hpp>
#include <redress/redress.hpp>

#include <cstdio>
#include <string>

using namespace std::chrono_literals;

// snippet-begin: prometheus-2
// The /metrics route of the service's own HTTP server: a GET answers with the rendering.
std::string metrics_response(const redress::contrib::PrometheusSink& metrics) {
    const std::string body = metrics.render();
    return "HTTP/1.1 200 OK\r\nContent-Type: " + std::string(redress::contrib::PrometheusSink::content_type) +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}
// snippet-end: prometheus-2

int main() {
    // snippet-begin: prometheus-1
    // One sink for the process: a handle, so every policy that gets a copy counts into it.
    redress::contrib::PrometheusSink metrics({.max_operations = 50});

    redress::Policy policy{redress::Retry{
        .strategy = redress::constant(1ms),
        .max_attempts = 3,
        .on_metric = metrics,
    }};
    // snippet-end: prometheus-1

    int calls = 0;
    policy.call(
        [&] {
            if (++calls < 3) throw redress::ServerError("503 Service Unavailable");
            return calls;
        },
        {.operation = "fetch_invoice"});
    try {
        policy.call([]() -> int { throw redress::ServerError("502 Bad Gateway"); }, {.operation = "fetch_invoice"});
    } catch (const redress::ServerError&) {
    }

    const std::string response = metrics_response(metrics);
    std::printf("%s", response.c_str());
    const auto has = [&](const std::string& line) { return response.find("\n" + line + "\n") != std::string::npos; };
    const bool ok = response.rfind("HTTP/1.1 200 OK\r\n", 0) == 0 &&
                    has(R"(redress_events_total{operation="fetch_invoice",event="retry",class="SERVER_ERROR"} 4)") &&
                    has(R"(redress_events_total{operation="fetch_invoice",event="success"} 1)") &&
                    has(R"(redress_stops_total{operation="fetch_invoice",stop_reason="MAX_ATTEMPTS_GLOBAL"} 1)") &&
                    has(R"(redress_operation_attempts_bucket{operation="fetch_invoice",le="3"} 2)") &&
                    has(R"(redress_operation_attempts_sum{operation="fetch_invoice"} 6)");
    return ok ? 0 : 1;
}
