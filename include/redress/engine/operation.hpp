// Running the user's operation: the forms it may take (with or without the attempt's stop
// token) and the value type it yields. Shared by the sync and coroutine drivers and by
// `Policy`'s signatures.
#pragma once

#include <concepts>
#include <functional>
#include <stop_token>
#include <type_traits>

namespace redress::detail {

/// Callables may take nothing, or the attempt's `std::stop_token`.
template <class F>
concept TakesStopToken = std::invocable<F&, std::stop_token>;

/// Calls `fn` in the form it accepts.
template <class F>
decltype(auto) invoke_operation(F& fn, const std::stop_token& token) {
    if constexpr (TakesStopToken<F>) {
        return std::invoke(fn, token);
    } else {
        (void)token;
        return std::invoke(fn);
    }
}

/// What `invoke_operation` returns for `F`, decayed (a reference result is copied).
template <class F>
using operation_result_t = std::decay_t<decltype(invoke_operation(std::declval<F&>(), std::declval<const std::stop_token&>()))>;

}  // namespace redress::detail
