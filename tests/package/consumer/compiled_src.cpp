// The one translation unit of redress::compiled, for a build without CMake (docs/building.md).
#include <redress/impl/src.hpp>
