// Sets and tables of error classes: ErrorClassSet, PerClass, and which classes are retryable.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include <redress/vocabulary.hpp>

namespace redress {

/// Number of error classes; `static_cast<std::size_t>(klass)` indexes arrays of this size.
inline constexpr std::size_t error_class_count = 8;

/// True for the classes that are never retried: `Permanent`, `Auth`, `Permission`.
[[nodiscard]] constexpr bool is_retryable(ErrorClass klass) noexcept {
    return klass != ErrorClass::Permanent && klass != ErrorClass::Auth && klass != ErrorClass::Permission;
}

}  // namespace redress

namespace redress {

/// A set of error classes (a bitmask): `ErrorClassSet{ErrorClass::Transient, ErrorClass::ServerError}`.
/// Value type, constexpr, no allocation.
class ErrorClassSet {
public:
    constexpr ErrorClassSet() noexcept = default;
    /// The set of `classes` (duplicates are harmless).
    constexpr ErrorClassSet(std::initializer_list<ErrorClass> classes) noexcept {
        for (auto c : classes) insert(c);
    }

    /// Adds `c` (no-op when present).
    constexpr void insert(ErrorClass c) noexcept { bits_ |= bit(c); }
    /// Removes `c` (no-op when absent).
    constexpr void erase(ErrorClass c) noexcept { bits_ &= static_cast<std::uint8_t>(~bit(c)); }
    /// True when `c` is in the set.
    [[nodiscard]] constexpr bool contains(ErrorClass c) const noexcept { return (bits_ & bit(c)) != 0; }
    /// True when no class is in the set.
    [[nodiscard]] constexpr bool empty() const noexcept { return bits_ == 0; }
    /// How many classes are in the set.
    [[nodiscard]] constexpr std::size_t size() const noexcept {
        std::size_t n = 0;
        for (auto b = bits_; b != 0; b &= static_cast<std::uint8_t>(b - 1)) ++n;
        return n;
    }

    friend constexpr bool operator==(ErrorClassSet, ErrorClassSet) noexcept = default;

private:
    static constexpr std::uint8_t bit(ErrorClass c) noexcept {
        return static_cast<std::uint8_t>(1U << static_cast<unsigned>(c));
    }
    std::uint8_t bits_ = 0;
};

/// A per-class table: at most one `T` for each `ErrorClass`, looked up by array index.
/// Built from pairs: `PerClass<int>{{ErrorClass::RateLimit, 3}, {ErrorClass::ServerError, 5}}`.
/// A class listed twice keeps the last value.
template <class T>
class PerClass {
public:
    PerClass() = default;
    /// The table of `entries`; a class listed twice keeps the last value. Throws
    /// `std::invalid_argument` for a value outside `ErrorClass`.
    PerClass(std::initializer_list<std::pair<ErrorClass, T>> entries) {
        for (const auto& [klass, value] : entries) set(klass, value);
    }

    /// Sets (or replaces) the entry for `klass`. Throws `std::invalid_argument` for a value
    /// outside `ErrorClass`.
    void set(ErrorClass klass, T value) { slots_[index(klass)] = std::move(value); }
    /// Removes the entry for `klass`, if any.
    void erase(ErrorClass klass) { slots_[index(klass)].reset(); }

    /// The entry for `klass`, or null.
    [[nodiscard]] const T* find(ErrorClass klass) const noexcept {
        const auto& slot = slots_[index(klass)];
        return slot ? &*slot : nullptr;
    }
    /// True when `klass` has an entry.
    [[nodiscard]] bool contains(ErrorClass klass) const noexcept { return slots_[index(klass)].has_value(); }
    /// True when no class has an entry.
    [[nodiscard]] bool empty() const noexcept {
        for (const auto& s : slots_)
            if (s) return false;
        return true;
    }

    /// Calls `f(ErrorClass, const T&)` for every entry, in enumerator order.
    template <class F>
    void for_each(F&& f) const {
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (slots_[i]) f(static_cast<ErrorClass>(i), *slots_[i]);
    }

private:
    static std::size_t index(ErrorClass klass) {
        const auto i = static_cast<std::size_t>(klass);
        if (i >= error_class_count) throw std::invalid_argument("redress: not an ErrorClass value");
        return i;
    }
    std::array<std::optional<T>, error_class_count> slots_{};
};

}  // namespace redress
