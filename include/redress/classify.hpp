// Classifiers (see docs/classifiers.md): the Classifier concept, default_classifier,
// strict_classifier, the status customization point, and the HTTP-status and errno tables
// they share with the extras headers.
#pragma once

#include <atomic>
#include <cerrno>
#include <concepts>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include <redress/classification.hpp>
#include <redress/detail/demangle.hpp>
#include <redress/detail/attributes.hpp>
#include <redress/detail/message.hpp>
#include <redress/error_class.hpp>
#include <redress/errors.hpp>

namespace redress {

// ---- the concept ----------------------------------------------------------------------

/// A classifier: callable through a const reference with `const std::exception_ptr&`,
/// returning an `ErrorClass` or a `Classification`.
template <class C>
concept Classifier =
    std::invocable<const C&, const std::exception_ptr&> &&
    (std::convertible_to<std::invoke_result_t<const C&, const std::exception_ptr&>, ErrorClass> ||
     std::convertible_to<std::invoke_result_t<const C&, const std::exception_ptr&>, Classification>);

/// Compiles when `C` is a classifier and fails with one readable line otherwise. Returns
/// true, so `static_assert(assert_classifier<C>());` reports only the message below.
template <class C>
consteval bool assert_classifier() {
    static_assert(Classifier<C>,
                  "redress: a classifier must be callable as ErrorClass(const std::exception_ptr&) or as "
                  "Classification(const std::exception_ptr&)");
    return true;
}

/// `assert_classifier<C>()` as a variable, for use in `static_assert` and `requires` chains.
template <class C>
inline constexpr bool classifier_check = assert_classifier<C>();

/// Calls a classifier and normalises its answer to a `Classification`.
template <class C>
[[nodiscard]] Classification invoke_classifier(const C& classifier, const std::exception_ptr& error) {
    static_assert(assert_classifier<C>());
    if constexpr (Classifier<C>) {
        using R = std::invoke_result_t<const C&, const std::exception_ptr&>;
        if constexpr (std::convertible_to<R, Classification>) {
            return Classification(std::invoke(classifier, error));
        } else {
            return to_classification(static_cast<ErrorClass>(std::invoke(classifier, error)));
        }
    } else {
        return Classification{};
    }
}

// ---- tables ----------------------------------------------------------------------------

/// The status table of the classifiers: 401 `Auth`; 403 `Permission`; 400, 404, 422 `Permanent`;
/// 409 `Concurrency`; 408 `Transient`; 429 `RateLimit`; 500–599 `ServerError`; anything
/// else none. Constant time.
[[nodiscard]] constexpr std::optional<ErrorClass> classify_status(int status) noexcept {
    switch (status) {
        case 401: return ErrorClass::Auth;
        case 403: return ErrorClass::Permission;
        case 400:
        case 404:
        case 422: return ErrorClass::Permanent;
        case 409: return ErrorClass::Concurrency;
        case 408: return ErrorClass::Transient;
        case 429: return ErrorClass::RateLimit;
        default: break;
    }
    if (status >= 500 && status <= 599) return ErrorClass::ServerError;
    return std::nullopt;
}

/// The `std::errc` values `default_classifier` understands, all `Transient`: the timeout
/// (`timed_out`) and the network codes `connection_refused`, `connection_reset`,
/// `connection_aborted`, `network_unreachable`, `host_unreachable`, `network_down`,
/// `network_reset`, `not_connected`, `resource_unavailable_try_again`, `broken_pipe`.
/// Anything else none.
[[nodiscard]] constexpr std::optional<ErrorClass> classify_errc(std::errc code) noexcept {
    switch (code) {
        case std::errc::timed_out:
        case std::errc::connection_refused:
        case std::errc::connection_reset:
        case std::errc::connection_aborted:
        case std::errc::network_unreachable:
        case std::errc::host_unreachable:
        case std::errc::network_down:
        case std::errc::network_reset:
        case std::errc::not_connected:
        case std::errc::resource_unavailable_try_again:
        case std::errc::broken_pipe: return ErrorClass::Transient;
        default: return std::nullopt;
    }
}

/// `classify_errc` for a raw `errno` value (`ETIMEDOUT`, `ECONNRESET`, ...).
[[nodiscard]] constexpr std::optional<ErrorClass> classify_errno(int value) noexcept {
    return classify_errc(static_cast<std::errc>(value));
}

/// `classify_errc` for any `std::error_code` whose category maps it to a generic (errno)
/// condition: the system category, the generic category, and library categories that
/// define `default_error_condition`. None for the rest.
[[nodiscard]] inline std::optional<ErrorClass> classify_error_code(const std::error_code& code) noexcept {
    if (!code) return std::nullopt;
    const std::error_condition condition = code.default_error_condition();
    if (condition.category() != std::generic_category()) return std::nullopt;
    return classify_errno(condition.value());
}

// ---- the status customization point ------------------------------------------------------

/// An exception that carries a numeric status (HTTP-style). `default_classifier` reads
/// `status()` through this base with no registration; `redress::extras::HttpError` derives
/// from it.
class StatusError : public std::runtime_error {
public:
    /// A failure with `status` (e.g. an HTTP status code) and `message` as `what()`.
    StatusError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
    /// A failure with `status`; `what()` is `redress: status ` followed by the number.
    explicit StatusError(int status)
        : std::runtime_error((detail::Message{} << "redress: status " << status).c_str()), status_(status) {}

    /// The status the classifier maps through `classify_status`.
    [[nodiscard]] int status() const noexcept { return status_; }

private:
    int status_;
};

namespace detail {

template <class T>
concept StatusNumber = std::integral<std::remove_cvref_t<T>> || std::is_enum_v<std::remove_cvref_t<T>>;

template <class E>
concept HasAdlStatusOf = requires(const E& e) { status_of(e); };

template <class E>
concept HasStatusMember = requires(const E& e) {
    { e.status() } -> StatusNumber;
};

template <class E>
concept HasCodeMember = requires(const E& e) {
    { e.code() } -> StatusNumber;
};

template <class E>
[[nodiscard]] std::optional<int> read_status(const E& e) {
    if constexpr (HasAdlStatusOf<E>) {
        auto s = status_of(e);
        if constexpr (StatusNumber<decltype(s)>) {
            return static_cast<int>(s);
        } else {
            if (!s) return std::nullopt;
            return static_cast<int>(*s);
        }
    } else if constexpr (HasStatusMember<E>) {
        return static_cast<int>(e.status());
    } else {
        return static_cast<int>(e.code());
    }
}

/// One registered exception type: reads the status of a thrown object, or none when the
/// object is not one of its kind.
struct StatusReader {
    std::optional<int> (*read)(const ThrownView&) noexcept;
    const StatusReader* next;
};

/// Head of the registry: a singly linked list of static nodes, pushed with a CAS and
/// never popped, so readers walk it without a lock.
inline std::atomic<const StatusReader*> status_readers{nullptr};

template <class E>
std::optional<int> read_status_as(const ThrownView& thrown) noexcept {
    const E* e = thrown.as<E>();
    if (e == nullptr) return std::nullopt;
    try {
        return read_status(*e);
    } catch (...) {
        return std::nullopt;
    }
}

/// Rule 3's reading: `StatusError::status()`, else the first registered type that matches.
/// `runtime` is the thrown object as a `std::runtime_error` (null when it is not one).
[[nodiscard]] inline std::optional<int> thrown_status(const ThrownView& thrown, const std::runtime_error* runtime) noexcept {
    if (const auto* status = dynamic_cast<const StatusError*>(runtime)) return status->status();
    for (auto* r = status_readers.load(std::memory_order_acquire); r != nullptr; r = r->next) {
        if (auto s = r->read(thrown)) return s;
    }
    return std::nullopt;
}

}  // namespace detail

/// Teaches every classifier of this library to read a status from exceptions of type `E`
/// (and types derived from it). The status is read, in this order of preference, from an
/// ADL-found `status_of(const E&)` (returning an integer, an enum or an optional of one),
/// a `status()` member, or a `code()` member (integral or enum). Idempotent; thread-safe
/// (lock-free push); call it once at start-up. Each registered type costs a `dynamic_cast`
/// per classification of a failure that reaches the status rule (under libc++, a failure
/// that is not a `std::exception` costs a rethrow per registered type instead).
template <class E>
void register_status_type() {
    static_assert(detail::HasAdlStatusOf<E> || detail::HasStatusMember<E> || detail::HasCodeMember<E>,
                  "redress: register_status_type<E>: E needs status_of(const E&), an integral status() "
                  "or an integral code()");
    static detail::StatusReader node{&detail::read_status_as<E>, nullptr};
    static const bool pushed = [] {
        const detail::StatusReader* head = detail::status_readers.load(std::memory_order_relaxed);
        do {
            node.next = head;
        } while (!detail::status_readers.compare_exchange_weak(head, &node, std::memory_order_release,
                                                               std::memory_order_relaxed));
        return true;
    }();
    (void)pushed;
}

/// The numeric status an exception exposes: `StatusError::status()`, or the reading of a
/// type registered with `register_status_type`. None otherwise (and for an empty pointer).
[[nodiscard]] std::optional<int> exception_status(const std::exception_ptr& error) noexcept;

// ---- names ---------------------------------------------------------------------------------

namespace detail {

[[nodiscard]] constexpr bool is_ascii_upper(char c) noexcept { return c >= 'A' && c <= 'Z'; }
[[nodiscard]] constexpr bool is_ascii_lower(char c) noexcept { return c >= 'a' && c <= 'z'; }
[[nodiscard]] constexpr bool is_ascii_digit(char c) noexcept { return c >= '0' && c <= '9'; }

[[nodiscard]] constexpr char ascii_lower(char c) noexcept {
    return is_ascii_upper(c) ? static_cast<char>(c - 'A' + 'a') : c;
}

/// A character of an identifier as a demangler prints it (UTF-8 bytes included).
[[nodiscard]] constexpr bool identifier_char(char c) noexcept {
    return is_ascii_upper(c) || is_ascii_lower(c) || is_ascii_digit(c) || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

/// The class's own name in a demangled type name: namespaces, enclosing classes and
/// functions, trailing template arguments and ABI tags stripped (`a::Outer<int>::Error<T>`
/// → `Error`, `(anonymous namespace)::X` → `X`, `f()::Local` → `Local`). Empty when the last
/// component is not an identifier (a lambda's closure type, an unnamed type) or the brackets
/// do not balance. Linear; no allocation.
[[nodiscard]] constexpr std::string_view unqualified_name(std::string_view name) noexcept {
    std::size_t end = name.size();
    while (end > 0 && (name[end - 1] == '>' || name[end - 1] == ']')) {
        const char close = name[end - 1];
        const char open = close == '>' ? '<' : '[';
        int depth = 0;
        int parens = 0;  // `<` and `>` inside parentheses are operators in an expression argument
        std::size_t i = end;
        while (i > 0) {
            const char c = name[--i];
            if (c == ')') {
                ++parens;
            } else if (c == '(') {
                --parens;
            } else if (parens == 0 && c == close) {
                ++depth;
            } else if (parens == 0 && c == open && --depth == 0) {
                break;
            }
        }
        if (depth != 0) return {};
        end = i;
    }
    std::size_t begin = end;
    while (begin > 0 && identifier_char(name[begin - 1])) --begin;
    return name.substr(begin, end - begin);
}

/// Whether position `i` of an identifier starts a word: the first character; a letter after
/// `_` or a digit; an upper-case letter after a lower-case one (`read|Timeout`); the last
/// upper-case letter of a run followed by a lower-case one (`HTTP|Timeout`, `O|Auth`).
[[nodiscard]] constexpr bool word_start(std::string_view name, std::size_t i) noexcept {
    if (i == 0) return true;
    if (i >= name.size()) return false;
    const char c = name[i];
    const char before = name[i - 1];
    if (!is_ascii_upper(c) && !is_ascii_lower(c)) return false;
    if (before == '_' || is_ascii_digit(before)) return true;
    if (!is_ascii_upper(c)) return false;
    if (is_ascii_lower(before)) return true;
    return is_ascii_upper(before) && i + 1 < name.size() && is_ascii_lower(name[i + 1]);
}

/// Whether a word ends just before position `i`: the end of the name, a character that is
/// not a letter, or the start of the next word.
[[nodiscard]] constexpr bool word_end(std::string_view name, std::size_t i) noexcept {
    if (i >= name.size()) return true;
    const char c = name[i];
    if (!is_ascii_upper(c) && !is_ascii_lower(c)) return true;
    return word_start(name, i);
}

/// Whether `name` continues at `i` with `needle` (lower case), ignoring ASCII case.
[[nodiscard]] constexpr bool continues_with(std::string_view name, std::size_t i, std::string_view needle) noexcept {
    if (i > name.size() || name.size() - i < needle.size()) return false;
    for (std::size_t j = 0; j < needle.size(); ++j) {
        if (ascii_lower(name[i + j]) != needle[j]) return false;
    }
    return true;
}

/// The Auth words at `i`: `auth` as a whole word, or `authent…`, `authoriz…`, `authoris…`;
/// each may carry an `un` prefix. `author`, `authority`, `authored` are not Auth words.
[[nodiscard]] constexpr bool auth_word_at(std::string_view name, std::size_t i) noexcept {
    if (continues_with(name, i, "un")) {
        if (auth_word_at(name, i + 2)) return true;
    }
    if (!continues_with(name, i, "auth")) return false;
    return word_end(name, i + 4) || continues_with(name, i + 4, "ent") || continues_with(name, i + 4, "oriz") ||
           continues_with(name, i + 4, "oris");
}

/// Rule 5 on a class's own name (see `unqualified_name`): at a word start, the Auth words or
/// `credential…` → `Auth`; `forbid…` or `permission…` → `Permission`; `timeout…` or
/// `connection…` → `Transient`; the first class in that order wins. A needle may run across
/// a word boundary (`TimeOut`) but not across `_`. Linear; no allocation.
[[nodiscard]] constexpr std::optional<ErrorClass> classify_class_name(std::string_view name) noexcept {
    bool permission = false;
    bool transient = false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (!word_start(name, i)) continue;
        switch (ascii_lower(name[i])) {
            case 'a':
            case 'u':
                if (auth_word_at(name, i)) return ErrorClass::Auth;
                break;
            case 'c':
                if (continues_with(name, i, "credential")) return ErrorClass::Auth;
                transient = transient || continues_with(name, i, "connection");
                break;
            case 'f': permission = permission || continues_with(name, i, "forbid"); break;
            case 'p': permission = permission || continues_with(name, i, "permission"); break;
            case 't': transient = transient || continues_with(name, i, "timeout"); break;
            default: break;
        }
    }
    if (permission) return ErrorClass::Permission;
    if (transient) return ErrorClass::Transient;
    return std::nullopt;
}

/// The class's own name read straight from an Itanium-mangled type name (`type_info::name()`)
/// when the name is made of plain identifiers only: `6Boring`, `St13runtime_error`,
/// `N3app7network12ReadTimeoutE`, `N12_GLOBAL__N_15LocalE`. None for anything else
/// (templates, local classes, ABI tags, other ABIs), which must be demangled. Saves the
/// demangler's ~1,500 instructions and its malloc on the common shape.
[[nodiscard]] constexpr std::optional<std::string_view> plain_mangled_name(std::string_view mangled) noexcept {
    std::size_t i = 0;
    const bool nested = !mangled.empty() && mangled[0] == 'N';
    if (nested) ++i;
    if (mangled.substr(i, 2) == "St") i += 2;
    std::string_view last{};
    while (i < mangled.size() && is_ascii_digit(mangled[i])) {
        std::size_t length = 0;
        while (i < mangled.size() && is_ascii_digit(mangled[i])) {
            length = length * 10 + static_cast<std::size_t>(mangled[i] - '0');
            if (length > mangled.size()) return std::nullopt;
            ++i;
        }
        if (length == 0 || mangled.size() - i < length) return std::nullopt;
        last = mangled.substr(i, length);
        i += length;
        if (!nested) break;
    }
    if (last.empty()) return std::nullopt;
    if (nested) {
        if (i >= mangled.size() || mangled[i] != 'E') return std::nullopt;
        ++i;
    }
    if (i != mangled.size()) return std::nullopt;
    return last;
}

/// Rule 5 on a demangled type name: `classify_class_name(unqualified_name(name))`.
[[nodiscard]] constexpr std::optional<ErrorClass> classify_type_name(std::string_view name) noexcept {
    return classify_class_name(unqualified_name(name));
}

/// Rule 5 on a dynamic type: its mangled name read directly when plain, else demangled.
/// (A template only to be compiled once under separate compilation: `classify_type<void>`.)
template <class = void>
[[nodiscard]] std::optional<ErrorClass> classify_type(const std::type_info& type) noexcept;

[[nodiscard]] bool is_timeout_code(const std::error_code& code) noexcept;

/// The rules of `default_classifier` in order, on a thrown object; `heuristics` switches
/// rule 5. Costs `dynamic_cast`s and, for rule 5 on a template or local class, one demangling
/// (malloc, no operator new).
/// (A template only to be compiled once under separate compilation: `classify_thrown<void>`.)
template <class = void>
[[nodiscard]] ErrorClass classify_thrown(const ThrownView& thrown, bool heuristics) noexcept;

REDRESS_EXTERN_TEMPLATE(std::optional<ErrorClass> classify_type<void>(const std::type_info&) noexcept)
REDRESS_EXTERN_TEMPLATE(ErrorClass classify_thrown<void>(const ThrownView&, bool) noexcept)

/// `classify_thrown` on the object `error` holds; `Unknown` for an empty pointer. No rethrow
/// under libstdc++, one elsewhere.
[[nodiscard]] ErrorClass classify_exception(const std::exception_ptr& error, bool heuristics) noexcept;

}  // namespace detail

/// The demangled dynamic type of the exception `error` holds (`"std::runtime_error"`), for
/// the `error_type` tag; empty for an empty pointer. Allocates the returned string.
[[nodiscard]] std::string error_type_name(const std::exception_ptr& error);

// ---- the classifiers -----------------------------------------------------------------------

/// First match wins (docs/classifiers.md): timeouts → `Transient`; the marker errors; a
/// numeric status (`StatusError`, `register_status_type`) through `classify_status`;
/// `std::system_error` network codes → `Transient`; name heuristics on the word starts of the
/// class's own name, namespaces and template arguments stripped (auth / unauthoriz /
/// credential → `Auth`, forbid / permission → `Permission`, timeout / connection →
/// `Transient`); else `Unknown`. Stateless; thread-safe; never throws; no operator new (the
/// demangled name, for template and local classes only, uses the ABI's malloc). Cost per
/// failure: under libstdc++ no rethrow (the object is looked at in place), a few
/// `dynamic_cast`s and a scan of the type's name, 900 to 2,300 instructions; under libc++
/// one rethrow (about 38,000 with LLVM's unwinder).
struct DefaultClassifier {
    /// The class of the exception `error` holds, by the rules above (no `retry_after`).
    [[nodiscard]] Classification operator()(const std::exception_ptr& error) const noexcept {
        return Classification{detail::classify_exception(error, true)};
    }
};

/// `DefaultClassifier` without the name heuristics (rule 5): only explicit signals count.
struct StrictClassifier {
    /// The class of the exception `error` holds, as `DefaultClassifier` minus the name rule.
    [[nodiscard]] Classification operator()(const std::exception_ptr& error) const noexcept {
        return Classification{detail::classify_exception(error, false)};
    }
};

/// The default classifier object: `.classifier = redress::default_classifier`.
inline constexpr DefaultClassifier default_classifier{};
/// The strict classifier object: `.classifier = redress::strict_classifier`.
inline constexpr StrictClassifier strict_classifier{};

}  // namespace redress

#if !defined(REDRESS_SEPARATE_COMPILATION)
#include <redress/impl/classify.hpp>
#endif
