// Exception messages assembled without std::string.
//
// Under C++20 the standard library no longer declares its std::string members as compiled
// once in the library, so every std::string operation a header uses is compiled again in
// every translation unit that reaches it. The library's own messages are short and built on
// failure paths only: a fixed buffer serves them, and `std::runtime_error(const char*)` copies
// the text.
#pragma once

#include <cstddef>
#include <string_view>

namespace redress::detail {

/// A message of at most 255 characters (longer text is cut), built with `<<`:
/// `throw std::invalid_argument((Message{} << "option '" << name << "' " << rule).c_str());`
class Message {
public:
    Message& operator<<(std::string_view piece) noexcept {
        for (const char c : piece) {
            if (size_ + 1 >= sizeof(text_)) break;
            text_[size_++] = c;
        }
        text_[size_] = '\0';
        return *this;
    }

    /// Appends the decimal digits of `n`, as `std::to_string` writes them.
    Message& operator<<(long long n) noexcept {
        char digits[24];
        std::size_t count = 0;
        // Negated digit by digit so that the most negative value needs no special case.
        const bool negative = n < 0;
        do {
            const long long digit = n % 10;
            digits[count++] = static_cast<char>('0' + (negative ? -digit : digit));
            n /= 10;
        } while (n != 0);
        if (negative) digits[count++] = '-';
        char ordered[24];
        for (std::size_t i = 0; i < count; ++i) ordered[i] = digits[count - 1 - i];
        return *this << std::string_view(ordered, count);
    }
    Message& operator<<(int n) noexcept { return *this << static_cast<long long>(n); }

    [[nodiscard]] const char* c_str() const noexcept { return text_; }

private:
    char text_[256] = {};
    std::size_t size_ = 0;
};

}  // namespace redress::detail
