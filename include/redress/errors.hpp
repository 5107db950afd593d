// The library's error types: the markers classifiers recognise, and what `call()` throws.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>

#include <redress/vocabulary.hpp>
#include <redress/clock.hpp>
#include <redress/detail/attributes.hpp>
#include <redress/detail/message.hpp>
#include <redress/error_class.hpp>

namespace redress {

/// Thrown at construction when an option is invalid (a `std::invalid_argument`, so existing
/// handlers still catch it). Every component reports the same way: `option()` is the option's
/// name as written in the options struct (`"max_attempts"`), `component()` the struct or
/// function it belongs to (`"Retry"`, `"BudgetOptions"`, `"full_jitter"`), and `what()` is
/// `redress: <component>::<option> <rule>`, for example
/// `redress: Retry::max_attempts must be >= 1 (is 0)`. Copying never allocates.
class InvalidOption : public std::invalid_argument {
public:
    /// `rule` says what the option must be (and, ideally, what it was).
    InvalidOption(std::string_view component, std::string_view option, std::string_view rule);

    /// The invalid option's name, as spelled in its options struct (`"max_attempts"`).
    [[nodiscard]] std::string_view option() const noexcept { return {option_, option_size_}; }
    /// Where the option belongs (`"Retry"`, `"CircuitBreakerOptions"`, `"full_jitter"`).
    [[nodiscard]] std::string_view component() const noexcept { return {component_, component_size_}; }

private:
    static constexpr std::size_t capacity = 48;
    static void copy(std::string_view from, char (&to)[capacity], std::size_t& size) noexcept;
    char component_[capacity] = {};
    char option_[capacity] = {};
    std::size_t component_size_ = 0;
    std::size_t option_size_ = 0;
};

namespace detail {
/// Throws `InvalidOption` (the one way the library reports an invalid option). Templates only
/// to be compiled once under separate compilation (`invalid_option<void>`).
template <class = void>
[[noreturn]] void invalid_option(std::string_view component, std::string_view option, std::string_view rule);
template <class = void>
[[noreturn]] void invalid_option(std::string_view component, std::string_view option, const Message& rule);
REDRESS_EXTERN_TEMPLATE(void invalid_option<void>(std::string_view, std::string_view, std::string_view))
REDRESS_EXTERN_TEMPLATE(void invalid_option<void>(std::string_view, std::string_view, const Message&))
}  // namespace detail

/// Marker: a failure that must not be retried. `default_classifier` maps it to `Permanent`.
class PermanentError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Marker: a rate-limit condition (429, quota). Classified `RateLimit`.
class RateLimitError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Marker: a 409-style concurrency conflict. Classified `Concurrency`.
class ConcurrencyError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Marker: a 5xx-style server error. Classified `ServerError`.
class ServerError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// An attempt ran past `attempt_timeout`. Classified `Transient`: a late answer is a
/// timed-out answer, and a timeout is the textbook transient failure.
class AttemptTimeoutError : public std::runtime_error {
public:
    AttemptTimeoutError();
    using std::runtime_error::runtime_error;
};

/// Thrown by `call()` when an operation stops on an abort (`abort_if`, a stop token, a sleep
/// handler's `Abort`). A callable may also throw it to stop the operation at once: it is
/// never classified or retried.
class AbortRetryError : public std::runtime_error {
public:
    AbortRetryError();
    using std::runtime_error::runtime_error;
};

/// Thrown by `call()` when a circuit breaker rejected the operation without running it.
class CircuitOpenError : public std::runtime_error {
public:
    /// `state` is the breaker's state when it rejected the call; it is named in `what()`.
    explicit CircuitOpenError(CircuitState state);

    /// The breaker's state at the rejection (`Open`, or `HalfOpen` with its probe taken).
    [[nodiscard]] CircuitState state() const noexcept { return state_; }

private:
    CircuitState state_;
};

/// Thrown by `call()` when an operation stopped and there is no exception to rethrow: the
/// last failure was a returned value the `result_classifier` rejected, or the retry was
/// deferred by a sleep handler (`Scheduled`). Carries what `execute()`'s outcome would,
/// including the last rejected result (read it with `last_result<T>()`). Copies share the
/// result (a reference count), so copying never copies or moves it; move-only results work.
class RetryExhaustedError : public std::runtime_error {
public:
    /// An error without a result; `what()` names the stop reason.
    RetryExhaustedError(StopReason stop_reason, int attempts, std::optional<ErrorClass> last_class,
                        std::optional<Duration> next_sleep = {});

    /// An error carrying the last rejected result (moved in; allocated once, shared by copies).
    template <class T>
    RetryExhaustedError(StopReason stop_reason, int attempts, std::optional<ErrorClass> last_class,
                        std::optional<Duration> next_sleep, T last_result)
        : RetryExhaustedError(stop_reason, attempts, last_class, next_sleep) {
        last_result_ = std::make_shared<const T>(std::move(last_result));
        last_result_type_ = &typeid(T);
    }

    /// Why the operation stopped.
    [[nodiscard]] StopReason stop_reason() const noexcept { return stop_reason_; }
    /// How many attempts ran.
    [[nodiscard]] int attempts() const noexcept { return attempts_; }
    /// The last failure's class; empty when no attempt failed.
    [[nodiscard]] std::optional<ErrorClass> last_class() const noexcept { return last_class_; }
    /// The last rejected result when the last failure was one and its type is `T` (the
    /// operation's return type); null otherwise:
    /// `if (const auto* r = err.last_result<Response>()) log(r->status);`
    template <class T>
    [[nodiscard]] const T* last_result() const noexcept {
        if (!last_result_ || *last_result_type_ != typeid(T)) return nullptr;
        return static_cast<const T*>(last_result_.get());
    }
    /// True when the error carries a rejected result (of any type).
    [[nodiscard]] bool has_last_result() const noexcept { return last_result_ != nullptr; }
    /// The deferred sleep when the stop was `Scheduled`.
    [[nodiscard]] std::optional<Duration> next_sleep() const noexcept { return next_sleep_; }

private:
    StopReason stop_reason_;
    int attempts_;
    std::optional<ErrorClass> last_class_;
    std::optional<Duration> next_sleep_;
    std::shared_ptr<const void> last_result_{};
    const std::type_info* last_result_type_ = nullptr;
};

}  // namespace redress

#if !defined(REDRESS_SEPARATE_COMPILATION)
#include <redress/impl/errors.hpp>
#endif
