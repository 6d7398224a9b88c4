#!/usr/bin/env bash
# Configures and builds OLM Studio (Release) into build/ (or $OLM_BUILD_DIR).
# Extra arguments go to CMake, e.g. -DOLM_BUILD_GUI=OFF or
# -DCMAKE_PREFIX_PATH=/opt/libtorch for a CUDA build of libtorch.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${OLM_BUILD_DIR:-$root/build}"
jobs="${OLM_JOBS:-$(nproc)}"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build" -j "$jobs"
