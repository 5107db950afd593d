#!/usr/bin/env bash
# Runs every libFuzzer target for FUZZ_SECONDS (default 60) on a copy of its committed seed
# corpus, so the corpus in the repository is never modified. Fails on the first crash;
# crash inputs are left in <build-dir>/fuzz-artifacts/.
#   usage: tests/fuzz/run_fuzzers.sh <build-dir>
set -euo pipefail

build_dir=${1:?usage: run_fuzzers.sh <build-dir>}
seconds=${FUZZ_SECONDS:-60}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
artifacts="$build_dir/fuzz-artifacts"
mkdir -p "$artifacts"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

status=0
for name in retry_after sqlstate policy; do
    fuzzer="$build_dir/tests/fuzz/fuzz_$name"
    if [[ ! -x "$fuzzer" ]]; then
        echo "run_fuzzers: $fuzzer not built (configure with -DREDRESS_BUILD_FUZZERS=ON)" >&2
        exit 2
    fi
    cp -R "$here/corpus/$name" "$work/$name"
    echo "== fuzz_$name for ${seconds}s"
    if ! "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="$artifacts/${name}-" "$work/$name"; then
        echo "run_fuzzers: fuzz_$name failed; see $artifacts" >&2
        status=1
    fi
done
exit $status
