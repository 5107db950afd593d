// Uses redress::spdlog: a retried call logged through an spdlog logger into a string.
#include <redress/contrib/spdlog.hpp>
#include <redress/redress.hpp>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>
#include <sstream>

using namespace std::chrono_literals;

int main() {
    std::stringstream text;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(text);
    auto logger = std::make_shared<spdlog::logger>("consumer", sink);
    logger->set_pattern("%l %v");
    logger->set_level(spdlog::level::debug);
    redress::Policy policy{redress::Retry{.strategy = redress::constant(1ms), .on_log = redress::contrib::SpdlogHook(logger)}};
    int calls = 0;
    policy.call([&] {
        if (++calls == 1) throw redress::ServerError("503");
    });
    std::string line;
    std::cout << "consumer_spdlog:";
    while (std::getline(text, line)) std::cout << " [" << line << "]";
    std::cout << "\n";
    return 0;
}
