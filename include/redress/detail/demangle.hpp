// The object an exception_ptr holds, looked at without rethrowing it where the runtime allows,
// and demangled type names without operator new (the buffer comes from the C++ ABI's malloc).
#pragma once

#include <cstdlib>
#include <cstring>
#include <exception>
#include <string_view>
#include <type_traits>
#include <typeinfo>

#if __has_include(<cxxabi.h>)
#include <cxxabi.h>
#define REDRESS_HAS_CXXABI 1
#else
#define REDRESS_HAS_CXXABI 0
#endif

// libstdc++ lets a program look into an exception_ptr without rethrowing it: the pointer's
// one member is the address of the thrown object, `__cxa_exception_type()` is its dynamic
// type, and `type_info::__do_catch` is the matching a catch clause does. A rethrow is a full
// unwind (about 11,000 instructions here), so the classifiers use this where it exists and
// rethrow once elsewhere (libc++, MSVC).
#if defined(__GLIBCXX__) && REDRESS_HAS_CXXABI
#define REDRESS_INSPECTS_EXCEPTION_PTR 1
#else
#define REDRESS_INSPECTS_EXCEPTION_PTR 0
#endif

namespace redress::detail {

/// Owns the demangled name of a type (or the mangled one when demangling is unavailable).
class DemangledName {
public:
    DemangledName() = default;
    explicit DemangledName(const std::type_info* type) { reset(type); }
    DemangledName(const DemangledName&) = delete;
    DemangledName& operator=(const DemangledName&) = delete;
    ~DemangledName() { std::free(owned_); }

    void reset(const std::type_info* type) {
        std::free(owned_);
        owned_ = nullptr;
        name_ = {};
        if (type == nullptr) return;
#if REDRESS_HAS_CXXABI
        int status = 0;
        owned_ = abi::__cxa_demangle(type->name(), nullptr, nullptr, &status);
        if (status == 0 && owned_ != nullptr) {
            name_ = owned_;
            return;
        }
        std::free(owned_);
        owned_ = nullptr;
#endif
        name_ = type->name();
    }

    [[nodiscard]] std::string_view view() const noexcept { return name_; }

private:
    char* owned_ = nullptr;
    std::string_view name_{};
};

/// What a handler would see of the object an exception_ptr holds: the object as a
/// `std::exception` when it is one, its dynamic type, and `as<E>()`, the object as an `E`
/// when a `catch (const E&)` would take it. Only valid inside `with_thrown`'s callback.
class ThrownView {
public:
    /// The object as a `std::exception`; null when it is not one.
    [[nodiscard]] const std::exception* as_std() const noexcept { return std_; }
    /// Its dynamic type; null when the runtime cannot tell.
    [[nodiscard]] const std::type_info* type() const noexcept { return type_; }

    /// The object as an `E` when `catch (const E&)` would take it, else null. Cross-casts
    /// too (a `std::exception` that also derives from an unrelated `E`). Without rethrow for
    /// a `std::exception` or under libstdc++; a non-`std::exception` elsewhere costs a rethrow.
    template <class E>
    [[nodiscard]] const E* as() const noexcept {
        static_assert(std::is_same_v<E, std::remove_cvref_t<E>> && !std::is_pointer_v<E>,
                      "redress: ThrownView::as<E> takes an unqualified object type");
#if REDRESS_INSPECTS_EXCEPTION_PTR
        if (object_ == nullptr) return nullptr;
        void* adjusted = object_;
        if (!typeid(E).__do_catch(type_, &adjusted, 1)) return nullptr;
        return static_cast<const E*>(adjusted);
#else
        if (std_ != nullptr) {
            if constexpr (std::is_class_v<E>) {
                return dynamic_cast<const E*>(std_);
            } else {
                return nullptr;
            }
        }
        // Not caught as a std::exception, yet possibly an E: a class with two std::exception
        // bases is neither, but is each of them. Only the catch clause can tell.
        if (!in_handler_) return nullptr;
        // Inside with_thrown's handler: `throw;` rethrows the handled object itself (never a
        // copy), which stays alive until that handler exits.
        try {
            throw;
        } catch (const E& e) {
            return &e;
        } catch (...) {
            return nullptr;
        }
#endif
    }

private:
    template <class F>
    friend decltype(auto) with_thrown(const std::exception_ptr& error, F&& f);

    const std::exception* std_ = nullptr;
    const std::type_info* type_ = nullptr;
#if REDRESS_INSPECTS_EXCEPTION_PTR
    void* object_ = nullptr;
#else
    bool in_handler_ = false;
#endif
};

/// Calls `f(const ThrownView&)` with a view of the object `error` holds (an empty view for an
/// empty pointer) and returns what `f` returns. Under libstdc++ this never rethrows; elsewhere
/// it rethrows once and calls `f` from inside the handler.
template <class F>
decltype(auto) with_thrown(const std::exception_ptr& error, F&& f) {
    ThrownView view;
    if (!error) return static_cast<F&&>(f)(static_cast<const ThrownView&>(view));
#if REDRESS_INSPECTS_EXCEPTION_PTR
    static_assert(sizeof(std::exception_ptr) == sizeof(void*), "libstdc++'s exception_ptr is one pointer");
    std::memcpy(&view.object_, &error, sizeof(void*));
    view.type_ = error.__cxa_exception_type();
    view.std_ = view.as<std::exception>();
    return static_cast<F&&>(f)(static_cast<const ThrownView&>(view));
#else
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        view.std_ = &e;
        view.type_ = &typeid(e);
        view.in_handler_ = true;
        return static_cast<F&&>(f)(static_cast<const ThrownView&>(view));
    } catch (...) {
#if REDRESS_HAS_CXXABI
        view.type_ = abi::__cxa_current_exception_type();
#endif
        view.in_handler_ = true;
        return static_cast<F&&>(f)(static_cast<const ThrownView&>(view));
    }
#endif
}

/// The dynamic type of the exception an `exception_ptr` holds; null for an empty pointer or
/// when the runtime cannot tell. No rethrow under libstdc++; one elsewhere.
[[nodiscard]] inline const std::type_info* exception_type(const std::exception_ptr& ep) noexcept {
#if REDRESS_INSPECTS_EXCEPTION_PTR
    return ep ? ep.__cxa_exception_type() : nullptr;
#else
    return with_thrown(ep, [](const ThrownView& thrown) { return thrown.type(); });
#endif
}

}  // namespace redress::detail
