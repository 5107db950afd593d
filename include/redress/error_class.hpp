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
///
/// Only the eight `ErrorClass` enumerators can be members. A value outside them
/// (`static_cast<ErrorClass>(8)`) is never added and never found; inserting one clears
/// `valid()`, so a component that takes the set as an option can reject it (a breaker's
/// `trip_on` does). Every member is total: no input is undefined behaviour.
class ErrorClassSet {
public:
    constexpr ErrorClassSet() noexcept = default;
    /// The set of `classes` (duplicates are harmless; a value outside `ErrorClass` clears `valid()`).
    constexpr ErrorClassSet(std::initializer_list<ErrorClass> classes) noexcept {
        for (auto c : classes) insert(c);
    }

    /// Adds `c` (no-op when present). A value outside `ErrorClass` is not added; it clears `valid()`.
    constexpr void insert(ErrorClass c) noexcept { bits_ = static_cast<Bits>(bits_ | bit(c)); }
    /// Removes `c` (no-op when absent, and for a value outside `ErrorClass`).
    constexpr void erase(ErrorClass c) noexcept { bits_ = static_cast<Bits>(bits_ & ~(bit(c) & class_mask)); }
    /// True when `c` is in the set; always false for a value outside `ErrorClass`.
    [[nodiscard]] constexpr bool contains(ErrorClass c) const noexcept { return (bits_ & bit(c) & class_mask) != 0; }
    /// True when no class is in the set.
    [[nodiscard]] constexpr bool empty() const noexcept { return (bits_ & class_mask) == 0; }
    /// How many classes are in the set.
    [[nodiscard]] constexpr std::size_t size() const noexcept {
        std::size_t n = 0;
        for (unsigned b = bits_ & class_mask; b != 0; b &= b - 1) ++n;
        return n;
    }
    /// False when a value outside `ErrorClass` was ever inserted (it was dropped).
    [[nodiscard]] constexpr bool valid() const noexcept { return (bits_ & invalid_bit) == 0; }

    friend constexpr bool operator==(ErrorClassSet, ErrorClassSet) noexcept = default;

private:
    using Bits = std::uint16_t;
    /// Bits 0-7: the classes, by enumerator value. Bit 8: an out-of-range value was inserted.
    static constexpr unsigned class_mask = (1U << error_class_count) - 1;
    static constexpr unsigned invalid_bit = 1U << error_class_count;

    /// The class's bit, or `invalid_bit` for a value outside `ErrorClass` (the shift is only
    /// ever by 0-7: shifting by the raw value would be undefined from 32 up).
    static constexpr unsigned bit(ErrorClass c) noexcept {
        const auto i = static_cast<unsigned>(c);  // a negative value wraps to a large one
        return i < error_class_count ? 1U << i : invalid_bit;
    }
    Bits bits_ = 0;
};

/// A per-class table: at most one `T` for each `ErrorClass`, looked up by array index.
/// Built from pairs: `PerClass<int>{{ErrorClass::RateLimit, 3}, {ErrorClass::ServerError, 5}}`.
/// A class listed twice keeps the last value. A value outside `ErrorClass` can never be a
/// key: `set` throws, and the lookups (`find`, `contains`, `erase`) treat it as absent.
/// `constexpr` when `T` is a literal type (`PerClass<int>` in a `RetryLimits`).
template <class T>
class PerClass {
public:
    constexpr PerClass() = default;
    /// The table of `entries`; a class listed twice keeps the last value. Throws
    /// `std::invalid_argument` for a value outside `ErrorClass`.
    constexpr PerClass(std::initializer_list<std::pair<ErrorClass, T>> entries) {
        for (const auto& [klass, value] : entries) set(klass, value);
    }

    /// Sets (or replaces) the entry for `klass`. Throws `std::invalid_argument` for a value
    /// outside `ErrorClass`.
    constexpr void set(ErrorClass klass, T value) {
        const auto i = slot_of(klass);
        if (i == error_class_count) throw std::invalid_argument("redress: not an ErrorClass value");
        slots_[i] = std::move(value);
    }
    /// Removes the entry for `klass`, if any (a value outside `ErrorClass` has none).
    constexpr void erase(ErrorClass klass) noexcept {
        if (const auto i = slot_of(klass); i != error_class_count) slots_[i].reset();
    }

    /// The entry for `klass`, or null (always null for a value outside `ErrorClass`).
    [[nodiscard]] constexpr const T* find(ErrorClass klass) const noexcept {
        const auto i = slot_of(klass);
        return i != error_class_count && slots_[i] ? &*slots_[i] : nullptr;
    }
    /// True when `klass` has an entry (never for a value outside `ErrorClass`).
    [[nodiscard]] constexpr bool contains(ErrorClass klass) const noexcept { return find(klass) != nullptr; }
    /// True when no class has an entry.
    [[nodiscard]] constexpr bool empty() const noexcept {
        for (const auto& s : slots_)
            if (s) return false;
        return true;
    }

    /// Calls `f(ErrorClass, const T&)` for every entry, in enumerator order.
    template <class F>
    constexpr void for_each(F&& f) const {
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (slots_[i]) f(static_cast<ErrorClass>(i), *slots_[i]);
    }

private:
    /// The slot of `klass`, or `error_class_count` for a value outside `ErrorClass`.
    static constexpr std::size_t slot_of(ErrorClass klass) noexcept {
        const auto i = static_cast<std::size_t>(static_cast<unsigned>(klass));
        return i < error_class_count ? i : error_class_count;
    }
    std::array<std::optional<T>, error_class_count> slots_{};
};

}  // namespace redress
