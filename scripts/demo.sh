#!/usr/bin/env bash
# The main job: inspect the model bundled in models/, compile it for this
# CPU with LLVM, run it, and check it against the exporter's outputs.
set -euo pipefail
build=${1:-build}
dlc="$build/dlc"
model_dir=models/demo_cnn
input="$model_dir/test_data_set_0/input_0.pb"

echo "== dlc inspect $model_dir/model.onnx"
"$dlc" inspect "$model_dir/model.onnx"
echo
echo "== dlc inspect --target cpu: how each op is compiled (batch N bound to 1)"
"$dlc" inspect "$model_dir/model.onnx" --target cpu --shape N=1
echo
echo "== dlc run --target cpu (input from test_data_set_0, outputs to $build/demo_out)"
"$dlc" run "$model_dir/model.onnx" --target cpu --input "input=$input" --output-dir "$build/demo_out"
echo
echo "== dlc conformance: compare with PyTorch's outputs (the exporter), compiled and on the reference interpreter"
"$dlc" conformance "$model_dir" --target cpu
"$dlc" conformance "$model_dir" --target ref
echo
echo "== dlc bench --target cpu"
"$dlc" bench "$model_dir/model.onnx" --target cpu --input "input=$input" --iterations 100
