// expect: Retry::result_classifier must be callable as .const T&. -> std::optional<redress::ErrorClass>
// A result classifier for strings on an operation that returns an int.
#include <optional>
#include <string>

#include <redress/redress.hpp>

std::optional<redress::ErrorClass> judge(const std::string& body) {
    if (body.empty()) return redress::ErrorClass::Transient;
    return std::nullopt;
}

int run() {
    redress::Policy p{redress::Retry{.result_classifier = judge, .strategy = redress::constant(std::chrono::milliseconds(1))}};
    return p.call([] { return 200; });
}
