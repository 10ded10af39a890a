#!/usr/bin/env bash
# The main job: inspect, run and check the model bundled in models/.
set -euo pipefail
build=${1:-build}
dlc="$build/dlc"
model_dir=models/demo_cnn

echo "== dlc inspect $model_dir/model.onnx"
"$dlc" inspect "$model_dir/model.onnx"
echo
echo "== dlc run (input from test_data_set_0, outputs to $build/demo_out)"
"$dlc" run "$model_dir/model.onnx" --input "input=$model_dir/test_data_set_0/input_0.pb" --output-dir "$build/demo_out"
echo
echo "== dlc conformance: compare with PyTorch's outputs (the exporter)"
"$dlc" conformance "$model_dir"
