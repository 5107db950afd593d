// REDRESS_RETRY: run an expression under a policy, named after its own text (SPEC §11).
#pragma once

#include <string_view>

#include <redress/retry.hpp>

namespace redress::detail {

/// `options` with `operation` set to `text` when the caller left it empty. The text is a
/// string literal made by the macro, so the view stays valid. A template (on an unused
/// parameter) so that only a translation unit that uses the macros compiles the copy.
template <class = void>
[[nodiscard]] CallOptions with_default_operation(const CallOptions& options, std::string_view text) {
    CallOptions out = options;
    if (out.operation.empty()) out.operation = text;
    return out;
}

}  // namespace redress::detail

/// Runs the expression under `policy.call()` and yields its value (or nothing, for a `void`
/// expression). The expression is evaluated afresh on every attempt (it is the body of a
/// lambda that captures by reference), and `operation` is the expression's text:
/// ```
/// auto user = REDRESS_RETRY(policy, fetch_user(id));   // operation "fetch_user(id)"
/// ```
/// `policy` is evaluated once. The expression may contain commas (it is the variadic
/// argument). The value is returned by value (never a reference into the lambda). Failures
/// throw exactly as `call()` does. Works with any type that has `call(fn, CallOptions)`:
/// `Policy`, `testing::RecordingPolicy`, `testing::FakePolicy`.
#define REDRESS_RETRY(policy, ...)                                                        \
    ((policy).call([&]() -> auto { return __VA_ARGS__; },                                 \
                   ::redress::detail::with_default_operation(::redress::CallOptions{}, #__VA_ARGS__)))

/// `REDRESS_RETRY` with per-call options (a `redress::CallOptions` value, named or
/// parenthesised — a braced list with commas must be wrapped in parentheses or named first,
/// because the preprocessor splits it). Its `operation` wins; when empty, the expression's
/// text is used:
/// ```
/// redress::CallOptions opts{.on_metric = hook};
/// auto user = REDRESS_RETRY_WITH(policy, opts, fetch_user(id));
/// ```
#define REDRESS_RETRY_WITH(policy, options, ...)                        \
    ((policy).call([&]() -> auto { return __VA_ARGS__; },               \
                   ::redress::detail::with_default_operation((options), #__VA_ARGS__)))

/// Like `REDRESS_RETRY` but returns the `Outcome` of `policy.execute()` instead of throwing.
#define REDRESS_EXECUTE(policy, ...)                                                      \
    ((policy).execute([&]() -> auto { return __VA_ARGS__; },                              \
                      ::redress::detail::with_default_operation(::redress::CallOptions{}, #__VA_ARGS__)))
