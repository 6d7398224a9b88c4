#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and starts OLM Studio on its bundled demo
# project: the GUI when a display is available, the headless demo merge otherwise.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${OLM_BUILD_DIR:-$root/build}"
"$root/packaging/install-deps.sh"
# Only the two programs: the test suite (packaging/test.sh) builds the rest.
OLM_BUILD_TARGETS="olm olm-studio" "$root/packaging/build.sh"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x "$build/app/olm-studio" ]; then
  exec "$build/app/olm-studio" --demo "$@"
fi
if "$build/app/olm" --help | grep -q '^  demo '; then
  exec "$build/app/olm" demo "$@"
fi
echo "run.sh: no display; the demo project is not built yet, so showing the CLI." >&2
exec "$build/app/olm" --version
