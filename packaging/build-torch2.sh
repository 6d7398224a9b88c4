#!/usr/bin/env bash
# Builds core, the CLI and the core tests (no GUI) against the libtorch inside
# a Python environment's torch (2.x, with CUDA when the wheel has it) into its
# own build folder, and with --test runs the core tests of that build.
#
# Usage: packaging/build-torch2.sh [--test] [VENV_DIR] [-- CTEST_ARGS...]
#   VENV_DIR   a venv (or any prefix with bin/python) whose torch to use;
#              default: the conformance venv, made or checked by
#              packaging/setup-venv.sh (its default folder).
#   --test     then run `ctest -L core -LE slow` in the build (CTEST_ARGS
#              after -- replace those label arguments).
# Environment: OLM_TORCH2_BUILD_DIR (default build-torch2/), OLM_JOBS (default
# nproc), OLM_CUDA_TOOLKIT=pip to ignore an installed CUDA toolkit,
# OLM_TORCH2_CMAKE_ARGS (more CMake arguments, split on spaces),
# OLM_TORCH2_TARGETS (build only these targets; without --test),
# OLM_TORCH2_PREFIX_PATH (more CMAKE_PREFIX_PATH entries, ';'-separated).
#
# A CUDA wheel's TorchConfig.cmake needs a CUDA toolkit (nvcc, headers,
# libcudart, libnvrtc) at configure time; nothing is compiled for the GPU.
# The toolkit is CUDA_HOME / CUDA_PATH / the nvcc on PATH / /usr/local/cuda
# when one is installed; otherwise (and with OLM_CUDA_TOOLKIT=pip) nvcc and
# its compiler parts of the wheel's CUDA version come from PyPI into the
# build folder, and the wheel's own nvidia/ headers and libraries complete it.
# The executables get an RPATH to torch/lib and the wheel's nvidia/*/lib, so
# they run without LD_LIBRARY_PATH.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${OLM_TORCH2_BUILD_DIR:-$root/build-torch2}"
jobs="${OLM_JOBS:-$(nproc)}"

run_tests=0
venv=""
ctest_args=(-L core -LE slow)
while [ $# -gt 0 ]; do
  case "$1" in
    --test) run_tests=1; shift ;;
    --) shift; ctest_args=("$@"); break ;;
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) venv="$1"; shift ;;
  esac
done

if [ -n "$venv" ]; then
  python="$venv/bin/python"
  [ -x "$python" ] || python="$venv/bin/python3"
  [ -x "$python" ] || { echo "build-torch2: $venv/bin/python not found (VENV_DIR must hold bin/python)" >&2; exit 1; }
else
  python="$("$root/packaging/setup-venv.sh" | tail -n 1)"
fi

# torch's package folder (its lib/ and share/cmake/), version, CUDA version, ABI.
read -r torch_dir torch_version torch_cuda torch_abi < <("$python" - <<'EOF'
import os, torch
print(os.path.dirname(torch.__file__), torch.__version__, torch.version.cuda or "none",
      int(torch.compiled_with_cxx11_abi()))
EOF
)
case "$torch_version" in
  2.*) ;;
  *) echo "build-torch2: torch $torch_version in $python; this build is for torch 2.x" >&2; exit 1 ;;
esac
site="$(dirname "$torch_dir")"
echo "build-torch2: torch $torch_version (CUDA $torch_cuda, C++11 ABI $torch_abi) from $torch_dir" >&2
if [ "$torch_abi" != 1 ]; then
  # Debian's yaml-cpp and libstdc++ default use the new ABI; an old-ABI wheel would not link.
  echo "build-torch2: this torch uses the pre-C++11 ABI; Debian's C++ libraries need the new one" >&2
  exit 1
fi

# The executables find torch/lib and the wheel's CUDA libraries (nvidia/*/lib:
# cudart, cublas, nccl, cudnn, ...) first, also at link time: libtorch_cuda.so
# needs the NCCL of the wheel, not an older one of an installed toolkit.
rpath="$torch_dir/lib"
for d in "$site"/nvidia/*/lib; do
  [ -d "$d" ] && rpath="$rpath:$d"
done

cmake_args=(-DOLM_BUILD_GUI=OFF "-DCMAKE_PREFIX_PATH=$torch_dir${OLM_TORCH2_PREFIX_PATH:+;$OLM_TORCH2_PREFIX_PATH}"
  "-DCMAKE_EXE_LINKER_FLAGS=-Wl,-rpath,$rpath -Wl,-rpath-link,$rpath")
# shellcheck disable=SC2206
[ -z "${OLM_TORCH2_CMAKE_ARGS:-}" ] || cmake_args+=(${OLM_TORCH2_CMAKE_ARGS})

find_toolkit() {
  local c
  for c in "${CUDA_HOME:-}" "${CUDA_PATH:-}" "$(dirname "$(dirname "$(command -v nvcc 2>/dev/null || echo /x/x)")")" \
    /usr/local/cuda; do
    if [ -n "$c" ] && [ -x "$c/bin/nvcc" ] && [ -f "$c/include/cuda_runtime.h" ]; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

# A CUDA toolkit from PyPI: nvcc, its front end/back end and crt headers, of
# the exact version of the wheel's CUDA runtime; headers and libraries come
# from the wheel's nvidia/cuXX (linked in, not copied).
pip_toolkit() {
  local major="${torch_cuda%%.*}" runtime prefix tk f
  runtime="$("$python" -c 'import importlib.metadata as m; print(m.version("nvidia-cuda-runtime"))' 2>/dev/null ||
    "$python" -c "import importlib.metadata as m; print(m.version('nvidia-cuda-runtime-cu$major'))")"
  prefix="$build/cuda-toolkit"
  tk="$prefix/nvidia/cu$major"
  if [ ! -f "$prefix/.version" ] || [ "$(cat "$prefix/.version")" != "$runtime" ]; then
    echo "build-torch2: no CUDA toolkit installed; nvcc $runtime from PyPI into $prefix" >&2
    rm -rf "$prefix"
    "$python" -m pip install --quiet --disable-pip-version-check --no-deps --target "$prefix" \
      "nvidia-cuda-nvcc==$runtime" "nvidia-cuda-crt==$runtime" "nvidia-nvvm==$runtime" >&2
    for f in "$site/nvidia/cu$major"/include/* "$site/nvidia/cu$major"/lib/*; do
      local rel="${f#"$site/nvidia/cu$major/"}"
      [ -e "$tk/$rel" ] || ln -s "$f" "$tk/$rel"
    done
    # FindCUDA looks for the unversioned names.
    for f in "$tk"/lib/libcudart.so.* "$tk"/lib/libnvrtc.so.*; do
      case "$f" in *builtins*) continue ;; esac
      ln -sf "$(basename "$f")" "${f%%.so.*}.so"
    done
    echo "$runtime" >"$prefix/.version"
  fi
  echo "$tk"
}

if [ "$torch_cuda" != none ]; then
  toolkit=""
  if [ "${OLM_CUDA_TOOLKIT:-}" != pip ]; then toolkit="$(find_toolkit || true)"; fi
  [ -n "$toolkit" ] || toolkit="$(pip_toolkit)"
  echo "build-torch2: CUDA toolkit for configure and link: $toolkit" >&2
  cmake_args+=("-DCUDA_TOOLKIT_ROOT_DIR=$toolkit" "-DCMAKE_CUDA_COMPILER=$toolkit/bin/nvcc")
fi

start=$(date +%s)
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "${cmake_args[@]}"
if [ "$run_tests" = 1 ] && [ -z "${OLM_TORCH2_ALL:-}" ]; then
  # Every library and the CLI, and of the tests only those ctest will run
  # (a test named like its executable): no benchmark, fuzz target or test
  # that the labels leave out is compiled. OLM_TORCH2_ALL=1 builds all.
  mapfile -t wanted < <(cd "$build" && ctest -N "${ctest_args[@]}" | sed -n 's/^ *Test *#[0-9]*: //p')
  mapfile -t known < <(ninja -C "$build" -t targets all | sed -n 's/^\([A-Za-z0-9_.-]*\): phony$/\1/p')
  targets=(olm)
  for t in "${wanted[@]}"; do
    for k in "${known[@]}"; do [ "$k" = "$t" ] && targets+=("$t") && break; done
  done
  echo "build-torch2: building olm and $(( ${#targets[@]} - 1 )) test executables for ${#wanted[@]} tests" >&2
  cmake --build "$build" -j "$jobs" --target "${targets[@]}"
elif [ -n "${OLM_TORCH2_TARGETS:-}" ]; then
  # shellcheck disable=SC2086
  cmake --build "$build" -j "$jobs" --target ${OLM_TORCH2_TARGETS}
else
  cmake --build "$build" -j "$jobs"
fi
echo "build-torch2: configured and built in $(( $(date +%s) - start )) s" >&2

if [ "$run_tests" = 1 ]; then
  cd "$build"
  ctest --output-on-failure --timeout 1500 -j "${OLM_TEST_JOBS:-2}" "${ctest_args[@]}"
fi
