#!/usr/bin/env bash
# Instructions per call of each case of bench/classifier_cost.cpp under callgrind (see the
# comment at the top of that file for how to build it):
#   bench/classifier_cost.sh /tmp/classifier_cost [case...]
# Ir/call = (Ir(N2) - Ir(N1)) / (N2 - N1), counted only inside the measured_* functions.
# COLLECT=all counts the whole program instead (the difference still cancels start-up): use it
# for the retry/* cases with libc++, whose unwinder callgrind's --toggle-collect loses track of.
set -euo pipefail
exe=${1:?usage: $0 <classifier_cost executable> [case...]}
shift
cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
    cases=(classify/fixed/runtime_error classify/default/runtime_error classify/default/status503
           classify/default/registered503 classify/default/not_std classify/default/connection_reset
           classify/default/rate_limit classify/strict/runtime_error retry/fixed retry/default)
fi
n1=${N1:-100}
n2=${N2:-1100}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
collect=(--toggle-collect='*measured_*')
[ "${COLLECT:-}" = all ] && collect=()
ir() {  # case calls -> collected Ir
    valgrind --tool=callgrind "${collect[@]}" --callgrind-out-file="$out/cg" \
        "$exe" "$1" "$2" >"$out/stdout" 2>/dev/null
    awk '/^(summary|totals):/ { print $2; exit }' "$out/cg"
}
printf '%-36s %12s  %s\n' case 'Ir/call' 'program output (N2)'
for c in "${cases[@]}"; do
    a=$(ir "$c" "$n1")
    b=$(ir "$c" "$n2")
    printf '%-36s %12.1f  %s\n' "$c" "$(echo "($b - $a) / ($n2 - $n1)" | bc -l)" "$(cat "$out/stdout")"
done
