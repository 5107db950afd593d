// Runs one measured path N times, for instruction counts under callgrind:
//
//   valgrind --tool=callgrind --collect-atstart=no --toggle-collect=<symbol>
//       redress_callgrind_driver <path> <N>     (one command line)
//
// Only the instructions inside the path's own function (paths.cpp) are counted; the loop
// around it and the start-up are not. Instructions per call = (Ir(N2) - Ir(N1)) / (N2 - N1)
// (bench/report.py), which also cancels the first call's one-time costs. Prints the symbol,
// the calls made and the operator new calls per call, so a run also checks that the path does
// not allocate. `redress_callgrind_driver --list` prints every path and its symbol.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "alloc_counter.hpp"
#include "paths.hpp"

namespace rb = redress_bench;

int main(int argc, char** argv) {
    if (argc == 2 && std::string_view(argv[1]) == "--list") {
        for (std::size_t i = 0; i < rb::path_count; ++i)
            std::printf("%.*s %s\n", static_cast<int>(rb::paths[i].name.size()), rb::paths[i].name.data(),
                        rb::paths[i].symbol);
        return 0;
    }
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s <path> <calls> | --list\n", argv[0]);
        return 2;
    }
    const rb::Path* path = rb::find_path(argv[1]);
    if (path == nullptr) {
        std::fprintf(stderr, "unknown path '%s' (try --list)\n", argv[1]);
        return 2;
    }
    const long n = std::strtol(argv[2], nullptr, 10);
    int (*volatile run)() = path->run;  // an indirect call: the loop cannot see into the path
    long sink = 0;
    const long before = rb::allocation_count();
    for (long i = 0; i < n; ++i) sink += run();
    const long allocations = rb::allocation_count() - before;
    std::printf("symbol=%s calls=%ld allocs_per_call=%.3f sink=%ld\n", path->symbol, n,
                n > 0 ? static_cast<double>(allocations) / static_cast<double>(n) : 0.0, sink);
    return 0;
}
