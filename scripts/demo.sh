#!/usr/bin/env bash
# Quick-start command 1: builds and runs the flagship example (a program that retries a flaky
# operation and prints its events and the outcome), then the storm simulator on its default
# scenario (docs/simulation.md): a table of what each policy does to an overloaded downstream,
# and a chart.
#
#   bash scripts/demo.sh
#
# On Debian 12 it first installs the packages it misses (cmake, ninja-build, g++, libfmt-dev,
# libcli11-dev, nlohmann-json3-dev, gnuplot-nox).
# Builds in build/demo (override the root with REDRESS_BUILD_ROOT). Safe to run again.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/setup-deps.sh
source "$repo/scripts/setup-deps.sh"

redress_require_packages "${REDRESS_DEMO_PACKAGES[@]}"

build_dir="${REDRESS_BUILD_ROOT:-$repo/build}/demo"
cd "$repo"
cmake --preset demo -B "$build_dir"
cmake --build "$build_dir" --target redress_example_flagship redress_sim -j "$(redress_jobs)"

printf '\n==== examples/flagship.cpp ====\n\n'
"$build_dir/examples/redress_example_flagship"

printf '\n==== redress-sim: the default scenario (docs/simulation.md) ====\n\n'
"$build_dir/tools/redress-sim/redress-sim" --chart "$build_dir/storm"
printf '\nThe chart: %s.png and %s.svg\n' "$build_dir/storm" "$build_dir/storm"
