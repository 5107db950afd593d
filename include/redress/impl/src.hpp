// <redress/impl/src.hpp>: the library's non-template cores, compiled once.
//
// Under separate compilation (REDRESS_SEPARATE_COMPILATION defined in every translation unit
// of the program, as linking redress::compiled does), exactly one translation unit includes
// this header; the others only declare what it defines. docs/building.md, "Compiling the core
// once", says what moves here and what it saves.
#pragma once

#if !defined(REDRESS_SEPARATE_COMPILATION)
#error "<redress/impl/src.hpp> is for separate compilation: define REDRESS_SEPARATE_COMPILATION in every translation unit (link redress::compiled)"
#endif

#include <redress/redress.hpp>

#include <redress/impl/budget.hpp>
#include <redress/impl/circuit_breaker.hpp>
#include <redress/impl/classify.hpp>
#include <redress/impl/engine/attempt_loop.hpp>
#include <redress/impl/errors.hpp>
#include <redress/impl/lint.hpp>
#include <redress/impl/outcome.hpp>
#include <redress/impl/ratio_budget.hpp>
#include <redress/impl/retry.hpp>
#include <redress/impl/strategies.hpp>
#include <redress/impl/tags.hpp>

namespace redress::detail {

template class BasicBreakerCore<void>;
template class BasicBudgetCore<void>;
template class BasicRatioBudgetCore<void>;
template std::optional<ErrorClass> classify_type<void>(const std::type_info&) noexcept;
template ErrorClass classify_thrown<void>(const ThrownView&, bool) noexcept;
template void invalid_option<void>(std::string_view, std::string_view, std::string_view);
template void invalid_option<void>(std::string_view, std::string_view, const Message&);
template void interruptible_sleep<void>(std::chrono::nanoseconds, const std::stop_token&);
template class BasicAttemptLoop<Attempts::Retried>;
template class BasicAttemptLoop<Attempts::Single>;
template Next wait(BasicAttemptLoop<Attempts::Retried>&, const SleepHooks&, const std::stop_token&);
template Next wait(BasicAttemptLoop<Attempts::Single>&, const SleepHooks&, const std::stop_token&);
template void validate_options(const RetryView&);
template Next settle_attempt(BasicAttemptLoop<Attempts::Retried>&, OutcomeBase&, const ValueHandling&, std::exception_ptr,
                             const TimePoint*);
template Next settle_attempt(BasicAttemptLoop<Attempts::Single>&, OutcomeBase&, const ValueHandling&, std::exception_ptr,
                             const TimePoint*);
template void run_attempts<Attempts::Retried>(const RetryView&, bool, const SyncOperation&, const CallHooks&,
                                              const SleepHooks&, TimePoint, Measure, OutcomeBase&, std::exception_ptr&,
                                              FirstAttempt*);
template void run_attempts<Attempts::Single>(const RetryView&, bool, const SyncOperation&, const CallHooks&,
                                             const SleepHooks&, TimePoint, Measure, OutcomeBase&, std::exception_ptr&,
                                             FirstAttempt*);
template void throw_unless_exhausted(const OutcomeBase&, CircuitState, const std::exception_ptr&);
template void throw_exhausted(const OutcomeBase&);
template void run_plain<Attempts::Retried, const NoBreaker>(const RetrySettingsRef&, const RetryView&, bool,
                                                            const NoBreaker*, const SyncOperation&, const CallOptions&,
                                                            Measure, OutcomeBase&, SyncEnding&);
template void run_plain<Attempts::Retried, CircuitBreaker>(const RetrySettingsRef&, const RetryView&, bool,
                                                           CircuitBreaker*, const SyncOperation&, const CallOptions&,
                                                           Measure, OutcomeBase&, SyncEnding&);
template void run_plain<Attempts::Single, CircuitBreaker>(const RetrySettingsRef&, const RetryView&, bool,
                                                          CircuitBreaker*, const SyncOperation&, const CallOptions&,
                                                          Measure, OutcomeBase&, SyncEnding&);
template class BreakerGate<CircuitBreaker>;
template void emit_breaker_transition(const CallHooks&, const std::optional<BreakerTransition>&, TimePoint,
                                      const AnyClock&, std::optional<ErrorClass>);
template std::string lint_format<void>(Duration);
template std::string class_name<void>(ErrorClass);
template LintReport lint_settings<void>(const LintInput&);
template void lint_breaker<void>(const CircuitBreakerOptions&, LintReport&);

}  // namespace redress::detail

namespace redress {
template std::string LintReport::to_string<void>() const;
template LintReport lint<void>(const RetryConfig&);
template LintReport lint<void>(const CircuitBreaker&);
}  // namespace redress
