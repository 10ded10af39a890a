#!/usr/bin/env bash
# ctest cmake_consumer: installs dlc into a prefix inside the build tree,
# configures and builds examples/cmake_consumer against it with
# find_package(dlc), and runs the result; then the installed `dlc compile`
# makes an AOT bundle (it finds libdlcrt.a in the prefix) that a C program
# links and runs against the model's expected outputs.
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

# The installed tool: an AOT bundle of the ResNet-style test model.
repo=$(cd "$src/../.." && pwd)
model=$repo/tests/models/resnet_tiny
aot=$work/aot
rm -rf "$aot"
"$work/prefix/bin/dlc" compile "$model/model.onnx" --target cpu -o "$aot" --name resnet --shape N=2
${CC:-cc} -O2 -DMODEL=resnet -I"$aot" "$repo/examples/aot/run_model.c" "$aot/resnet.o" "$aot/libdlcrt.a" \
  -lstdc++ -lm -lpthread -ldl -o "$aot/run"
"$aot/run" --weights "$aot/resnet.weights" "$model/test_data_set_0/input_0.pb" \
  --expect "$model/test_data_set_0/output_0.pb"
