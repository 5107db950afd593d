#!/bin/sh
# Renders a chart with redress-sim; exits 77 (ctest: skipped) when gnuplot is missing.
tool=$1 prefix=$2
shift 2
if ! command -v gnuplot >/dev/null 2>&1; then
    echo "SKIPPED: gnuplot is not on PATH (install gnuplot-nox)"
    exit 77
fi
rm -f "$prefix.png" "$prefix.svg"
"$tool" "$@" --policies none,immediate --chart "$prefix" || exit 1
test -s "$prefix.png" || { echo "no $prefix.png"; exit 1; }
grep -q "<svg" "$prefix.svg" || { echo "no SVG in $prefix.svg"; exit 1; }
echo "chart ok"
