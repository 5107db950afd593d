// Uses the core target only: no fmt, no Asio, C++20 from redress::redress.
#include <redress/redress.hpp>

#include <iostream>

static_assert(__cplusplus >= 202002L, "redress::redress must bring C++20");

int main() {
    redress::Event event{.name = redress::EventName::Retry, .attempt = 2};
    event.error_class = redress::ErrorClass::RateLimit;
    const bool ok = redress::to_string(*event.error_class) == "RATE_LIMIT" &&
                    redress::parse<redress::StopReason>("MAX_ATTEMPTS_GLOBAL") == redress::StopReason::MaxAttemptsGlobal &&
                    !redress::is_retryable(redress::ErrorClass::Auth);
    std::cout << "consumer: " << event.name << " attempt=" << event.attempt << " error_class=" << *event.error_class
              << (ok ? " ok" : " WRONG") << '\n';
    return ok ? 0 : 1;
}
