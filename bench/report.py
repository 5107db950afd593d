#!/usr/bin/env python3
"""Prints every ratio against its baseline, with PASS/MISS per target (docs/performance.md).

Reads the Google Benchmark JSON of bench/bench_redress.cpp (median aggregates), runs the
callgrind driver for instructions per call, and times the compile-time pair. Called by
scripts/bench.sh; usable alone:

    bench/report.py --json bench.json --driver build-bench/bench/redress_callgrind_driver \
                    --include include --compile-dir bench/compile_time
"""

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile

# ---- targets ----------------------------------------------------------------------------------

# Instructions per call (callgrind, counted inside each path's own function): the targets in
# docs/performance.md. (label, numerator, denominator, limit).
CALLGRIND_TARGETS = [
    ("success: Policy<Retry>::call / hand loop", "success/policy_retry", "success/hand_loop", 1.15),
    ("success: Policy<Retry, CircuitBreaker>::call / hand loop", "success/policy_retry_breaker",
     "success/hand_loop", 1.3),
    ("retry path (2 failures, fixed class) / hand loop", "retry/policy_fixed_class", "retry/hand_loop", 1.15),
    ("retry path: default_classifier / fixed class", "retry/policy_default_classifier", "retry/policy_fixed_class",
     1.3),
    ("success on redress::CoarseClock / one coarse read + the call", "success/policy_coarse_clock",
     "ref/coarse_read_and_call", 1.2),
]
CALLGRIND_INFO = [
    ("success: Policy<Retry>::execute / hand loop", "success/policy_retry_execute", "success/hand_loop"),
    ("success on CoarseClock / hand loop on CoarseClock", "success/policy_coarse_clock",
     "success/hand_loop_coarse_clock"),
    ("success: Policy<Retry, CircuitBreaker> / hand loop + mutex breaker", "success/policy_retry_breaker",
     "success/hand_loop_mutex_breaker"),
    ("success: Policy<Retry, CircuitBreaker> count mode / hand loop", "success/policy_retry_breaker_count",
     "success/hand_loop"),
    ("success: Policy<Retry, CircuitBreaker> consecutive mode / hand loop",
     "success/policy_retry_breaker_consecutive", "success/hand_loop"),
    ("retry path inside a breaker / hand loop", "retry/policy_breaker_fixed_class", "retry/hand_loop"),
    ("breaker allow+record_success, 1 thread: redress / mutex", "one/breaker_success/redress",
     "one/breaker_success/mutex_deque"),
    ("budget consume admitting, 1 thread: redress / mutex", "one/budget_admit/redress",
     "one/budget_admit/mutex_deque"),
    ("budget consume saturated, 1 thread: redress / mutex", "one/budget_saturated/redress",
     "one/budget_saturated/mutex_deque"),
]
# Wall/CPU time of the same paths, reported beside the instruction targets.
TIME_INFO = [
    ("success: Policy<Retry>::call / hand loop", "success/policy_retry", "success/hand_loop"),
    ("success: Policy<Retry, CircuitBreaker>::call / hand loop", "success/policy_retry_breaker", "success/hand_loop"),
    ("success: Policy<Retry>::execute / hand loop", "success/policy_retry_execute", "success/hand_loop"),
    ("retry path (fixed class) / hand loop", "retry/policy_fixed_class", "retry/hand_loop"),
    ("retry path: default_classifier / fixed class", "retry/policy_default_classifier", "retry/policy_fixed_class"),
    ("success on CoarseClock / coarse read + call", "success/policy_coarse_clock", "ref/coarse_read_and_call"),
    ("success on CoarseClock / hand loop on CoarseClock", "success/policy_coarse_clock",
     "success/hand_loop_coarse_clock"),
]
# Paths that must not allocate (operator new calls per call == 0).
ZERO_ALLOC = [
    "success/policy_retry",
    "success/policy_retry_execute",
    "success/policy_retry_breaker",
    "success/policy_retry_breaker_count",
    "success/policy_retry_breaker_consecutive",
    "success/policy_retry_breaker_store",
    "success/policy_coarse_clock",
    "retry/policy_fixed_class",
    "retry/policy_default_classifier",
    "retry/policy_breaker_fixed_class",
]
# (label, redress, baseline, limit): items/s with 2 threads, redress / mutex + std::deque.
THROUGHPUT_TARGETS = [
    ("Breaker allow()+record_success(), closed", "shared/breaker_success", 10.0),
    ("Breaker allow()+record, 1/64 failures below threshold", "shared/breaker_rare_failure", 10.0),
    ("Budget::consume(), admitting", "shared/budget_admit", 10.0),
    ("Budget::consume(), saturated (refusing)", "shared/budget_saturated", 10.0),
    ("Budget::consume(), admitting, 1 ms window (steady_clock)", "shared/budget_admit_1ms", None),
]
# Compile time: (label, subject, baseline, extra flags) in bench/compile_time, at -O0 and -O2;
# header-only, then under separate compilation (linking redress::compiled: the cores are
# compiled once, in its library, and the unit only declares them).
SEPARATE = ("-DREDRESS_SEPARATE_COMPILATION",)
COMPILE_TARGETS = [
    ("Policy<Retry> call", "redress_retry_tu", "hand_loop_tu", ()),
    ("Policy<Retry, CircuitBreaker> call", "redress_tu", "hand_loop_tu", ()),
    ("Policy<Retry> call, redress::compiled", "redress_retry_tu", "hand_loop_tu", SEPARATE),
    ("Policy<Retry, CircuitBreaker>, compiled", "redress_tu", "hand_loop_tu", SEPARATE),
]
COMPILE_LIMIT = 2.0

# Callgrind runs: (path, N1, N2). Exceptions are slow under valgrind: fewer calls on retry paths.
CALLGRIND_PATHS = [
    (name, 100, 1100) if name.startswith("retry/") else (name, 1000, 21000)
    for name in ["ref/plain_call", "ref/steady_clock_now", "ref/coarse_clock_now", "ref/coarse_read_and_call",
                 "success/hand_loop", "success/policy_retry", "success/policy_retry_execute",
                 "success/hand_loop_mutex_breaker", "success/policy_retry_breaker",
                 "success/policy_retry_breaker_count", "success/policy_retry_breaker_consecutive",
                 "success/policy_retry_breaker_store", "success/hand_loop_coarse_clock",
                 "success/policy_coarse_clock", "success/policy_ratio_budget",
                 "retry/hand_loop", "retry/policy_fixed_class", "retry/policy_default_classifier",
                 "retry/policy_breaker_fixed_class", "one/breaker_success/redress", "one/breaker_success/mutex_deque",
                 "one/budget_admit/redress", "one/budget_admit/mutex_deque", "one/budget_saturated/redress",
                 "one/budget_saturated/mutex_deque", "one/ratio_budget/record_request", "one/ratio_budget/admit",
                 "one/ratio_budget/refuse"]
]

# ---- helpers -----------------------------------------------------------------------------------

misses = []


def verdict(ok, label, detail):
    if not ok:
        misses.append(f"{label}: {detail}")
    return "PASS" if ok else "MISS"


def load_medians(path):
    """run_name -> the median aggregate's record."""
    with open(path) as f:
        data = json.load(f)
    medians = {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median":
            medians[b["run_name"]] = b
    return data.get("context", {}), medians


def find(medians, prefix, threads=None):
    for name, rec in medians.items():
        if name == prefix or name.startswith(prefix + "/"):
            if threads is None or rec.get("threads") == threads or name.endswith(f"threads:{threads}"):
                return rec
    raise KeyError(f"no benchmark named {prefix}" + (f" with {threads} threads" if threads else ""))


def ns(rec, key="cpu_time"):
    unit = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[rec.get("time_unit", "ns")]
    return rec[key] * unit


def section(title):
    print()
    print(title)
    print("-" * len(title))


# ---- parts -------------------------------------------------------------------------------------

def report_times(medians):
    section("Single-threaded paths (median of the repetitions; ns per call; allocs = operator new per call)")
    names = [n for n, _, _ in CALLGRIND_PATHS]
    print(f"{'benchmark':44} {'cpu ns':>10} {'real ns':>10} {'allocs':>8}")
    for n in names:
        r = find(medians, n)
        print(f"{n:44} {ns(r):10.1f} {ns(r, 'real_time'):10.1f} {r.get('allocs_per_call', float('nan')):8.3f}")

    section("Time ratios (same run, CPU time; the targets are the instruction ratios below)")
    for label, num, den in TIME_INFO:
        a, b = ns(find(medians, num)), ns(find(medians, den))
        print(f"info  {label:66} {a / b:6.2f}x  ({a:.1f} / {b:.1f} ns)")

    section("Target: 0 heap allocations per call (sync success and retry paths)")
    for n in ZERO_ALLOC:
        allocs = find(medians, n).get("allocs_per_call", float("nan"))
        v = verdict(allocs == 0, f"allocations of {n}", f"{allocs} per call")
        print(f"{v}  {n:66} {allocs:g} per call")
    for n in ("coro/hand_task_success", "coro/policy_retry_success", "coro/policy_retry_fails_twice"):
        try:
            r = find(medians, n)
        except KeyError:
            print(f"n/a   {n}: not in this run")
            continue
        allocs, frames = r.get("allocs_per_call", float("nan")), r.get("frames_per_call", float("nan"))
        v = verdict(allocs <= frames, f"allocations of {n}", f"{allocs:g} per call, {frames:g} coroutine frames")
        print(f"{v}  {n:66} {allocs:g} per call (coroutine frames: {frames:g}; {ns(r):.0f} ns)")


def report_threads(medians):
    section("Targets: shared state, 2 threads (items/s over wall time, summed over threads)")
    print(f"{'':6}{'workload':56} {'redress':>12} {'mutex+deque':>12} {'ratio':>8}   (1 thread: ratio)")
    for label, prefix, limit in THROUGHPUT_TARGETS:
        r2 = find(medians, prefix + "/redress", 2)["items_per_second"]
        m2 = find(medians, prefix + "/mutex_deque", 2)["items_per_second"]
        r1 = find(medians, prefix + "/redress", 1)["items_per_second"]
        m1 = find(medians, prefix + "/mutex_deque", 1)["items_per_second"]
        ratio = r2 / m2
        if limit is None:
            v = "info"
        else:
            v = verdict(ratio >= limit, label, f"{ratio:.2f}x (limit >= {limit}x; {r2 / 1e6:.1f} M/s vs {m2 / 1e6:.1f} M/s)")
        print(f"{v}  {label:56} {r2 / 1e6:10.1f}M {m2 / 1e6:10.1f}M {ratio:7.2f}x   ({r1 / m1:.2f}x)")


def callgrind_symbols(driver):
    proc = subprocess.run([driver, "--list"], capture_output=True, text=True, check=True)
    return dict(line.split() for line in proc.stdout.splitlines() if line.strip())


def callgrind_ir(driver, symbol, path, n):
    """Instructions inside the path's own function over n calls (--toggle-collect)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        proc = subprocess.run(["valgrind", "--tool=callgrind", "--collect-atstart=no", f"--toggle-collect={symbol}",
                               f"--callgrind-out-file={out}", driver, path, str(n)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"callgrind run of {path} failed:\n{proc.stderr[-2000:]}")
        allocs = re.search(r"allocs_per_call=([0-9.]+)", proc.stdout)
        with open(out) as f:
            for line in f:
                if line.startswith("summary:") or line.startswith("totals:"):
                    return int(line.split()[1]), float(allocs.group(1)) if allocs else float("nan")
    raise RuntimeError(f"no summary in the callgrind output of {path}")


def report_callgrind(driver):
    section("Instructions per call (callgrind inside each path's function: (Ir(N2) - Ir(N1)) / (N2 - N1))")
    symbols = callgrind_symbols(driver)
    per_call = {}
    print(f"{'path':44} {'N1':>6} {'N2':>6} {'Ir/call':>10} {'allocs':>7}")
    for path, n1, n2 in CALLGRIND_PATHS:
        ir1, _ = callgrind_ir(driver, symbols[path], path, n1)
        ir2, allocs = callgrind_ir(driver, symbols[path], path, n2)
        per_call[path] = (ir2 - ir1) / (n2 - n1)
        print(f"{path:44} {n1:6} {n2:6} {per_call[path]:10.1f} {allocs:7.3f}")
    print()
    for label, num, den, limit in CALLGRIND_TARGETS:
        ratio = per_call[num] / per_call[den]
        v = verdict(ratio <= limit, label, f"{ratio:.2f}x (limit {limit}x; {per_call[num]:.0f} vs {per_call[den]:.0f} Ir)")
        print(f"{v}  {label:66} {ratio:6.2f}x  (limit {limit}x; {per_call[num]:.0f} / {per_call[den]:.0f} Ir)")
    for label, num, den in CALLGRIND_INFO:
        print(f"info  {label:66} {per_call[num] / per_call[den]:6.2f}x  ({per_call[num]:.0f} / {per_call[den]:.0f} Ir)")


def child_cpu_seconds(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def report_compile(cxx, include, compile_dir):
    section("Compile time (g++ -std=c++20 -c; CPU seconds user+sys of the compiler, best of 3)")
    cache = {}

    def seconds(tu, level, extra=()):
        if (tu, level, extra) not in cache:
            src = os.path.join(compile_dir, tu + ".cpp")
            cmd = [cxx, "-std=c++20", level, *extra, "-I", include, "-c", src, "-o", os.devnull]
            cache[(tu, level, extra)] = min(child_cpu_seconds(cmd) for _ in range(3))
        return cache[(tu, level, extra)]

    for level in ("-O0", "-O2"):
        for label, subject, baseline, extra in COMPILE_TARGETS:
            try:
                red, base = seconds(subject, level, extra), seconds(baseline, level)
            except RuntimeError as e:
                print(e)
                verdict(False, "compile time", f"{subject}.cpp or {baseline}.cpp does not compile")
                return
            ratio = red / base
            v = verdict(ratio <= COMPILE_LIMIT, f"compile time {level} {label}",
                        f"{ratio:.2f}x (limit {COMPILE_LIMIT}x; {red:.2f} s vs {base:.2f} s)")
            print(f"{v}  {level} {label:40} {red:5.2f} s vs {base:5.2f} s   {ratio:5.2f}x  (limit {COMPILE_LIMIT}x)")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", required=True, help="Google Benchmark JSON output of redress_bench")
    p.add_argument("--driver", help="redress_callgrind_driver; omit to skip callgrind")
    p.add_argument("--include", help="the include/ directory; with --compile-dir, times compilation")
    p.add_argument("--compile-dir", help="bench/compile_time")
    p.add_argument("--cxx", default="g++")
    args = p.parse_args()

    context, medians = load_medians(args.json)
    print(f"benchmark context: {context.get('num_cpus')} CPUs at {context.get('mhz_per_cpu')} MHz, "
          f"load average {context.get('load_avg')}, library build {context.get('library_build_type')}")
    report_times(medians)
    report_threads(medians)
    if args.driver:
        report_callgrind(args.driver)
    if args.include and args.compile_dir:
        report_compile(args.cxx, args.include, args.compile_dir)

    section("Summary")
    if misses:
        print(f"{len(misses)} target(s) missed:")
        for m in misses:
            print(f"  MISS {m}")
    else:
        print("every target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
