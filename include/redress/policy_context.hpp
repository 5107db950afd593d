// PolicyContext: options bound once for several calls (`policy.context(...)`).
#pragma once

#include <functional>
#include <string>
#include <utility>

#include <redress/retry.hpp>

namespace redress {

/// Options bound once for several calls (`policy.context(...)`). Copyable; owns its
/// operation name and hooks; refers to the policy. Works with any type that has `call` and
/// `execute` taking `(fn, const CallOptions&)`, so test policies return it too.
template <class PolicyT>
class PolicyContext {
public:
    /// Binds `options` to `policy`; the operation name is copied.
    PolicyContext(const PolicyT& policy, CallOptions options)
        : policy_(&policy), operation_(options.operation), options_(std::move(options)) {
        options_.operation = operation_;
    }
    /// Copies the bound options (the copy owns its own operation name).
    PolicyContext(const PolicyContext& other)
        : policy_(other.policy_), operation_(other.operation_), options_(other.options_) {
        options_.operation = operation_;
    }
    /// Copies the bound options (the copy owns its own operation name).
    PolicyContext& operator=(const PolicyContext& other) {
        if (this != &other) {
            policy_ = other.policy_;
            operation_ = other.operation_;
            options_ = other.options_;
            options_.operation = operation_;
        }
        return *this;
    }

    /// `call()` of `fn(args...)` with the bound options.
    template <class F, class... Args>
    decltype(auto) operator()(F&& fn, Args&&... args) const {
        return policy_->call(bind(std::forward<F>(fn), std::forward<Args>(args)...), options_);
    }

    /// `execute()` of `fn(args...)` with the bound options.
    template <class F, class... Args>
    auto execute(F&& fn, Args&&... args) const {
        return policy_->execute(bind(std::forward<F>(fn), std::forward<Args>(args)...), options_);
    }

    /// `async_call()` of a coroutine operation with the bound options (the async variant of
    /// the Python `async with policy.context(...)`). The task refers to the policy.
    template <class F>
    auto async_call(F fn) const {
        return policy_->async_call(std::move(fn), options_);
    }

    /// `async_execute()` of a coroutine operation with the bound options.
    template <class F>
    auto async_execute(F fn) const {
        return policy_->async_execute(std::move(fn), options_);
    }

    /// The bound options.
    [[nodiscard]] const CallOptions& options() const noexcept { return options_; }

private:
    template <class F, class... Args>
    static auto bind(F&& fn, Args&&... args) {
        if constexpr (sizeof...(Args) == 0) {
            return std::forward<F>(fn);
        } else {
            return [&fn, &args...]() -> decltype(auto) { return std::invoke(fn, args...); };
        }
    }

    const PolicyT* policy_;
    std::string operation_;
    CallOptions options_;
};

}  // namespace redress
