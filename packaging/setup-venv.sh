#!/usr/bin/env bash
# Creates the Python virtual environment of the conformance suite
# (tests/conformance: transformers, tokenizers, safetensors and mergekit judge
# the product; nothing of it runs inside the product) from the pinned
# tests/conformance/requirements.txt (+ constraints.txt).
# Idempotent: the venv keeps a stamp with the SHA-256 of both files; when it
# matches and the venv's python runs, nothing is done. Concurrent calls wait on
# a lock, so two ctest jobs never build the same venv at once. --no-compile: the
# few modules a run imports are byte-compiled on first use (saves minutes).
# Usage: packaging/setup-venv.sh [VENV_DIR]   (default $OLM_BUILD_DIR/venv, else build/venv)
# Prints the venv's python path on the last line of stdout.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-${OLM_BUILD_DIR:-$root/build}/venv}"
req="$root/tests/conformance/requirements.txt"
con="$root/tests/conformance/constraints.txt"
hash="$(cat "$req" "$con" | sha256sum | cut -d' ' -f1)"
stamp="$venv/.olm-requirements.sha256"

up_to_date() {
  [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ] &&
    "$venv/bin/python" -c 'import sys' >/dev/null 2>&1
}

mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
if up_to_date; then
  echo "setup-venv: $venv is up to date" >&2
  echo "$venv/bin/python"
  exit 0
fi

if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "setup-venv: python3 with venv and ensurepip is needed (packaging/install-deps.sh installs python3-venv)" >&2
  exit 1
fi

start=$(date +%s)
rm -f "$stamp"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
echo "setup-venv: installing tests/conformance/requirements.txt into $venv" >&2
"$venv/bin/python" -m pip install --progress-bar off --disable-pip-version-check --no-compile \
  -r "$req" -c "$con" >&2
"$venv/bin/python" -m pip check >&2
echo "$hash" >"$stamp"
echo "setup-venv: done in $(( $(date +%s) - start )) s" >&2
echo "$venv/bin/python"
