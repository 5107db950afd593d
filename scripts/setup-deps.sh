# shellcheck shell=bash
# Installs the Debian packages a redress script needs. Sourced by scripts/demo.sh,
# scripts/test.sh and .ci/run; not meant to be run alone.
#
#   redress_require_packages cmake g++ libfmt-dev
#
# Installs only what dpkg reports missing; runs `apt-get update` at most once per script
# run; uses sudo when not root. Exits with a message naming the packages when it cannot
# install them (no apt, no root and no sudo, or apt fails).

redress_apt_updated=0

redress_die() {
    printf '\nredress: %s\n' "$*" >&2
    exit 1
}

# Prints the packages of "$@" that are not installed.
redress_missing_packages() {
    local pkg status
    for pkg in "$@"; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
        if [ "$status" != "installed" ]; then
            printf '%s\n' "$pkg"
        fi
    done
}

redress_require_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
        # Not Debian: trust the tools if they are there, otherwise say what is needed.
        if command -v cmake >/dev/null 2>&1 && command -v c++ >/dev/null 2>&1; then
            printf 'redress: no dpkg/apt-get here; assuming these are installed: %s\n' "$*" >&2
            return 0
        fi
        redress_die "this script installs its dependencies with apt-get (Debian 12). Install these packages, or their equivalents, by hand: $*"
    fi

    local missing
    missing=$(redress_missing_packages "$@" | tr '\n' ' ')
    missing=${missing% }
    if [ -z "$missing" ]; then
        return 0
    fi

    local -a sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            redress_die "missing Debian packages: $missing
Installing them needs root, and sudo is not available. Run as root:
    apt-get update && apt-get install -y $missing"
        fi
    fi

    printf 'redress: installing missing Debian packages: %s\n' "$missing"
    export DEBIAN_FRONTEND=noninteractive
    if [ "$redress_apt_updated" -eq 0 ]; then
        "${sudo[@]}" apt-get update -q ||
            redress_die "'apt-get update' failed, so these packages could not be installed: $missing"
        redress_apt_updated=1
    fi
    # shellcheck disable=SC2086  # $missing is a list of package names
    "${sudo[@]}" apt-get install -y -q --no-install-recommends $missing ||
        redress_die "'apt-get install' failed for: $missing
Check the network and the apt sources (Debian 12 'bookworm' provides all of them), then retry."

    local still
    still=$(redress_missing_packages "$@" | tr '\n' ' ')
    if [ -n "${still% }" ]; then
        redress_die "these packages are still not installed after apt-get: ${still% }"
    fi
}

# Like redress_require_packages, but a failure is a warning, not the end of the script: for
# the integration tests, which are reported skipped (with the reason) when their packages are
# missing. Returns 1 when something could not be installed.
redress_try_packages() {
    if (redress_require_packages "$@"); then
        return 0
    fi
    printf 'redress: WARNING: could not install %s; the integration tests that need them will be reported as skipped\n' "$*" >&2
    redress_apt_updated=1
    return 1
}

# Number of parallel jobs: the machine's cores (at least 1).
redress_jobs() {
    local n
    n=$(nproc 2>/dev/null || echo 2)
    [ "$n" -ge 1 ] 2>/dev/null || n=1
    printf '%s\n' "$n"
}

# The packages each entry point needs.
# shellcheck disable=SC2034  # used by the scripts that source this file
REDRESS_DEMO_PACKAGES=(cmake ninja-build g++ libfmt-dev libcli11-dev nlohmann-json3-dev gnuplot-nox)
# shellcheck disable=SC2034
REDRESS_TEST_PACKAGES=(cmake ninja-build g++ catch2 libfmt-dev libasio-dev libbenchmark-dev doxygen libcli11-dev nlohmann-json3-dev gnuplot-nox valgrind)
# The contrib integrations and the servers their tests start (tests/integration): optional.
# shellcheck disable=SC2034
REDRESS_INTEGRATION_PACKAGES=(libcurl4-openssl-dev python3 libpq-dev postgresql libspdlog-dev prometheus redis-server libhiredis-dev pkg-config)
# shellcheck disable=SC2034
REDRESS_CLANG_PACKAGES=(clang-19 libc++-19-dev libc++abi-19-dev libclang-rt-19-dev)
