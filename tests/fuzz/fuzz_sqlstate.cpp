// libFuzzer target: extract_sqlstate returns a five-character code inside the input, made
// of digits and upper-case letters, and classification never crashes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <redress/extras/sqlstate.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    if (const auto code = redress::extras::extract_sqlstate(input)) {
        if (code->size() != 5) __builtin_trap();
        if (code->data() < input.data() || code->data() + code->size() > input.data() + input.size()) __builtin_trap();
        for (const char c : *code) {
            if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) __builtin_trap();
        }
        (void)redress::extras::classify_sqlstate(*code);
    }
    (void)redress::extras::classify_sqlstate(input);
    return 0;
}
