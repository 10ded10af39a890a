#!/usr/bin/env bash
# `dlc train`: trains the untrained MLP tests/cli/data/digits_mlp.onnx (made
# by make_train_model.py) on the sklearn digits for 3 epochs, checks the
# held-out accuracy and that `dlc run` loads the exported model; then one
# case per bad option or bad data (exit 1, a message naming the problem).
# Usage: train_test.sh path/to/dlc path/to/digits_mlp.onnx
set -uo pipefail
dlc=$1
model=$2
digits=/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz
source "$(dirname "$0")/expect.sh"

expect 0 "usage: dlc train" -- "$dlc" train --help
expect 0 "train MODEL.onnx" -- "$dlc" --help

# Training: the loss per epoch, then >= 90% held out (94.4% when written).
out=$("$dlc" train "$model" --data "$digits" --label-column last --loss cross-entropy --optimizer adam --lr 0.01 \
  --batch 40 --epochs 3 --holdout 0.2 --seed 0 --target cpu --threads 2 -o "$tmp/trained.onnx" 2>&1)
rc=$?
echo "$out"
accuracy=$(sed -n 's/^held-out accuracy \([0-9.]*\)%.*/\1/p' <<<"$out")
epochs=$(grep -c '^epoch ' <<<"$out")
if [ "$rc" -ne 0 ] || [ "$epochs" -ne 3 ] || [ -z "$accuracy" ] || ! awk -v a="$accuracy" 'BEGIN { exit !(a >= 90) }'; then
  echo "FAIL: dlc train -> exit $rc, $epochs epochs, accuracy '${accuracy}' (want 3 epochs, >= 90%)"
  failures=$((failures + 1))
else
  passes=$((passes + 1))
fi
first=$(sed -n 's/^epoch *1 *loss \([0-9.]*\)/\1/p' <<<"$out")
last=$(sed -n 's/^epoch *3 *loss \([0-9.]*\)/\1/p' <<<"$out")
if ! awk -v f="$first" -v l="$last" 'BEGIN { exit !(l < f / 2) }'; then
  echo "FAIL: the loss did not halve from epoch 1 ($first) to epoch 3 ($last)"
  failures=$((failures + 1))
else
  passes=$((passes + 1))
fi
expect 0 "logits: f32\[40,10\]" -- "$dlc" run "$tmp/trained.onnx" --target cpu --threads 2
# The reference interpreter and SGD with Nesterov momentum train too.
expect 0 "held-out accuracy (9[0-9]|100)\." -- "$dlc" train "$model" --data "$digits" --optimizer sgd --lr 0.02 \
  --momentum 0.9 --nesterov --batch 40 --epochs 3 --target ref
# --target cuda: trains on a GPU; without one (or without CUDA in this
# build), the first step fails with exit 1 and says why.
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  expect 0 "held-out accuracy (9[0-9]|100)\." -- "$dlc" train "$model" --data "$digits" --optimizer sgd --lr 0.02 \
    --momentum 0.9 --batch 40 --epochs 3 --target cuda
else
  expect 1 "no CUDA device: |built without CUDA" -- "$dlc" train "$model" --data "$digits" --epochs 1 --target cuda
fi

# Bad options.
expect 1 "--data FILE.csv is required" -- "$dlc" train "$model"
expect 1 "expected one model file" -- "$dlc" train --data "$digits"
expect 1 "--optimizer must be sgd, adam or adamw, got 'rmsprop'" -- "$dlc" train "$model" --data "$digits" --optimizer rmsprop
expect 1 "--loss must be cross-entropy, mse or bce, got 'hinge'" -- "$dlc" train "$model" --data "$digits" --loss hinge
expect 1 "--holdout must lie in \[0, 1\), got 1.5" -- "$dlc" train "$model" --data "$digits" --holdout 1.5
expect 1 "--batch must be at least 1" -- "$dlc" train "$model" --data "$digits" --batch 0
expect 1 "--lr expects a number, got 'fast'" -- "$dlc" train "$model" --data "$digits" --lr fast
expect 1 "--momentum and --nesterov are for --optimizer sgd" -- "$dlc" train "$model" --data "$digits" --optimizer adam --momentum 0.9
expect 1 "--target must be cpu, cuda or ref" -- "$dlc" train "$model" --data "$digits" --target tpu
expect 1 "no input 'pixels'" -- "$dlc" train "$model" --data "$digits" --input pixels
expect 1 "no output 'probs'" -- "$dlc" train "$model" --data "$digits" --logits probs
expect 1 "--label-column 65 is outside the data's 65 columns" -- "$dlc" train "$model" --data "$digits" --label-column 65
expect 1 "--loss mse needs one value per example in output 'logits'" -- "$dlc" train "$model" --data "$digits" --loss mse
expect 1 "unknown option --bogus" -- "$dlc" train "$model" --data "$digits" --bogus

# Bad data.
expect 1 "cannot open '$tmp/missing.csv'" -- "$dlc" train "$model" --data "$tmp/missing.csv"
printf '1,2,3\n4,five,6\n' >"$tmp/word.csv"
expect 1 "line 2, column 2: 'five' is not a number" -- "$dlc" train "$model" --data "$tmp/word.csv"
printf '1,2,3\n\n4,5\n' >"$tmp/ragged.csv"
expect 1 "line 3 has 2 columns, expected 3" -- "$dlc" train "$model" --data "$tmp/ragged.csv"
printf '1,2,3\n' >"$tmp/narrow.csv"
expect 1 "has 2 feature columns \(and a label\), but input 'x' \(f32\[32,64\]\) takes 64 values per example" -- \
  "$dlc" train "$model" --data "$tmp/narrow.csv"
zcat "$digits" | head -50 | sed '7s/,[0-9]*$/,12/' >"$tmp/label12.csv"
expect 1 "row 7: label 12 is not a class index in \[0, 10\)" -- "$dlc" train "$model" --data "$tmp/label12.csv"
: >"$tmp/empty.csv"
expect 1 "no rows of numbers" -- "$dlc" train "$model" --data "$tmp/empty.csv"
zcat "$digits" | head -30 >"$tmp/few.csv"
expect 1 "24 training rows \(after holding out 6\) are fewer than one batch of 32" -- "$dlc" train "$model" --data "$tmp/few.csv"

# The 2-layer LSTM trains (through its unrolled decomposition) and is written
# with its LSTM nodes (opset 21); `dlc run` loads it, and its outputs on the
# test's input are the trained ones, not the untrained model's.
lstm_dir=$(dirname "$model")/../../models/lstm_tiny
lstm=$lstm_dir/model.onnx
awk 'BEGIN { for (r = 0; r < 20; ++r) { for (c = 0; c < 80; ++c) printf "%g,", (r * 7 + c) % 5 - 2; print r % 4 } }' >"$tmp/seq.csv"
expect 0 "^wrote $tmp/lstm.onnx" -- "$dlc" train "$lstm" --data "$tmp/seq.csv" \
  --batch 3 --epochs 2 --optimizer adam --threads 2 -o "$tmp/lstm.onnx"
lstm_input="input=$lstm_dir/test_data_set_0/input_0.pb"
expect 0 "logits: f32\[3,4\]" -- "$dlc" run "$tmp/lstm.onnx" --input "$lstm_input"
expect 0 "logits: f32\[3,4\]" -- "$dlc" run "$tmp/lstm.onnx" --input "$lstm_input" --target cpu --threads 2
untrained=$("$dlc" run "$lstm" --input "$lstm_input" 2>&1 | grep '^logits')
trained=$("$dlc" run "$tmp/lstm.onnx" --input "$lstm_input" 2>&1 | grep '^logits')
if [ -z "$trained" ] || [ "$trained" = "$untrained" ]; then
  echo "FAIL: the exported LSTM's outputs ('$trained') are not the trained ones (untrained: '$untrained')"
  failures=$((failures + 1))
else
  passes=$((passes + 1))
fi

echo "train_test: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
