#!/usr/bin/env bash
# Packs what scripts/gpu_check.sh runs on a lent GPU machine into one file
# small enough to carry there (the device tool carries at most 64 MiB with
# the working tree; a RelWithDebInfo build folder is gigabytes, and dlc alone
# 193 MB with its debug info):
#
#   scripts/gpu_pack.sh BUILD [DEST]     (DEST default: build-gpu, gitignored)
#
# writes DEST/dlc-gpu.tar.xz holding, stripped, BUILD's dlc (with libdlcrt.a
# and dlc_runtime.h beside it, for `dlc compile`), tests/dlc_unit_tests and
# train_step_bench, plus lib/ with the shared libraries they need that the
# GPU machine's image lacks (ONNX's protobuf classes, protobuf, fmt, zstd;
# it has NVRTC, zlib and the C++ runtime). Then, from this machine:
#
#   run(command="scripts/gpu_check.sh build-gpu/dlc-gpu.tar.xz $OUT tests,conformance,models",
#       carry=["build-gpu"])
#
# Fails when the pack would not fit (over 56 MiB: room for the working tree).
set -euo pipefail
build=${1:?usage: scripts/gpu_pack.sh BUILD [DEST]}
dest=${2:-build-gpu}
limit=$((56 << 20))
for f in dlc libdlcrt.a dlc_runtime.h tests/dlc_unit_tests train_step_bench; do
  [ -f "$build/$f" ] || { echo "gpu_pack: $build/$f is missing (build every target first)" >&2; exit 1; }
done
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/tests" "$stage/lib" "$dest"
cp "$build/dlc" "$build/libdlcrt.a" "$build/dlc_runtime.h" "$build/train_step_bench" "$stage/"
cp "$build/tests/dlc_unit_tests" "$stage/tests/"
strip "$stage/dlc" "$stage/train_step_bench" "$stage/tests/dlc_unit_tests"
# The libraries from Debian's packages that the binaries link (resolved here).
for lib in $(ldd "$build/dlc" "$build/tests/dlc_unit_tests" | awk '/=> \// {print $3}' | sort -u); do
  case $(basename "$lib") in
    libonnx_proto.so* | libprotobuf.so* | libfmt.so* | libzstd.so*) cp -L "$lib" "$stage/lib/" ;;
  esac
done
strip --strip-unneeded "$stage"/lib/*
tar -C "$stage" -cJf "$dest/dlc-gpu.tar.xz" .
size=$(stat -c %s "$dest/dlc-gpu.tar.xz")
echo "gpu_pack: $dest/dlc-gpu.tar.xz, $((size >> 20)) MiB: $(cd "$stage" && find . -type f | sort | tr '\n' ' ')"
if [ "$size" -gt "$limit" ]; then
  echo "gpu_pack: over $((limit >> 20)) MiB: it would not travel with the working tree" >&2
  exit 1
fi
