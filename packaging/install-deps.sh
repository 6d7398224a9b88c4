#!/usr/bin/env bash
# Installs every Debian package OLM Studio needs to build, test and run its demo.
# Idempotent: packages that `dpkg -s` reports installed are skipped.
# Usage: packaging/install-deps.sh   (as root, or with sudo available)
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git xz-utils
  clang-format-14         # the check_format test (the root .clang-format)
  time                    # /usr/bin/time -v: peak-memory figures in docs/bench-*.md
  clang-14 libclang-rt-14-dev  # libFuzzer targets of the parsers (tests/fuzz/run-fuzz.sh)
  # merge core
  libtorch-dev            # Debian's CPU libtorch (1.13)
  libopenblas0-pthread    # without it libtorch uses reference BLAS: fp32 matmul ~30x slower
  libyaml-cpp-dev nlohmann-json3-dev
  libpcre2-dev            # tokenizer split patterns (\p{L}, look-ahead)
  libutf8proc-dev         # Unicode normalisation (NFC/NFKC/NFD)
  libcurl4-openssl-dev libssl-dev   # Hugging Face Hub downloads and their checksums
  # GUI
  qt6-base-dev qt6-charts-dev libqt6opengl6-dev libxkbcommon-dev libgl-dev
  qt6-qpa-plugins
  # screenshots / headless display for the GUI
  xvfb xauth
  # conformance suite (tests/conformance): packaging/setup-venv.sh makes a venv
  python3 python3-venv
  # the package test: build the .deb, check its desktop entry and metainfo; the Hub test server (python3)
  dpkg-dev file desktop-file-utils appstream
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg -s "$p" >/dev/null 2>&1; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
  fi
fi

echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
