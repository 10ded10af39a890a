#!/usr/bin/env bash
# ctest cmake_consumer: installs dlc into a prefix inside the build tree,
# configures and builds examples/cmake_consumer against it with
# find_package(dlc), and runs the result.
#   run_test.sh <dlc build dir> <consumer source dir>
set -euo pipefail
build=$1 src=$2
work=$build/cmake_consumer_test
cmake --install "$build" --prefix "$work/prefix" > "$work.install.log" 2>&1 || { cat "$work.install.log"; exit 1; }
cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_CXX_COMPILER_LAUNCHER="$(command -v ccache || true)" > "$work.configure.log" 2>&1 \
  || { cat "$work.configure.log"; exit 1; }
cmake --build "$work/build" > "$work.build.log" 2>&1 || { cat "$work.build.log"; exit 1; }
cd "$work/build" && ./fit_line
test -s fit_line.onnx
