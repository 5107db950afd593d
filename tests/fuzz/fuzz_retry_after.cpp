// libFuzzer target: parse_retry_after never crashes, never overflows, never goes negative,
// and a later `now` never gives a longer wait.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <redress/extras/http.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace std::chrono;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const system_clock::time_point now = sys_days{year{2024} / 6 / 1} + hours(12);

    const auto first = redress::extras::parse_retry_after(input, now);
    if (first && *first < redress::Duration::zero()) __builtin_trap();

    const auto later = redress::extras::parse_retry_after(input, now + hours(1));
    if (first.has_value() != later.has_value()) __builtin_trap();
    if (first && *later > *first) __builtin_trap();

    const auto response = redress::extras::classify_http_response(503, input, now);
    if (!response || response->retry_after != first) __builtin_trap();
    return 0;
}
