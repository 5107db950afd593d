#!/usr/bin/env bash
# Quick-start command 2: builds and runs the whole test suite (preset test: the debug preset,
# g++ with -Wall -Wextra -Wpedantic -Werror, with line tables only) and exits with ctest's status.
#
#   bash scripts/test.sh                # what the README says
#   bash scripts/test.sh --with-clang   # also install clang-19 and libc++ (used by .ci/run)
#
# On Debian 12 it first installs the packages it misses. Builds in build/test (override the
# root with REDRESS_BUILD_ROOT). Safe to run again; rebuilds only what changed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/setup-deps.sh
source "$repo/scripts/setup-deps.sh"

packages=("${REDRESS_TEST_PACKAGES[@]}")
for arg in "$@"; do
    case "$arg" in
        --with-clang) packages+=("${REDRESS_CLANG_PACKAGES[@]}") ;;
        -h | --help)
            sed -n '2,10p' "${BASH_SOURCE[0]}"
            exit 0
            ;;
        *) redress_die "unknown option '$arg' (try --help)" ;;
    esac
done

redress_require_packages "${packages[@]}"
# The integrations are optional: without their packages their tests are reported skipped.
redress_try_packages "${REDRESS_INTEGRATION_PACKAGES[@]}" || true

jobs=$(redress_jobs)
build_dir="${REDRESS_BUILD_ROOT:-$repo/build}/test"
cd "$repo"
cmake --preset test -B "$build_dir"
cmake --build "$build_dir" -j "$jobs"

status=0
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" || status=$?
if [ "$status" -eq 0 ]; then
    printf '\nredress: the test suite passed (%s)\n' "$build_dir"
else
    printf '\nredress: the test suite FAILED (ctest exit status %s, %s)\n' "$status" "$build_dir" >&2
fi
exit "$status"
