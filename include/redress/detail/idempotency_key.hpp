// Idempotency keys: random UUID version 4 text, drawn from a per-thread engine seeded from
// the system's entropy (keys leave the process, so they must not repeat across processes).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include <redress/detail/random.hpp>

// Unix-like systems have /dev/urandom, read directly: <random>, only needed for
// `std::random_device`, is one of the costliest standard headers (with the <cmath> it brings,
// +14 % of the memory g++ 12 allocates for a translation unit with <redress/redress.hpp>).
#if !defined(__unix__) && !defined(__APPLE__)
#include <random>
#endif

namespace redress::detail {

/// 64 bits of the system's entropy: read from /dev/urandom, else from `std::random_device`.
/// Without either (a chroot without /dev), the wall clock, which still differs between
/// processes.
[[nodiscard]] inline std::uint64_t system_entropy() {
    std::uint64_t bits = 0;
#if defined(__unix__) || defined(__APPLE__)
    if (std::FILE* source = std::fopen("/dev/urandom", "rb")) {
        std::setvbuf(source, nullptr, _IONBF, 0);  // 8 bytes, not a buffer's worth
        if (std::fread(&bits, sizeof bits, 1, source) != 1) bits = 0;
        std::fclose(source);
    }
#else
    std::random_device device;
    bits = (std::uint64_t{device()} << 32U) ^ device();
#endif
    if (bits == 0) bits = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    return bits;
}

/// The calling thread's key engine: seeded once per thread from the system's entropy and the
/// process's thread counter, and never reseeded (the jitter engine may be, by `seed_random`).
[[nodiscard]] inline Xoshiro256& key_engine() {
    thread_local Xoshiro256 engine{[] {
        std::uint64_t state = system_entropy() ^ fresh_thread_seed();
        return splitmix64(state);
    }()};
    return engine;
}

/// One key's text: made on first use, the same afterwards.
class IdempotencyKey {
public:
    /// The key, made (122 random bits, UUID version 4 layout) the first time it is asked for.
    [[nodiscard]] std::string_view get() {
        if (!made_) make();
        return {text_.data(), text_.size()};
    }

private:
    void make() {
        auto& engine = key_engine();
        std::uint64_t high = engine();
        std::uint64_t low = engine();
        high = (high & ~std::uint64_t{0xF000}) | 0x4000;                           // version 4
        low = (low & ~(std::uint64_t{0xC} << 60U)) | (std::uint64_t{0x8} << 60U);  // variant 10xx
        // Byte i (from the top of `high`, then of `low`) becomes two digits at offset[i]; the
        // dashes sit between.
        static constexpr std::array<std::uint8_t, 16> offset{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};
        for (unsigned i = 0; i < 8; ++i) {
            put(offset[i], static_cast<std::uint8_t>(high >> (56U - 8U * i)));
            put(offset[8 + i], static_cast<std::uint8_t>(low >> (56U - 8U * i)));
        }
        text_[8] = text_[13] = text_[18] = text_[23] = '-';
        made_ = true;
    }

    void put(std::size_t at, std::uint8_t byte) noexcept {
        static constexpr char digits[] = "0123456789abcdef";
        text_[at] = digits[byte >> 4U];
        text_[at + 1] = digits[byte & 0xFU];
    }

    std::array<char, 36> text_{};
    bool made_ = false;
};

}  // namespace redress::detail
