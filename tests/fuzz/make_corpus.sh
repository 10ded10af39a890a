#!/usr/bin/env bash
# Writes the committed seed corpora of the fuzz targets:
#   corpus/onnx_import/  small ONNX node-test models (one per op family) and
#                        the malformed models of tests/malformed
#   corpus/ir_parser/    the IR text of those models, as `dlc inspect --ir-full`
#                        prints it
# Crash inputs found later are added by hand as regression_<what>, and kept.
# Usage: tests/fuzz/make_corpus.sh path/to/dlc
set -euo pipefail
dlc=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
node=/usr/share/libonnx-testdata/data/node
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
for t in "${tests[@]}"; do
  [ -f "$node/$t/model.onnx" ] || { echo "make_corpus: no $t" >&2; continue; }
  cp "$node/$t/model.onnx" "$onnx_dir/$t.onnx"
  "$dlc" inspect "$node/$t/model.onnx" --ir-full 2>/dev/null | sed -n '/^graph /,$p' >"$ir_dir/$t.ir" || true
  [ -s "$ir_dir/$t.ir" ] || rm -f "$ir_dir/$t.ir"
done
for f in "$here"/../malformed/*.onnx; do cp "$f" "$onnx_dir/malformed_$(basename "$f")"; done
echo "make_corpus: $(ls "$onnx_dir" | wc -l) ONNX seeds, $(ls "$ir_dir" | wc -l) IR seeds"
