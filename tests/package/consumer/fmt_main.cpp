// Uses redress::fmt: the target must bring fmt (headers and library) by itself.
#include <redress/fmt.hpp>

#include <fmt/core.h>

#include <chrono>
#include <string>

int main() {
    redress::Event event{.name = redress::EventName::Retry, .attempt = 2};
    event.sleep = std::chrono::milliseconds(250);
    event.error_class = redress::ErrorClass::Transient;
    const std::string line = redress::format_event(event);
    fmt::print("consumer_fmt: {}\n", line);
    return line == "retry attempt=2 sleep=250ms error_class=TRANSIENT" ? 0 : 1;
}
