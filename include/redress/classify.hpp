// Classifiers (SPEC §9): the Classifier concept, default_classifier, strict_classifier, the
// status customization point, and the HTTP-status and errno tables they share with the
// extras headers.
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

/// The status table of SPEC §9: 401 `Auth`; 403 `Permission`; 400, 404, 422 `Permanent`;
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

/// One registered exception type: a function that reads its status from an
/// `exception_ptr`, or none when the pointer holds something else.
struct StatusReader {
    std::optional<int> (*read)(const std::exception_ptr&) noexcept;
    const StatusReader* next;
};

/// Head of the registry: a singly linked list of static nodes, pushed with a CAS and
/// never popped, so readers walk it without a lock.
inline std::atomic<const StatusReader*> status_readers{nullptr};

template <class E>
std::optional<int> read_status_as(const std::exception_ptr& error) noexcept {
    try {
        std::rethrow_exception(error);
    } catch (const E& e) {
        try {
            return read_status(e);
        } catch (...) {
            return std::nullopt;
        }
    } catch (...) {
        return std::nullopt;
    }
}

}  // namespace detail

/// Teaches every classifier of this library to read a status from exceptions of type `E`
/// (and types derived from it). The status is read, in this order of preference, from an
/// ADL-found `status_of(const E&)` (returning an integer, an enum or an optional of one),
/// a `status()` member, or a `code()` member (integral or enum). Idempotent; thread-safe
/// (lock-free push); call it once at start-up. Each registered type costs one rethrow per
/// classification of a failure that reached the status rule.
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
[[nodiscard]] inline std::optional<int> exception_status(const std::exception_ptr& error) noexcept {
    if (!error) return std::nullopt;
    try {
        std::rethrow_exception(error);
    } catch (const StatusError& e) {
        return e.status();
    } catch (...) {
    }
    for (auto* r = detail::status_readers.load(std::memory_order_acquire); r != nullptr; r = r->next) {
        if (auto s = r->read(error)) return s;
    }
    return std::nullopt;
}

// ---- names ---------------------------------------------------------------------------------

namespace detail {

[[nodiscard]] constexpr char ascii_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// Case-insensitive (ASCII) substring search; `needle` must be lower case. No allocation.
[[nodiscard]] constexpr bool icontains(std::string_view haystack, std::string_view needle) noexcept {
    if (needle.size() > haystack.size()) return false;
    for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
        std::size_t j = 0;
        while (j < needle.size() && ascii_lower(haystack[i + j]) == needle[j]) ++j;
        if (j == needle.size()) return true;
    }
    return false;
}

/// Rule 5 of SPEC §9 on a demangled type name (namespaces included).
[[nodiscard]] constexpr std::optional<ErrorClass> classify_type_name(std::string_view name) noexcept {
    if (icontains(name, "auth") || icontains(name, "unauthoriz") || icontains(name, "credential"))
        return ErrorClass::Auth;
    if (icontains(name, "forbid") || icontains(name, "permission")) return ErrorClass::Permission;
    if (icontains(name, "timeout") || icontains(name, "connection")) return ErrorClass::Transient;
    return std::nullopt;
}

[[nodiscard]] inline bool is_timeout_code(const std::error_code& code) noexcept {
    const auto condition = code.default_error_condition();
    return condition.category() == std::generic_category() &&
           condition.value() == static_cast<int>(std::errc::timed_out);
}

/// SPEC §9 in order; `heuristics` switches rule 5.
[[nodiscard]] inline ErrorClass classify_exception(const std::exception_ptr& error, bool heuristics) noexcept {
    if (!error) return ErrorClass::Unknown;
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        const auto* system = dynamic_cast<const std::system_error*>(&e);
        // 1. timeouts
        if (dynamic_cast<const AttemptTimeoutError*>(&e) != nullptr) return ErrorClass::Transient;
        if (system != nullptr && is_timeout_code(system->code())) return ErrorClass::Transient;
        // 2. markers
        if (dynamic_cast<const PermanentError*>(&e) != nullptr) return ErrorClass::Permanent;
        if (dynamic_cast<const RateLimitError*>(&e) != nullptr) return ErrorClass::RateLimit;
        if (dynamic_cast<const ConcurrencyError*>(&e) != nullptr) return ErrorClass::Concurrency;
        if (dynamic_cast<const ServerError*>(&e) != nullptr) return ErrorClass::ServerError;
        // 3. status
        if (auto status = exception_status(error)) {
            if (auto klass = classify_status(*status)) return *klass;
        }
        // 4. network codes
        if (system != nullptr) {
            if (auto klass = classify_error_code(system->code())) return *klass;
        }
    } catch (...) {
        // Not a std::exception: only a registered status type or the name can tell.
        if (auto status = exception_status(error)) {
            if (auto klass = classify_status(*status)) return *klass;
        }
    }
    // 5. name heuristics
    if (heuristics) {
        const DemangledName name(exception_type(error));
        if (auto klass = classify_type_name(name.view())) return *klass;
    }
    // 6.
    return ErrorClass::Unknown;
}

}  // namespace detail

/// The demangled dynamic type of the exception `error` holds (`"std::runtime_error"`), for
/// the `error_type` tag; empty for an empty pointer. Allocates the returned string.
[[nodiscard]] inline std::string error_type_name(const std::exception_ptr& error) {
    const detail::DemangledName name(detail::exception_type(error));
    return std::string(name.view());
}

// ---- the classifiers -----------------------------------------------------------------------

/// SPEC §9, first match wins: timeouts → `Transient`; the marker errors; a numeric status
/// (`StatusError`, `register_status_type`) through `classify_status`; `std::system_error`
/// network codes → `Transient`; name heuristics on the demangled dynamic type name
/// (auth / unauthoriz / credential → `Auth`, forbid / permission → `Permission`,
/// timeout / connection → `Transient`); else `Unknown`. Stateless; thread-safe; never throws;
/// no operator new (the demangled name uses the ABI's malloc). Rethrows the exception a few
/// times, so it belongs on failure paths, which is where it is called.
struct DefaultClassifier {
    /// The class of the exception `error` holds, by the rules above (no `retry_after`).
    [[nodiscard]] Classification operator()(const std::exception_ptr& error) const {
        return Classification{detail::classify_exception(error, true)};
    }
};

/// `DefaultClassifier` without the name heuristics (rule 5): only explicit signals count.
struct StrictClassifier {
    /// The class of the exception `error` holds, as `DefaultClassifier` minus the name rule.
    [[nodiscard]] Classification operator()(const std::exception_ptr& error) const {
        return Classification{detail::classify_exception(error, false)};
    }
};

/// The default classifier object: `.classifier = redress::default_classifier`.
inline constexpr DefaultClassifier default_classifier{};
/// The strict classifier object: `.classifier = redress::strict_classifier`.
inline constexpr StrictClassifier strict_classifier{};

}  // namespace redress
