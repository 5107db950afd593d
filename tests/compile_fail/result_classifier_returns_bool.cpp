// expect: Retry::result_classifier must be callable as .const T&. -> std::optional<redress::ErrorClass>
// A result classifier that answers "is this a failure?" with a bool. Reported where the
// policy is built, before any call.
#include <redress/redress.hpp>

void build() {
    redress::Policy p{redress::Retry{.result_classifier = [](int status) { return status >= 500; },
                                     .strategy = redress::constant(std::chrono::milliseconds(1))}};
    (void)p;
}
