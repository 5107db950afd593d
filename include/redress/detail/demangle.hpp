// Demangled type names without operator new: the buffer comes from the C++ ABI's malloc.
#pragma once

#include <cstdlib>
#include <exception>
#include <string_view>
#include <typeinfo>

#if __has_include(<cxxabi.h>)
#include <cxxabi.h>
#define REDRESS_HAS_CXXABI 1
#else
#define REDRESS_HAS_CXXABI 0
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

/// The dynamic type of the exception an `exception_ptr` holds; null for an empty pointer or
/// when the runtime cannot tell. Rethrows internally, so it belongs on failure paths only.
[[nodiscard]] inline const std::type_info* exception_type(const std::exception_ptr& ep) noexcept {
    if (!ep) return nullptr;
    try {
        std::rethrow_exception(ep);
    } catch (const std::exception& e) {
        return &typeid(e);
    } catch (...) {
#if REDRESS_HAS_CXXABI
        return abi::__cxa_current_exception_type();
#else
        return nullptr;
#endif
    }
}

}  // namespace redress::detail
