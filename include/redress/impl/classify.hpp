// <redress/impl/classify.hpp>: the definitions <redress/classify.hpp> declares.
// Included at the end of that header, or once, by <redress/impl/src.hpp> under separate
// compilation (detail/attributes.hpp says which definitions live here).
#pragma once

#include <redress/detail/attributes.hpp>
#include <redress/classify.hpp>

namespace redress {

REDRESS_DECL std::optional<int> exception_status(const std::exception_ptr& error) noexcept {
    if (!error) return std::nullopt;
    return detail::with_thrown(error, [](const detail::ThrownView& thrown) {
        return detail::thrown_status(thrown, dynamic_cast<const std::runtime_error*>(thrown.as_std()));
    });
}

namespace detail {

template <class V>
std::optional<ErrorClass> classify_type(const std::type_info& type) noexcept {
    if (const auto own = plain_mangled_name(type.name())) return classify_class_name(*own);
    const DemangledName name(&type);
    return classify_type_name(name.view());
}

REDRESS_DECL bool is_timeout_code(const std::error_code& code) noexcept {
    const auto condition = code.default_error_condition();
    return condition.category() == std::generic_category() &&
           condition.value() == static_cast<int>(std::errc::timed_out);
}

template <class V>
ErrorClass classify_thrown(const ThrownView& thrown, bool heuristics) noexcept {
    // Every type rules 1 to 4 name derives from std::runtime_error: one cast spares the
    // others (about 1,000 instructions) for the rest, at the price of one for runtime errors.
    const auto* e = dynamic_cast<const std::runtime_error*>(thrown.as_std());
    const auto* system = dynamic_cast<const std::system_error*>(e);
    if (e != nullptr) {
        // 1. timeouts
        if (dynamic_cast<const AttemptTimeoutError*>(e) != nullptr) return ErrorClass::Transient;
        if (system != nullptr && is_timeout_code(system->code())) return ErrorClass::Transient;
        // 2. markers
        if (dynamic_cast<const PermanentError*>(e) != nullptr) return ErrorClass::Permanent;
        if (dynamic_cast<const RateLimitError*>(e) != nullptr) return ErrorClass::RateLimit;
        if (dynamic_cast<const ConcurrencyError*>(e) != nullptr) return ErrorClass::Concurrency;
        if (dynamic_cast<const ServerError*>(e) != nullptr) return ErrorClass::ServerError;
    }
    // 3. status
    if (auto status = thrown_status(thrown, e)) {
        if (auto klass = classify_status(*status)) return *klass;
    }
    // 4. network codes
    if (system != nullptr) {
        if (auto klass = classify_error_code(system->code())) return *klass;
    }
    // 5. name heuristics
    if (heuristics && thrown.type() != nullptr) {
        if (auto klass = classify_type(*thrown.type())) return *klass;
    }
    // 6.
    return ErrorClass::Unknown;
}

REDRESS_DECL ErrorClass classify_exception(const std::exception_ptr& error, bool heuristics) noexcept {
    if (!error) return ErrorClass::Unknown;
    return with_thrown(error, [heuristics](const ThrownView& thrown) { return classify_thrown(thrown, heuristics); });
}

}  // namespace detail

REDRESS_DECL std::string error_type_name(const std::exception_ptr& error) {
    const detail::DemangledName name(detail::exception_type(error));
    return std::string(name.view());
}

}  // namespace redress
