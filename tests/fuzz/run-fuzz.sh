#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan, a build
# directory of their own) and runs each for a bounded number of inputs from
# its committed seed corpus. Fails on any crash, sanitizer report, leak,
# timeout or out-of-memory; the input that caused it is left as
# BUILD_DIR/crash-<target>-* (replay: BUILD_DIR/<target> that-file).
#
# Usage: tests/fuzz/run-fuzz.sh [BUILD_DIR]      (default: build-fuzz)
#   OLM_FUZZ_RUNS=N     inputs per target (default 20000)
#   OLM_FUZZ_SECONDS=S  and at most S seconds per target (default 30)
#   OLM_FUZZ_JOBS=N     build jobs (default 2)
#   OLM_FUZZ_CXX=PATH   the clang++ to use (default clang++-14, then clang++)
# Exit status 77 (ctest: skipped) when no clang with libFuzzer is installed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-build-fuzz}"
runs="${OLM_FUZZ_RUNS:-20000}"
seconds="${OLM_FUZZ_SECONDS:-30}"
jobs="${OLM_FUZZ_JOBS:-2}"

cxx="${OLM_FUZZ_CXX:-}"
if [ -z "$cxx" ]; then
  for c in clang++-14 clang++; do
    if command -v "$c" >/dev/null 2>&1; then cxx="$(command -v "$c")"; break; fi
  done
fi
if [ -z "$cxx" ] || ! echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' |
    "$cxx" -x c++ -fsanitize=fuzzer,address - -o /dev/null 2>/dev/null; then
  echo "run-fuzz: no clang++ with libFuzzer (packages clang-14, libclang-rt-14-dev); skipped" >&2
  exit 77
fi

start=$(date +%s)
launcher=()
if command -v ccache >/dev/null 2>&1; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
cmake -S "$here" -B "$build" "${generator[@]}" -DCMAKE_CXX_COMPILER="$cxx" "${launcher[@]}" >/dev/null
nice cmake --build "$build" -j "$jobs"
built=$(date +%s)
echo "run-fuzz: built in $((built - start)) s"

targets=(fuzz_safetensors_header fuzz_model_config fuzz_tokenizer fuzz_dataset fuzz_merge_config)
failed=()
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
for t in "${targets[@]}"; do
  seeds="$here/corpus/${t#fuzz_}"
  work="$build/corpus-${t#fuzz_}"
  rm -rf "$work" && mkdir -p "$work"
  rm -f "$build/crash-$t-"*
  t0=$(date +%s)
  # New interesting inputs go to $work; the committed seeds are only read.
  if "$build/$t" -runs="$runs" -max_total_time="$seconds" -seed=1 -max_len=8192 -timeout=30 -rss_limit_mb=2048 \
      -artifact_prefix="$build/crash-$t-" -print_final_stats=1 "$work" "$seeds" \
      >"$build/$t.log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed+=("$t")
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/$t.log" | tail -1)
  echo "run-fuzz: $t: ${execs:-?} inputs in $(($(date +%s) - t0)) s, $status"
  if [ "$status" = FAILED ]; then
    tail -n 60 "$build/$t.log" >&2
    ls "$build/crash-$t-"* 2>/dev/null >&2 || true
  fi
done
echo "run-fuzz: total $(($(date +%s) - start)) s (build $((built - start)) s)"
if [ ${#failed[@]} -gt 0 ]; then
  echo "run-fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
