#!/usr/bin/env bash
# Installs what dlc needs to build and test, on Debian 12 (bookworm).
# Safe to re-run: it installs only what is missing. Needs root for apt-get
# (run as root, or with sudo available).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  llvm-19-dev libzstd-dev libz3-dev libxml2-dev libedit-dev zlib1g-dev
  libonnx-dev libprotobuf-dev protobuf-compiler
  libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev
  libonnx-testdata
  clang-19 libclang-rt-19-dev
  python3-sklearn
  python3-venv
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
