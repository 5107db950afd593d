// SQLSTATE classification (ISO/IEC 9075, as used by PostgreSQL, ODBC, JDBC, MySQL).
// Standard library only: no database client is included.
#pragma once

#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <redress/classification.hpp>
#include <redress/classify.hpp>
#include <redress/error_class.hpp>

namespace redress::extras {

namespace detail_sql {

[[nodiscard]] constexpr char upper(char c) noexcept {
    return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

[[nodiscard]] constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (upper(a[i]) != upper(b[i])) return false;
    return true;
}

[[nodiscard]] constexpr bool code_char(char c) noexcept { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'); }

[[nodiscard]] constexpr bool word_char(char c) noexcept {
    return code_char(c) || (c >= 'a' && c <= 'z') || c == '_';
}

/// Five SQLSTATE characters (digits, upper-case letters) at `s[pos]`, not followed by
/// another word character.
[[nodiscard]] constexpr bool code_at(std::string_view s, std::size_t pos) noexcept {
    if (pos + 5 > s.size()) return false;
    for (std::size_t i = 0; i < 5; ++i)
        if (!code_char(s[pos + i])) return false;
    return pos + 5 == s.size() || !word_char(s[pos + 5]);
}

/// Start of every case-insensitive occurrence of `needle` at or after `from`; npos at the end.
[[nodiscard]] constexpr std::size_t ifind(std::string_view s, std::string_view needle, std::size_t from) noexcept {
    for (std::size_t i = from; i + needle.size() <= s.size(); ++i)
        if (iequals(s.substr(i, needle.size()), needle)) return i;
    return std::string_view::npos;
}

[[nodiscard]] constexpr bool separator(char c) noexcept {
    return c == ' ' || c == '\t' || c == ':' || c == '=' || c == '[' || c == '(' || c == '\'' || c == '"';
}

}  // namespace detail_sql

/// SQLSTATE → class: 40001 (serialization failure), 40P01 (deadlock) → `Concurrency`;
/// HYT00, HYT01 (timeouts) and class 08 (connection exceptions) → `Transient`; class 28
/// (invalid authorization) → `Auth`; 42000, 42P01 → `Permanent`; anything else, including
/// malformed codes, `Unknown`. Case-insensitive. Constant time; never throws.
[[nodiscard]] constexpr ErrorClass classify_sqlstate(std::string_view code) noexcept {
    using detail_sql::iequals;
    if (code.size() != 5) return ErrorClass::Unknown;
    if (iequals(code, "40001") || iequals(code, "40P01")) return ErrorClass::Concurrency;
    if (iequals(code, "HYT00") || iequals(code, "HYT01")) return ErrorClass::Transient;
    if (code.substr(0, 2) == "08") return ErrorClass::Transient;
    if (code.substr(0, 2) == "28") return ErrorClass::Auth;
    if (iequals(code, "42000") || iequals(code, "42P01")) return ErrorClass::Permanent;
    return ErrorClass::Unknown;
}

/// Finds a SQLSTATE in an error message; the result views `text`. Accepted shapes (codes are
/// five digits or upper-case letters, ending at a non-word character):
/// * the whole text (spaces trimmed) is a code: `"40001"`;
/// * the word `SQLSTATE` (any case) then at most four of ` \t:=[('"` then the code:
///   `"SQLSTATE 40001"`, `"(SQLSTATE 40P01)"`, `"SQLSTATE: 40001"`, `"SQLSTATE[40001]: ..."` (PDO),
///   `"sqlstate='08006'"`;
/// * libpq's verbose form, `ERROR:` then spaces then the code then `:`: `"ERROR:  40001: could not ..."`.
/// The first match wins. None otherwise. Linear in the text length times a constant; never throws.
[[nodiscard]] constexpr std::optional<std::string_view> extract_sqlstate(std::string_view text) noexcept {
    namespace d = detail_sql;
    std::string_view trimmed = text;
    while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\t')) trimmed.remove_prefix(1);
    while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\t')) trimmed.remove_suffix(1);
    if (trimmed.size() == 5 && d::code_at(trimmed, 0)) return trimmed;

    for (std::size_t at = d::ifind(text, "SQLSTATE", 0); at != std::string_view::npos;
         at = d::ifind(text, "SQLSTATE", at + 1)) {
        std::size_t pos = at + 8;
        for (int n = 0; n < 4 && pos < text.size() && d::separator(text[pos]); ++n) ++pos;
        if (d::code_at(text, pos)) return text.substr(pos, 5);
    }
    for (std::size_t at = d::ifind(text, "ERROR:", 0); at != std::string_view::npos;
         at = d::ifind(text, "ERROR:", at + 1)) {
        std::size_t pos = at + 6;
        while (pos < text.size() && text[pos] == ' ') ++pos;
        if (d::code_at(text, pos) && pos + 5 < text.size() && text[pos + 5] == ':') return text.substr(pos, 5);
    }
    return std::nullopt;
}

/// A database failure carrying its SQLSTATE. Throw it from a database wrapper, or let
/// `sqlstate_classifier` find the code in another exception's message.
class SqlError : public std::runtime_error {
public:
    /// `sqlstate` is the five-character SQLSTATE; `message` the `what()` text (by default
    /// `SQLSTATE 40001` for 40001).
    explicit SqlError(std::string sqlstate, const std::string& message = {})
        : std::runtime_error(message.empty() ? "SQLSTATE " + sqlstate : message), sqlstate_(std::move(sqlstate)) {}

    /// The SQLSTATE as given.
    [[nodiscard]] const std::string& sqlstate() const noexcept { return sqlstate_; }

private:
    std::string sqlstate_;
};

/// `SqlError` → `classify_sqlstate(sqlstate())`; another `std::exception` whose `what()`
/// holds a SQLSTATE (see `extract_sqlstate`) of a known class → that class; everything else
/// as `redress::default_classifier`. Stateless; thread-safe; never throws. Looks at the
/// exception once, as `default_classifier` does (no rethrow under libstdc++).
struct SqlstateClassifier {
    /// The classification of the exception `error` holds (`Unknown` for an empty pointer).
    [[nodiscard]] Classification operator()(const std::exception_ptr& error) const {
        if (!error) return Classification{};
        return redress::detail::with_thrown(error, [](const redress::detail::ThrownView& thrown) {
            if (const auto* e = thrown.as<SqlError>()) return Classification{classify_sqlstate(e->sqlstate())};
            if (const auto* e = thrown.as_std()) {
                if (const auto code = extract_sqlstate(e->what())) {
                    if (const auto klass = classify_sqlstate(*code); klass != ErrorClass::Unknown) return Classification{klass};
                }
            }
            return Classification{redress::detail::classify_thrown(thrown, true)};
        });
    }
};

/// `.classifier = redress::extras::sqlstate_classifier`
inline constexpr SqlstateClassifier sqlstate_classifier{};

}  // namespace redress::extras
