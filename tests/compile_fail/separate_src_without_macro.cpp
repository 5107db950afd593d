// expect: <redress/impl/src.hpp> is for separate compilation: define REDRESS_SEPARATE_COMPILATION
// The one translation unit of redress::compiled, built without the macro (as a user compiling
// it by hand might): it must stop with a message naming the macro, not define the cores twice.
#include <redress/impl/src.hpp>
