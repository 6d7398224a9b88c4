#!/usr/bin/env bash
# Configures and builds OLM Studio (Release) into build/ (or $OLM_BUILD_DIR).
# Extra arguments go to CMake, e.g. -DOLM_BUILD_GUI=OFF or
# -DCMAKE_PREFIX_PATH=/opt/libtorch for a CUDA build of libtorch.
# OLM_BUILD_TARGETS="olm olm-studio" builds only those targets (default: all).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${OLM_BUILD_DIR:-$root/build}"
jobs="${OLM_JOBS:-$(nproc)}"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
targets=()
for t in ${OLM_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build" -j "$jobs" "${targets[@]}"
