#!/usr/bin/env bash
# The GPU check: everything a lent GPU machine is asked, in one run of under
# 8 minutes. That machine has PyTorch 2.x with CUDA, transformers, CMake and
# ninja, but no Debian packages, so the few libraries the core needs travel as
# .deb files (unpacked under a prefix there).
#
#   tools/gpu-check.sh prepare      on a Debian 12 machine with its package
#                                   mirror: downloads the .deb files into
#                                   tools/gpu-deps/ (ignored by git; carry it)
#   tools/gpu-check.sh unpack       only unpack tools/gpu-deps/ into build-gpu/prefix
#   tools/gpu-check.sh [OUT_DIR]    on the GPU machine (OUT_DIR default: $OUT,
#                                   else gpu-check-out/): every step below,
#                                   each with its own time limit; a failed step
#                                   is recorded and the next one runs
#
# Steps (figures and logs under OUT_DIR, summary.json at the end):
#   build    core + CLI against that PyTorch's libtorch (packaging/build-torch2.sh,
#            no tests, no GUI) into build-gpu/
#   logits   tools/gpu_logits_check.py: `olm logits` on cuda:0 against
#            transformers on the same GPU, bf16 and fp32, on a random
#            Qwen2.5-0.5B-shaped model (4 layers)
#   engine   `olm bench engine --device cuda:0` at hidden 4096 (Llama-3-8B's
#            layer shape, 4 layers) in bf16, and its prefill rate as a share of
#            the GPU's dense bf16 peak (table below; OLM_GPU_PEAK_TFLOPS overrides)
#   merge    three random Qwen2.5-0.5B-shaped models (24 layers, vocabulary
#            151,936; `olm bench merge --pool-only`) merged end to end on
#            cuda:0 in bf16: wall time and seconds per dataset evaluation
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deps="$root/tools/gpu-deps"

# Build dependencies of core + CLI and what they load at run time.
packages=(nlohmann-json3-dev libyaml-cpp-dev libpcre2-dev libutf8proc-dev libcurl4-openssl-dev libssl-dev
  pkgconf)

if [ "${1:-}" = prepare ]; then
  set -e
  mkdir -p "$deps"
  # The closure of their dependencies, less what every Linux system has.
  mapfile -t all < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "${packages[@]}" | grep -v '^ ' | grep -v '^<' | sort -u |
    grep -v -E '^(libc6|libc-dev-bin|libc6-dev|libgcc-s1|libstdc\+\+6|gcc-12-base|debconf|dpkg|perl-base|tar|libcrypt1|libcrypt-dev|linux-libc-dev|rpcsvc-proto|libnsl-dev|libtirpc-dev|libnsl2|libtirpc3|libtirpc-common|libselinux1|libpcre3|zlib1g|libzstd1|liblzma5|libbz2-1.0|install-info|sensible-utils|mawk|coreutils|libacl1|libattr1|libgmp10|libmd0|libbsd0|libdebconfclient0|libaudit1|libaudit-common|libcap-ng0|libcap2)$')
  (cd "$deps" && apt-get download "${all[@]}")
  du -sh "$deps"
  echo "gpu-check: ${#all[@]} packages in $deps; carry tools/gpu-deps to the GPU machine"
  exit 0
fi

if [ "${1:-}" = unpack ]; then unpack_only=1; shift; else unpack_only=0; fi
out="${1:-${OUT:-$root/gpu-check-out}}"
mkdir -p "$out"
build="$root/build-gpu"
prefix="$build/prefix"
start=$(date +%s)
declare -A status seconds

step() {  # step NAME LIMIT_S COMMAND...
  local name="$1" limit="$2" t0 rc
  shift 2
  t0=$(date +%s)
  echo "== gpu-check: $name (limit ${limit} s)" | tee -a "$out/log.txt"
  timeout "$limit" "$@" >"$out/$name.log" 2>&1
  rc=$?
  seconds[$name]=$(($(date +%s) - t0))
  if [ "$rc" = 0 ]; then status[$name]=ok; else status[$name]="failed (exit $rc)"; fi
  tail -n 30 "$out/$name.log" | tee -a "$out/log.txt"
  echo "== gpu-check: $name ${status[$name]} in ${seconds[$name]} s" | tee -a "$out/log.txt"
}

python="$(command -v python3 || command -v python)"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >"$out/gpu.txt" 2>&1 || true
"$python" -c 'import torch, transformers; print("torch", torch.__version__, "cuda", torch.version.cuda,
  "available", torch.cuda.is_available(), "transformers", transformers.__version__)' >>"$out/gpu.txt" 2>&1
cat "$out/gpu.txt"

unpack() {
  [ -d "$deps" ] || { echo "no $deps: run 'tools/gpu-check.sh prepare' on a Debian machine and carry it"; return 1; }
  rm -rf "$prefix" && mkdir -p "$prefix"
  # A .deb is an ar archive holding data.tar.*; no dpkg needed.
  "$python" - "$deps" "$prefix" <<'EOF'
import io, os, sys, tarfile
deps, prefix = sys.argv[1], sys.argv[2]
for name in sorted(os.listdir(deps)):
    if not name.endswith(".deb"):
        continue
    data = open(os.path.join(deps, name), "rb").read()
    assert data[:8] == b"!<arch>\n", name
    pos = 8
    while pos < len(data):
        member, size = data[pos:pos + 16].decode().strip(), int(data[pos + 48:pos + 58])
        body = data[pos + 60:pos + 60 + size]
        pos += 60 + size + (size & 1)
        if member.startswith("data.tar"):
            with tarfile.open(fileobj=io.BytesIO(body)) as t:
                t.extractall(prefix, filter="tar") if hasattr(tarfile, "data_filter") else t.extractall(prefix)
    print("unpacked", name)
EOF
  # pkg-config files and CMake packages name /usr: point them at the prefix.
  grep -rlE '^(prefix|exec_prefix|libdir|includedir)=/usr' "$prefix/usr/lib" "$prefix/usr/share" 2>/dev/null |
    xargs -r sed -i -E "s#^(prefix|exec_prefix|libdir|includedir)=/usr#\1=$prefix/usr#"
  ln -sf pkgconf "$prefix/usr/bin/pkg-config" 2>/dev/null || true
}

lib="$prefix/usr/lib/x86_64-linux-gnu"
if [ "$unpack_only" = 1 ]; then unpack; exit; fi  # (checks the unpacking alone)
export PATH="$prefix/usr/bin:$PATH"
export PKG_CONFIG_PATH="$lib/pkgconfig:$prefix/usr/share/pkgconfig"
export PKG_CONFIG_LIBDIR="$PKG_CONFIG_PATH"
export CPATH="$prefix/usr/include${CPATH:+:$CPATH}"

build_olm() {
  unpack || return 1
  OLM_TORCH2_BUILD_DIR="$build" OLM_TORCH2_TARGETS=olm \
    OLM_TORCH2_PREFIX_PATH="$prefix/usr;$lib/cmake" \
    OLM_TORCH2_CMAKE_ARGS="-DOLM_BUILD_TESTS=OFF -DOPENSSL_ROOT_DIR=$prefix/usr -DCURL_ROOT=$prefix/usr" \
    LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "$root/packaging/build-torch2.sh" "$("$python" -c 'import sys; print(sys.prefix)')"
}
step build 300 build_olm
olm="$build/app/olm"
export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

step logits 120 "$python" "$root/tools/gpu_logits_check.py" "$olm" "$out/logits.json"

engine() {
  "$olm" bench engine --device cuda:0 --hidden 4096 --heads 32 --kv-heads 8 --intermediate 14336 --layers 4 \
    --vocab 32000 --seq 512 --steps 16 --reps 3 --batches 1,8 --dtypes bf16 --no-thread-sweep
}
step engine 120 engine

merge() {
  local pool="$out/pool"
  rm -rf "$pool"
  "$olm" bench merge --dir "$pool" --pool-only --models 3 --hidden 896 --intermediate 4864 --layers 24 \
    --heads 14 --kv-heads 2 --vocab 151936 --samples 32 || return 1
  sed -i 's/^device: .*/device: cuda:0/; s/^dtype: .*/dtype: bf16/' "$pool/merge.yaml"
  "$olm" merge "$pool/merge.yaml" --no-export || return 1
  "$python" - "$pool/out/merge_report.json" <<'EOF'
import json, re, sys
j = json.loads(re.sub(r"-?Infinity|NaN", "null", open(sys.argv[1]).read()))
t = j["timings"]
n = max(1, t["evaluations_this_run"])
print(f"merge: {n} dataset evaluations in {t['search_seconds']:.1f} s of search "
      f"({t['search_seconds'] / n:.3f} s each), {t['total_seconds']:.1f} s in all")
EOF
  rm -rf "$pool/models"
}
step merge 180 merge

# The engine's bf16 prefill rate against the GPU's dense bf16 peak.
peak="${OLM_GPU_PEAK_TFLOPS:-}"
if [ -z "$peak" ]; then
  case "$(head -n 1 "$out/gpu.txt")" in
    *H200* | *H100*SXM* | *"H100 80GB HBM3"*) peak=989 ;;
    *H100*) peak=756 ;;
    *A100*) peak=312 ;;
    *L40S*) peak=362 ;;
    *A10G* | *A10,*) peak=125 ;;
    *L4,* | *"L4 "*) peak=121 ;;
    *) peak="" ;;
  esac
fi

"$python" - "$out" "${peak:-0}" "$(($(date +%s) - start))" \
  "$(for s in build logits engine merge; do echo "$s=${status[$s]:-not run}=${seconds[$s]:-0}"; done)" <<'EOF'
import json, os, re, sys
out, peak, total, steps = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split()
summary = {"seconds": total, "gpu": open(os.path.join(out, "gpu.txt")).read().strip().splitlines(),
           "steps": {s.split("=")[0]: {"status": s.split("=")[1], "seconds": int(s.split("=")[2])} for s in steps}}
try:
    summary["logits"] = json.load(open(os.path.join(out, "logits.json")))
except Exception as e:
    summary["logits"] = f"missing: {e}"
rows = []
try:
    for line in open(os.path.join(out, "engine.log")):
        m = re.match(r"bf16\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)%\s+([\d.]+)", line)
        if m:
            b, tps, gf, mm, _, dec = m.groups()
            r = {"batch": int(b), "prefill_tokens_s": float(tps), "prefill_tflops": float(gf) / 1000,
                 "matmul_tflops": float(mm) / 1000, "decode_tokens_s": float(dec)}
            if peak:
                r["prefill_share_of_peak"] = float(gf) / 1000 / peak
                r["matmul_share_of_peak"] = float(mm) / 1000 / peak
            rows.append(r)
except OSError:
    pass
summary["engine"] = {"peak_bf16_tflops": peak or None, "rows": rows}
try:
    summary["merge"] = [l.strip() for l in open(os.path.join(out, "merge.log")) if l.startswith("merge:")]
except OSError:
    summary["merge"] = []
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=2)
print(json.dumps(summary, indent=2))
EOF
echo "gpu-check: done in $(($(date +%s) - start)) s; figures in $out"
