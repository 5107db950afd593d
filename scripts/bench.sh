#!/usr/bin/env bash
# Builds the benchmarks (release preset: g++ -O2 -DNDEBUG) into build-bench, runs them, and
# prints every ratio against its baseline with PASS/MISS per target: time ratios
# and allocations (Google Benchmark, medians of 5 repetitions), 2-thread throughput of the
# breaker and the budget against mutex + std::deque, instructions per call (callgrind), and
# the compile-time ratio, and the storm simulator's 10,000 clients x 10 minutes. Takes about
# 2-3 minutes on 2 cores.
#
#   bash scripts/bench.sh              # everything
#   bash scripts/bench.sh --quick      # 3 repetitions, shorter runs, no callgrind
#
# Environment: REDRESS_BENCH_DIR (default <repo>/build-bench), CXX (default g++).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="${REDRESS_BENCH_DIR:-$repo/build-bench}"
cxx="${CXX:-g++}"
repetitions=5
min_time=0.2
callgrind=1
for arg in "$@"; do
    case "$arg" in
        --quick) repetitions=3; min_time=0.05; callgrind=0 ;;
        -h | --help) sed -n '2,11p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "bench.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
    esac
done

for tool in cmake ninja python3 "$cxx"; do
    command -v "$tool" >/dev/null || { echo "bench.sh: '$tool' is required" >&2; exit 1; }
done
if [ "$callgrind" -eq 1 ] && ! command -v valgrind >/dev/null; then
    echo "bench.sh: valgrind not found: skipping instructions per call (apt-get install valgrind)" >&2
    callgrind=0
fi

# The release preset, with the optimisation level pinned to -O2 (CMake's Release default is
# -O3) and integrations optional (the benchmarks need neither fmt nor Asio).
cmake --preset release -B "$build_dir" \
    -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
    -DREDRESS_REQUIRE_INTEGRATIONS=OFF >/dev/null
cmake --build "$build_dir" --target redress_bench redress_callgrind_driver redress_simulation_bench

json="$build_dir/bench/results.json"
echo
echo "== machine"
echo "nproc: $(nproc)"
lscpu | head -n 15
"$cxx" --version | head -n 1
echo "flags: -std=c++20 -O2 -DNDEBUG (CMAKE_BUILD_TYPE=Release)"

echo
echo "== google benchmark ($repetitions repetitions, min_time ${min_time}s, medians)"
"$build_dir/bench/redress_bench" \
    --benchmark_repetitions="$repetitions" \
    --benchmark_report_aggregates_only=true \
    --benchmark_min_time="$min_time" \
    --benchmark_out="$json" --benchmark_out_format=json \
    --benchmark_format=console |
    grep -v -E '_(mean|stddev|cv) '  # the medians are what the ratios use

report=(python3 "$repo/bench/report.py" --json "$json" --cxx "$cxx"
    --include "$repo/include" --compile-dir "$repo/bench/compile_time")
if [ "$callgrind" -eq 1 ]; then
    report+=(--driver "$build_dir/bench/redress_callgrind_driver")
fi
echo
echo "== ratios"
"${report[@]}"

echo
echo "== storm simulator: 10,000 clients x 10 simulated minutes, target < 2 s"
"$build_dir/bench/redress_simulation_bench"
