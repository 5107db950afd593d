// Shared machinery for the library's enums: a wire-value table per enum gives
// to_string, parse and operator<< in one place.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <ostream>
#include <string_view>
#include <type_traits>

namespace redress {
namespace detail {

/// One row of a wire-value table: an enumerator and its wire value. (A plain aggregate
/// rather than `std::pair`, whose constructors every enum's table would instantiate.)
template <class E>
struct WireName {
    E value;
    std::string_view name;
};

/// Specialised once per enum: `static constexpr std::array<WireName<E>, N> values`, listed in
/// enumerator order.
template <class E>
struct WireNames;

template <class E>
concept WireEnum = std::is_enum_v<E> && requires { WireNames<E>::values; };

}  // namespace detail

/// The wire value of an enumerator: the string the Python library uses on metrics and logs.
/// Constant time (table index), no allocation.
template <detail::WireEnum E>
[[nodiscard]] constexpr std::string_view to_string(E value) noexcept {
    constexpr auto& table = detail::WireNames<E>::values;
    const auto index = static_cast<std::size_t>(value);
    return index < table.size() ? table[index].name : std::string_view{"?"};
}

/// Parses a wire value (exact, case-sensitive); `std::nullopt` for anything else.
template <detail::WireEnum E>
[[nodiscard]] constexpr std::optional<E> parse(std::string_view text) noexcept {
    for (const auto& [value, name] : detail::WireNames<E>::values) {
        if (name == text) return value;
    }
    return std::nullopt;
}

/// Every enumerator of `E`, in declaration order.
template <detail::WireEnum E>
[[nodiscard]] constexpr auto all_values() noexcept {
    constexpr auto& table = detail::WireNames<E>::values;
    std::array<E, table.size()> out{};
    for (std::size_t i = 0; i < table.size(); ++i) out[i] = table[i].value;
    return out;
}

template <detail::WireEnum E>
std::ostream& operator<<(std::ostream& os, E value) {
    return os << to_string(value);
}

}  // namespace redress
