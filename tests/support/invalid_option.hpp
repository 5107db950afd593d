// What an invalid option raises, as text a test compares whole.
#pragma once

#include <string>

#include <redress/errors.hpp>

namespace redress_test {

/// "component::option: what" of the InvalidOption that building a `T` from `options` throws,
/// or "" when it is valid.
template <class T, class Options>
std::string invalid_option_text(const Options& options) {
    try {
        T built(options);
        static_cast<void>(built);
    } catch (const redress::InvalidOption& e) {
        return std::string(e.component()) + "::" + std::string(e.option()) + ": " + e.what();
    }
    return "";
}

}  // namespace redress_test
