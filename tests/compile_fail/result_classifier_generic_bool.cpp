// expect: Retry::result_classifier must be callable as .const T&. -> std::optional<redress::ErrorClass>
// A generic result classifier returning bool: its result type is known only at the call,
// which reports it.
#include <redress/redress.hpp>

int run() {
    redress::Policy p{redress::Retry{.result_classifier = [](const auto& status) { return status >= 500; },
                                     .strategy = redress::constant(std::chrono::milliseconds(1))}};
    return p.call([] { return 200; });
}
