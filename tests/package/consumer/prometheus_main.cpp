// Uses redress::prometheus (standard library only): a retried call counted and rendered.
#include <redress/contrib/prometheus.hpp>
#include <redress/redress.hpp>

#include <iostream>
#include <sstream>
#include <string>

using namespace std::chrono_literals;

int main() {
    redress::contrib::PrometheusSink sink;
    redress::Policy policy{redress::Retry{.strategy = redress::constant(1ms), .on_metric = sink}};
    int calls = 0;
    policy.call([&] {
        if (++calls == 1) throw redress::ServerError("503");
    }, {.operation = "fetch"});
    std::istringstream text(sink.render());
    std::string line;
    std::cout << "consumer_prometheus:";
    while (std::getline(text, line))
        if (line.rfind("redress_events_total{", 0) == 0) std::cout << " [" << line << "]";
    std::cout << "\n";
    return 0;
}
