// Every measured path as its own non-inlined function (paths.cpp), shared by the Google
// Benchmark suite and the callgrind driver, so both measure the same machine code. Each
// function runs one operation; callgrind counts only inside it (--toggle-collect=<symbol>).
#pragma once

#include <cstddef>
#include <string_view>

namespace redress_bench {

/// One measured path: its name (`<group>/<variant>`), the C symbol callgrind toggles on, and
/// the function, which runs one operation and returns its value.
struct Path {
    std::string_view name;
    const char* symbol;
    int (*run)();
};

/// Every path, in report order.
extern const Path paths[];
extern const std::size_t path_count;

/// The path named `name`, or null.
const Path* find_path(std::string_view name);

}  // namespace redress_bench
