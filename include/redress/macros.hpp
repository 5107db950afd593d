// REDRESS_RETRY: run an expression under a policy, named after the function it calls.
#pragma once

#include <cstddef>
#include <string_view>

#include <redress/retry.hpp>

namespace redress::detail {

// ---- reading an expression's text at compile time ------------------------------------------
// The macros name an operation after the function its expression calls: a slice of the
// stringized expression, found by a scan at compile time (no allocation, no run-time cost,
// no storage but the string literal itself).

[[nodiscard]] constexpr bool is_name_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

[[nodiscard]] constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

[[nodiscard]] constexpr std::string_view trim_spaces(std::string_view t) noexcept {
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t' || t.front() == '\n')) t.remove_prefix(1);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t' || t.back() == '\n')) t.remove_suffix(1);
    return t;
}

/// The position just past the string or character literal that starts at `t[i]` (a quote):
/// escapes and raw strings (`R"x(...)x"`) are understood. `t.size()` when unterminated.
[[nodiscard]] constexpr std::size_t skip_literal(std::string_view t, std::size_t i) noexcept {
    const char quote = t[i];
    if (quote == '"' && i > 0 && t[i - 1] == 'R') {
        const std::size_t open = t.find('(', i);
        if (open == std::string_view::npos) return t.size();
        const std::string_view delimiter = t.substr(i + 1, open - i - 1);
        for (std::size_t j = open + 1; j < t.size(); ++j) {
            if (t[j] == ')' && t.substr(j + 1, delimiter.size()) == delimiter && j + 1 + delimiter.size() < t.size() &&
                t[j + 1 + delimiter.size()] == '"')
                return j + delimiter.size() + 2;
        }
        return t.size();
    }
    for (std::size_t j = i + 1; j < t.size(); ++j) {
        if (t[j] == '\\') {
            ++j;
        } else if (t[j] == quote) {
            return j + 1;
        }
    }
    return t.size();
}

/// Whether the `'` at `t[i]` is a digit separator (`1'000`), not the start of a character literal.
[[nodiscard]] constexpr bool is_digit_separator(std::string_view t, std::size_t i) noexcept {
    std::size_t start = i;
    while (start > 0 && (is_name_char(t[start - 1]) || t[start - 1] == '\'' || t[start - 1] == '.')) --start;
    return start < i && is_digit(t[start]);
}

/// What a scan at bracket depth 0 saw: the last comma, and the last group (`(...)`, `[...]`,
/// `{...}`) that opened.
struct TopLevel {
    std::size_t last_comma = std::string_view::npos;
    std::size_t last_open = std::string_view::npos;
    std::size_t last_close = std::string_view::npos;  ///< where the group at `last_open` closes
};

[[nodiscard]] constexpr TopLevel scan_top_level(std::string_view t) noexcept {
    TopLevel top;
    int depth = 0;
    for (std::size_t i = 0; i < t.size();) {
        const char c = t[i];
        if (c == '"' || (c == '\'' && !is_digit_separator(t, i))) {
            i = skip_literal(t, i);
            continue;
        }
        if (c == '(' || c == '[' || c == '{') {
            if (depth++ == 0) top.last_open = i;
        } else if (c == ')' || c == ']' || c == '}') {
            if (--depth == 0) top.last_close = i;
        } else if (c == ',' && depth == 0) {
            top.last_comma = i;
        }
        ++i;
    }
    return top;
}

/// The name chain that ends `callee`: identifiers joined by `::`, `.` or `->`, with template
/// arguments (`ns::fetch`, `client.get`, `ptr->load`, `fetch<User>`). Empty when `callee`
/// does not end with a name (`table[i]`, a lambda).
[[nodiscard]] constexpr std::string_view trailing_name(std::string_view callee) noexcept {
    std::size_t pos = callee.size();
    std::size_t start = pos;
    for (;;) {
        std::size_t p = pos;
        if (p > 0 && callee[p - 1] == '>') {  // template arguments
            int depth = 0;
            while (p > 0) {
                const char c = callee[--p];
                if (c == '>') ++depth;
                if (c == '<' && --depth == 0) break;
            }
            if (depth != 0) break;
        }
        std::size_t q = p;
        while (q > 0 && is_name_char(callee[q - 1])) --q;
        if (q == p || is_digit(callee[q])) break;  // no identifier here
        start = q;
        if (q >= 2 && callee.substr(q - 2, 2) == "::") {
            pos = q - 2;
            start = pos;  // a leading `::` (global qualification) stays when nothing precedes it
        } else if (q >= 2 && callee.substr(q - 2, 2) == "->") {
            pos = q - 2;
        } else if (q >= 1 && callee[q - 1] == '.') {
            pos = q - 1;
        } else {
            break;
        }
    }
    std::string_view name = callee.substr(start);
    // After a call or subscript (`get_client().fetch`) the chain starts at the member.
    if (name.substr(0, 1) == ".") name.remove_prefix(1);
    if (name.substr(0, 2) == "->") name.remove_prefix(2);
    if (name.substr(0, 2) == "::" && start > 0) name.remove_prefix(2);
    return name;
}

/// The operation name of an expression, from its text (see `REDRESS_RETRY`): the name of
/// the function a call expression calls, else the expression's text.
[[nodiscard]] consteval std::string_view operation_name(std::string_view text) {
    text = trim_spaces(text);
    for (;;) {  // an expression in parentheses is the expression
        const TopLevel top = scan_top_level(text);
        if (text.size() >= 2 && text.front() == '(' && top.last_open == 0 && top.last_close == text.size() - 1) {
            text = trim_spaces(text.substr(1, text.size() - 2));
        } else {
            break;
        }
    }
    const TopLevel top = scan_top_level(text);
    if (!text.empty() && text.back() == ')' && top.last_close == text.size() - 1 && text[top.last_open] == '(') {
        const std::string_view name = trailing_name(trim_spaces(text.substr(0, top.last_open)));
        if (!name.empty()) return name;
    }
    return text;
}

/// `operation_name` of the expression that follows the last top-level comma of `text` (the
/// options and the expression of `REDRESS_RETRY_WITH`, stringized together).
[[nodiscard]] consteval std::string_view operation_name_after_options(std::string_view text) {
    const std::size_t comma = scan_top_level(text).last_comma;
    return operation_name(comma == std::string_view::npos ? text : text.substr(comma + 1));
}

/// `options` with `operation` set to `name` when the caller left it empty. The name is a
/// slice of a string literal made by the macro, so the view stays valid. A template (on an
/// unused parameter) so that only a translation unit that uses the macros compiles the copy.
template <class = void>
[[nodiscard]] CallOptions with_default_operation(const CallOptions& options, std::string_view name) {
    CallOptions out = options;
    if (out.operation.empty()) out.operation = name;
    return out;
}

}  // namespace redress::detail

// The last macro argument, and the ones before it: REDRESS_RETRY_WITH's options may be a
// braced list whose commas split it into several macro arguments. Up to 16 arguments.
#define REDRESS_DETAIL_CAT_(a, b) a##b
#define REDRESS_DETAIL_CAT(a, b) REDRESS_DETAIL_CAT_(a, b)
#define REDRESS_DETAIL_COUNT_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, n, ...) n
#define REDRESS_DETAIL_COUNT(...) \
    REDRESS_DETAIL_COUNT_(__VA_ARGS__, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define REDRESS_DETAIL_LAST(...) REDRESS_DETAIL_CAT(REDRESS_DETAIL_LAST_, REDRESS_DETAIL_COUNT(__VA_ARGS__))(__VA_ARGS__)
#define REDRESS_DETAIL_INIT(...) REDRESS_DETAIL_CAT(REDRESS_DETAIL_INIT_, REDRESS_DETAIL_COUNT(__VA_ARGS__))(__VA_ARGS__)
#define REDRESS_DETAIL_LAST_1(a) a
#define REDRESS_DETAIL_LAST_2(a, b) b
#define REDRESS_DETAIL_LAST_3(a, b, c) c
#define REDRESS_DETAIL_LAST_4(a, b, c, d) d
#define REDRESS_DETAIL_LAST_5(a, b, c, d, e) e
#define REDRESS_DETAIL_LAST_6(a, b, c, d, e, f) f
#define REDRESS_DETAIL_LAST_7(a, b, c, d, e, f, g) g
#define REDRESS_DETAIL_LAST_8(a, b, c, d, e, f, g, h) h
#define REDRESS_DETAIL_LAST_9(a, b, c, d, e, f, g, h, i) i
#define REDRESS_DETAIL_LAST_10(a, b, c, d, e, f, g, h, i, j) j
#define REDRESS_DETAIL_LAST_11(a, b, c, d, e, f, g, h, i, j, k) k
#define REDRESS_DETAIL_LAST_12(a, b, c, d, e, f, g, h, i, j, k, l) l
#define REDRESS_DETAIL_LAST_13(a, b, c, d, e, f, g, h, i, j, k, l, m) m
#define REDRESS_DETAIL_LAST_14(a, b, c, d, e, f, g, h, i, j, k, l, m, n) n
#define REDRESS_DETAIL_LAST_15(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o) o
#define REDRESS_DETAIL_LAST_16(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p) p
#define REDRESS_DETAIL_INIT_1(a) ::redress::CallOptions{}
#define REDRESS_DETAIL_INIT_2(a, b) a
#define REDRESS_DETAIL_INIT_3(a, b, c) a, b
#define REDRESS_DETAIL_INIT_4(a, b, c, d) a, b, c
#define REDRESS_DETAIL_INIT_5(a, b, c, d, e) a, b, c, d
#define REDRESS_DETAIL_INIT_6(a, b, c, d, e, f) a, b, c, d, e
#define REDRESS_DETAIL_INIT_7(a, b, c, d, e, f, g) a, b, c, d, e, f
#define REDRESS_DETAIL_INIT_8(a, b, c, d, e, f, g, h) a, b, c, d, e, f, g
#define REDRESS_DETAIL_INIT_9(a, b, c, d, e, f, g, h, i) a, b, c, d, e, f, g, h
#define REDRESS_DETAIL_INIT_10(a, b, c, d, e, f, g, h, i, j) a, b, c, d, e, f, g, h, i
#define REDRESS_DETAIL_INIT_11(a, b, c, d, e, f, g, h, i, j, k) a, b, c, d, e, f, g, h, i, j
#define REDRESS_DETAIL_INIT_12(a, b, c, d, e, f, g, h, i, j, k, l) a, b, c, d, e, f, g, h, i, j, k
#define REDRESS_DETAIL_INIT_13(a, b, c, d, e, f, g, h, i, j, k, l, m) a, b, c, d, e, f, g, h, i, j, k, l
#define REDRESS_DETAIL_INIT_14(a, b, c, d, e, f, g, h, i, j, k, l, m, n) a, b, c, d, e, f, g, h, i, j, k, l, m
#define REDRESS_DETAIL_INIT_15(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o) a, b, c, d, e, f, g, h, i, j, k, l, m, n
#define REDRESS_DETAIL_INIT_16(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p) a, b, c, d, e, f, g, h, i, j, k, l, m, n, o

/// Runs the expression under `policy.call()` and yields its value (or nothing, for a `void`
/// expression). The expression is evaluated afresh on every attempt (it is the body of a
/// lambda that captures by reference):
/// ```
/// auto user = REDRESS_RETRY(policy, http_get(url));   // operation "http_get"
/// ```
/// The operation is the name of the function the expression calls, read off its text at
/// compile time — `http_get`, `client.get`, `ns::fetch`, `ptr->load`, `fetch<User>` — never
/// its arguments, so a URL or an id cannot become a metric label. An expression that is not
/// a call of a named function (`40 + 2`, `table[key]`, a lambda called in place) is named by
/// its text. `policy` is evaluated once. The expression may contain commas (it is the
/// variadic argument). The value is returned by value (never a reference into the lambda).
/// Failures throw exactly as `call()` does. Works with any type that has
/// `call(fn, CallOptions)`: `Policy`, `testing::RecordingPolicy`, `testing::FakePolicy`.
#define REDRESS_RETRY(policy, ...)                                    \
    ((policy).call([&]() -> auto { return __VA_ARGS__; },             \
                   ::redress::CallOptions{.operation = ::redress::detail::operation_name(#__VA_ARGS__)}))

/// `REDRESS_RETRY` with per-call options, given before the expression: a braced list, a
/// `redress::CallOptions` value or any expression of that type. Their `operation` wins; when
/// empty, the operation is named as by `REDRESS_RETRY`:
/// ```
/// auto user = REDRESS_RETRY_WITH(policy, {.operation = "load user", .on_log = log}, fetch_user(id));
/// ```
/// The expression is the last macro argument: one with a comma outside parentheses
/// (`std::pair<int, int>{1, 2}.first`) must be wrapped in parentheses.
#define REDRESS_RETRY_WITH(policy, ...)                                                      \
    ((policy).call([&]() -> auto { return REDRESS_DETAIL_LAST(__VA_ARGS__); },               \
                   ::redress::detail::with_default_operation(                                \
                       REDRESS_DETAIL_INIT(__VA_ARGS__),                                     \
                       ::redress::detail::operation_name_after_options(#__VA_ARGS__))))

/// Like `REDRESS_RETRY` but returns the `Outcome` of `policy.execute()` instead of throwing.
#define REDRESS_EXECUTE(policy, ...)                                  \
    ((policy).execute([&]() -> auto { return __VA_ARGS__; },          \
                      ::redress::CallOptions{.operation = ::redress::detail::operation_name(#__VA_ARGS__)}))
