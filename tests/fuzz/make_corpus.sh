#!/usr/bin/env bash
# Writes the committed seed corpora of the fuzz targets:
#   corpus/onnx_import/  small ONNX node-test models (one per op family) and
#                        the malformed models of tests/malformed
#   corpus/ir_parser/    the IR text of those models, as `dlc inspect --ir-full`
#                        prints it
# The ops of opsets 22-24 come from the onnx wheel's node tests
# (scripts/make-onnx-tests.sh writes them; default build/onnx-tests/node).
# Crash inputs found later are added by hand as regression_<what>, and kept.
# Usage: tests/fuzz/make_corpus.sh path/to/dlc [path/to/onnx-tests/node]
set -euo pipefail
dlc=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
node=/usr/share/libonnx-testdata/data/node
wheel_node=${2:-$here/../../build/onnx-tests/node}
onnx_dir=$here/corpus/onnx_import
ir_dir=$here/corpus/ir_parser
mkdir -p "$onnx_dir" "$ir_dir"
tests=(test_add test_add_bcast test_relu test_conv_with_strides_padding test_maxpool_2d_pads
  test_averagepool_2d_pads test_gemm_default_matrix_bias test_matmul_3d test_batchnorm_example
  test_softmax_axis_1 test_layer_normalization_2d_axis0 test_reshape_reduced_dims test_transpose_all_permutations_1
  test_slice test_gather_0 test_gather_elements_0 test_scatter_elements_with_axis test_concat_2d_axis_0
  test_split_equal_parts_1d_opset18 test_expand_dim_changed test_tile test_pad test_reduce_sum_keepdims_example
  test_argmax_default_axis_example test_topk test_cast_FLOAT_to_INT32 test_where_example test_if test_loop11
  test_scan9_sum test_lstm_defaults test_gru_defaults test_resize_upsample_scales_nearest test_einsum_batch_matmul
  test_cumsum_1d test_nonzero_example test_constant test_constantofshape_float_ones test_range_float_type_positive_delta
  test_dft test_mod_mixed_sign_int32 test_div_uint8 test_clip_default_int8_inbounds test_unique_sorted_with_axis)
wheel_tests=(test_attention_4d_with_past_and_present_qk_matmul_bias_4d_mask_causal test_attention_3d_gqa_with_past_and_present
  test_attention_4d_gqa_causal_nonpad_decode test_attention_4d_softcap test_rotary_embedding_with_interleaved_rotary_dim
  test_rotary_embedding_3d_input test_rms_normalization_3d_axis1_epsilon test_tensorscatter_circular test_swish
  test_center_crop_pad_crop_and_pad test_l1normalization_axis_0)
seed() {  # FOLDER TEST
  [ -f "$1/$2/model.onnx" ] || { echo "make_corpus: no $1/$2" >&2; return; }
  cp "$1/$2/model.onnx" "$onnx_dir/$2.onnx"
  "$dlc" inspect "$1/$2/model.onnx" --ir-full 2>/dev/null | sed -n '/^graph /,$p' >"$ir_dir/$2.ir" || true
  [ -s "$ir_dir/$2.ir" ] || rm -f "$ir_dir/$2.ir"
}
for t in "${tests[@]}"; do seed "$node" "$t"; done
for t in "${wheel_tests[@]}"; do seed "$wheel_node" "$t"; done
for f in "$here"/../malformed/*.onnx; do cp "$f" "$onnx_dir/malformed_$(basename "$f")"; done
echo "make_corpus: $(ls "$onnx_dir" | wc -l) ONNX seeds, $(ls "$ir_dir" | wc -l) IR seeds"
