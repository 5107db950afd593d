// The per-thread random engine behind every jittered strategy: xoshiro256** seeded through
// splitmix64, one engine per thread, no locks and no shared state on the draw path.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace redress::detail {

/// splitmix64 step: advances `state` and returns a well-mixed 64-bit value. The output
/// function is a bijection, so distinct states give distinct outputs.
[[nodiscard]] constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31U);
}

/// xoshiro256** (Blackman and Vigna): 32 bytes of state, a few cycles per draw.
class Xoshiro256 {
public:
    explicit constexpr Xoshiro256(std::uint64_t seed) noexcept { reseed(seed); }

    constexpr void reseed(std::uint64_t seed) noexcept {
        std::uint64_t sm = seed;
        for (auto& word : s_) word = splitmix64(sm);
    }

    constexpr std::uint64_t operator()() noexcept {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17U;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    /// Uniform in [0, 1) with 53 random bits.
    constexpr double uniform01() noexcept { return static_cast<double>((*this)() >> 11U) * 0x1.0p-53; }

private:
    static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
        return (x << static_cast<unsigned>(k)) | (x >> static_cast<unsigned>(64 - k));
    }
    std::uint64_t s_[4]{};
};

/// A fresh seed for a thread that never called `seed_random`: a process-wide counter mixed
/// with the start time, so every thread of a process gets a distinct seed.
[[nodiscard]] inline std::uint64_t fresh_thread_seed() noexcept {
    static const std::uint64_t process_base = static_cast<std::uint64_t>(
        std::chrono::steady_clock::now().time_since_epoch().count());
    static std::atomic<std::uint64_t> counter{0};
    std::uint64_t state = process_base + counter.fetch_add(1, std::memory_order_relaxed) * 0xD1B54A32D192ED03ULL;
    return splitmix64(state);
}

/// The calling thread's engine. Construction is a few integer operations.
[[nodiscard]] inline Xoshiro256& thread_engine() noexcept {
    thread_local Xoshiro256 engine{fresh_thread_seed()};
    return engine;
}

/// Uniform in [0, 1) from the calling thread's engine.
[[nodiscard]] inline double uniform01() noexcept { return thread_engine().uniform01(); }

/// Converts a count of nanoseconds held in a double to nanoseconds, saturating at
/// `nanoseconds::max()`; NaN and negative values give zero.
[[nodiscard]] constexpr std::chrono::nanoseconds ns_to_duration(double ns) noexcept {
    using std::chrono::nanoseconds;
    if (!(ns > 0.0)) return nanoseconds::zero();
    if (ns >= static_cast<double>(nanoseconds::max().count())) return nanoseconds::max();
    return nanoseconds(static_cast<nanoseconds::rep>(ns));
}

/// Uniform between `lo` and `hi` nanoseconds (either order), from the calling thread's engine;
/// saturating, and zero when either bound is NaN.
[[nodiscard]] inline std::chrono::nanoseconds uniform_ns(double lo, double hi) noexcept {
    return ns_to_duration(lo + (hi - lo) * uniform01());
}

/// `a + b` for non-negative durations, saturating at `nanoseconds::max()`.
[[nodiscard]] constexpr std::chrono::nanoseconds saturating_add(std::chrono::nanoseconds a,
                                                                 std::chrono::nanoseconds b) noexcept {
    if (b > std::chrono::nanoseconds::zero() && a > std::chrono::nanoseconds::max() - b)
        return std::chrono::nanoseconds::max();
    return a + b;
}

}  // namespace redress::detail

namespace redress {

/// Reseeds the calling thread's random engine, making every jittered strategy called on this
/// thread afterwards reproducible. Other threads are unaffected; threads that never call it
/// get distinct seeds. Cost: a few integer operations.
inline void seed_random(std::uint64_t seed) noexcept { detail::thread_engine().reseed(seed); }

}  // namespace redress
