// The simulation's random numbers: std::mt19937_64 with the distributions written out, so one
// seed gives the same run on every standard library (std::*_distribution are not specified
// bit for bit, and libstdc++ and libc++ differ).
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>

#include <redress/clock.hpp>

namespace redress::simulation {

/// A seeded source of the draws the model needs. The engine's output is fixed by the standard;
/// the conversions below use only arithmetic and `<cmath>`. Not thread-safe (one per run).
class Random {
public:
    /// Seeds the engine: the same seed, the same draws.
    explicit Random(std::uint64_t seed) : engine_(seed) {}

    /// Uniform in [0, 1), from the top 53 bits of one draw.
    [[nodiscard]] double uniform01() { return static_cast<double>(engine_() >> 11U) * 0x1.0p-53; }

    /// True with probability `p`.
    [[nodiscard]] bool bernoulli(double p) { return uniform01() < p; }

    /// Exponentially distributed with the given mean (inverse transform).
    [[nodiscard]] Duration exponential(Duration mean) {
        return from_ns(-std::log1p(-uniform01()) * static_cast<double>(mean.count()));
    }

    /// Standard normal (Box-Muller; one value per call, the second is dropped for simplicity).
    [[nodiscard]] double normal() {
        const double u1 = 1.0 - uniform01();  // in (0, 1]: log(u1) is finite
        const double u2 = uniform01();
        constexpr double two_pi = 6.283185307179586476925;
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(two_pi * u2);
    }

    /// `|normal(mean, sd)|`: the network delay of the AWS backoff simulator. With `sd` 0 it is
    /// `mean` (for `mean` >= 0), but still uses up the normal's two draws, so the draws that
    /// follow do not depend on it; it skips the normal's `log`, `sqrt` and `cos`.
    [[nodiscard]] Duration folded_normal(Duration mean, Duration sd) {
        if (sd == Duration::zero() && mean >= Duration::zero()) {
            engine_.discard(2);
            return mean;
        }
        return from_ns(std::fabs(static_cast<double>(mean.count()) + normal() * static_cast<double>(sd.count())));
    }

    /// The parameters of a log-normal with a given mean and coefficient of variation, computed
    /// once (a `log` and a `log1p` fewer per draw).
    class LogNormal {
    public:
        /// Mean `mean`, coefficient of variation `cv` (0 or less: always `mean`).
        LogNormal(Duration mean, double cv) : mean_(mean), cv_(cv) {
            if (cv <= 0.0) return;
            const double sigma2 = std::log1p(cv * cv);
            mu_ = std::log(static_cast<double>(mean.count())) - sigma2 / 2.0;
            sigma_ = std::sqrt(sigma2);
        }

    private:
        friend class Random;
        Duration mean_;
        double cv_;
        double mu_ = 0.0;
        double sigma_ = 0.0;
    };

    /// A draw of `d`.
    [[nodiscard]] Duration lognormal(const LogNormal& d) {
        if (d.cv_ <= 0.0) return d.mean_;
        return from_ns(std::exp(d.mu_ + d.sigma_ * normal()));
    }

    /// Log-normal with the given mean and coefficient of variation (`cv` 0: always `mean`).
    [[nodiscard]] Duration lognormal(Duration mean, double cv) { return lognormal(LogNormal(mean, cv)); }

    /// A 64-bit seed for another engine (the policy's jitter).
    [[nodiscard]] std::uint64_t next_seed() { return engine_(); }

private:
    static Duration from_ns(double ns) { return Duration{static_cast<Duration::rep>(ns)}; }

    std::mt19937_64 engine_;
};

}  // namespace redress::simulation
