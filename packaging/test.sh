#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs the whole test suite:
# installs dependencies (packaging/install-deps.sh), builds Release, runs ctest.
# Extra arguments go to ctest, e.g. -L core or -LE slow.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${OLM_BUILD_DIR:-$root/build}"
"$root/packaging/install-deps.sh"
"$root/packaging/build.sh"
cd "$build"
ctest --output-on-failure --timeout 1500 -j "${OLM_TEST_JOBS:-2}" "$@"
