// <redress/impl/errors.hpp>: the definitions <redress/errors.hpp> declares.
// Included at the end of that header, or once, by <redress/impl/src.hpp> under separate
// compilation (detail/attributes.hpp says which definitions live here).
#pragma once

#include <redress/detail/attributes.hpp>
#include <redress/errors.hpp>

namespace redress {

REDRESS_DECL InvalidOption::InvalidOption(std::string_view component, std::string_view option, std::string_view rule)
    : std::invalid_argument((detail::Message{} << "redress: " << component << "::" << option << " " << rule).c_str()) {
    copy(component, component_, component_size_);
    copy(option, option_, option_size_);
}

REDRESS_DECL void InvalidOption::copy(std::string_view from, char (&to)[capacity], std::size_t& size) noexcept {
    size = from.size() < capacity ? from.size() : capacity;
    for (std::size_t i = 0; i < size; ++i) to[i] = from[i];
}

namespace detail {
template <class V>
void invalid_option(std::string_view component, std::string_view option, std::string_view rule) {
    throw InvalidOption(component, option, rule);
}
template <class V>
void invalid_option(std::string_view component, std::string_view option, const Message& rule) {
    throw InvalidOption(component, option, rule.c_str());
}
}  // namespace detail

REDRESS_DECL AttemptTimeoutError::AttemptTimeoutError() : std::runtime_error("redress: attempt timed out") {}

REDRESS_DECL AbortRetryError::AbortRetryError() : std::runtime_error("redress: retry aborted") {}

REDRESS_DECL CircuitOpenError::CircuitOpenError(CircuitState state)
    : std::runtime_error((detail::Message{} << "redress: circuit " << to_string(state)).c_str()), state_(state) {}

REDRESS_DECL RetryExhaustedError::RetryExhaustedError(StopReason stop_reason, int attempts,
                                                      std::optional<ErrorClass> last_class,
                                                      std::optional<Duration> next_sleep)
    : std::runtime_error((detail::Message{} << "redress: retries stopped: " << to_string(stop_reason)).c_str()),
      stop_reason_(stop_reason),
      attempts_(attempts),
      last_class_(last_class),
      next_sleep_(next_sleep) {}

}  // namespace redress
