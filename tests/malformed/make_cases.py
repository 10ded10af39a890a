#!/usr/bin/env python3
"""Writes the malformed-model corpus of tests/malformed (one mistake per file).

Run with a Python that has `onnx` and `numpy` (the optional .venv of the
README's dependency table), from anywhere:
    .venv/bin/python tests/malformed/make_cases.py
The generated files are committed, so the tests need no PyPI. What dlc must
answer for each case (exit code 1 and a part of the message) is listed in
cases.txt, which run_cases.sh reads; a case without a line there fails.
"""
import os
import struct

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
F = TensorProto.FLOAT
I64 = TensorProto.INT64
I32 = TensorProto.INT32


def vi(name, dtype=F, shape=(2, 3)):
    return helper.make_tensor_value_info(name, dtype, list(shape) if shape is not None else None)


def model(nodes, inputs, outputs, initializers=(), opset=17, name="g", extra_opsets=()):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(initializers))
    opsets = [helper.make_opsetid("", opset)] if opset is not None else []
    opsets += [helper.make_opsetid(d, v) for d, v in extra_opsets]
    m = helper.make_model(graph, opset_imports=opsets, producer_name="dlc-malformed")
    m.ir_version = 8
    return m


def save(name, m, folder=HERE):
    with open(os.path.join(folder, name + ".onnx"), "wb") as f:
        f.write(m.SerializeToString())


def save_bytes(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def relu_model():
    return model([helper.make_node("Relu", ["x"], ["y"], name="relu")], [vi("x")], [vi("y")])


def raw_tensor(name, dtype, dims, raw=b""):
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    t.raw_data = raw
    return t


def add_with_init(init, x_shape=(2, 3)):
    return model([helper.make_node("Add", ["x", init.name], ["y"], name="add")], [vi("x", shape=x_shape)],
                 [vi("y", shape=None)], [init])


def external(name, location, extra=()):
    t = TensorProto()
    t.name = name
    t.data_type = F
    t.dims.extend([2, 3])
    t.data_location = TensorProto.EXTERNAL
    for k, v in [("location", location)] + list(extra):
        e = t.external_data.add()
        e.key, e.value = k, v
    return t


def npy_header(descr, shape, fortran=False):
    d = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, "True" if fortran else "False", shape)
    d += " " * (63 - (10 + len(d)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(d)) + d.encode()


def main():
    # --- protobuf level -------------------------------------------------
    good = relu_model().SerializeToString()
    save_bytes("proto_truncated.onnx", good[: len(good) // 2])
    save_bytes("proto_garbage.onnx", bytes(np.random.default_rng(7).integers(0, 256, 300, dtype=np.uint8)))
    save_bytes("proto_empty.onnx", b"")
    save_bytes("proto_wrong_wire_type.onnx", b"\x3a\x05\x0a\x03abc\xff\xff\xff\xff\x0f")
    m = relu_model()
    m.ClearField("graph")
    save("proto_no_graph", m)
    # If nested 28 deep (about 85 message levels): past the importer's protobuf recursion limit.
    leaf = helper.make_graph([helper.make_node("Identity", ["c"], ["o"])], "leaf", [], [vi("o", TensorProto.BOOL, ())])
    inner = leaf
    for i in range(28):
        node = helper.make_node("If", ["c"], ["o"], then_branch=inner, else_branch=leaf, name=f"if{i}")
        inner = helper.make_graph([node], f"level{i}", [], [vi("o", TensorProto.BOOL, ())])
    save("proto_nested_too_deep", model(list(inner.node), [vi("c", TensorProto.BOOL, ())],
                                        [vi("o", TensorProto.BOOL, ())]))

    # --- opsets, ops and domains ----------------------------------------
    save("opset_too_new", model([helper.make_node("Relu", ["x"], ["y"], name="relu")], [vi("x")], [vi("y")], opset=99))
    save("opset_negative", model([helper.make_node("Relu", ["x"], ["y"], name="relu")], [vi("x")], [vi("y")], opset=-3))
    save("opset_default_missing", model([helper.make_node("Relu", ["x"], ["y"], name="relu")], [vi("x")], [vi("y")],
                                        opset=None, extra_opsets=[("com.example", 1)]))
    save("op_unknown", model([helper.make_node("FrobnicateTensor", ["x"], ["y"], name="frob")], [vi("x")], [vi("y")]))
    save("op_unknown_many", model([helper.make_node("Frob", ["x"], ["t"], name="frob1"),
                                   helper.make_node("Frob", ["t"], ["u"], name="frob2"),
                                   helper.make_node("Blorp", ["u"], ["y"], name="blorp")], [vi("x")], [vi("y")]))
    save("domain_not_imported", model([helper.make_node("Relu", ["x"], ["y"], name="relu", domain="com.example")],
                                      [vi("x")], [vi("y")]))
    save("domain_unknown_op", model([helper.make_node("Fancy", ["x"], ["y"], name="fancy", domain="com.example")],
                                    [vi("x")], [vi("y")], extra_opsets=[("com.example", 1)]))

    # --- dtypes -----------------------------------------------------------
    save("dtype_mixed_add", model([helper.make_node("Add", ["x", "n"], ["y"], name="add")],
                                  [vi("x"), vi("n", I64)], [vi("y", shape=None)]))
    save("dtype_string_input", model([helper.make_node("Identity", ["x"], ["y"], name="id")],
                                     [vi("x", TensorProto.STRING)], [vi("y", TensorProto.STRING)]))
    save("dtype_unknown_code", model([helper.make_node("Relu", ["x"], ["y"], name="relu")], [vi("x", 99)], [vi("y")]))
    save("dtype_float8_input", model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                                     [vi("x", TensorProto.FLOAT8E4M3FN)], [vi("y", shape=None)], opset=24))
    save("dtype_cast_to_int4", model([helper.make_node("Cast", ["x"], ["y"], name="cast", to=TensorProto.INT4)],
                                     [vi("x")], [vi("y", TensorProto.INT4)], opset=24))
    save("dtype_relu_bool", model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                                  [vi("x", TensorProto.BOOL)], [vi("y", TensorProto.BOOL)]))
    save("dtype_matmul_int_float", model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
                                         [vi("x"), vi("w", I32, (3, 2))], [vi("y", shape=None)]))

    # --- attributes of ops lowered at import ----------------------------
    save("attention_3d_no_heads", model([helper.make_node("Attention", ["q", "k", "v"], ["y"], name="attn")],
                                        [vi("q", shape=(1, 2, 8)), vi("k", shape=(1, 2, 8)), vi("v", shape=(1, 2, 8))],
                                        [vi("y", shape=None)], opset=23))

    # --- initializers -----------------------------------------------------
    save("init_missing", model([helper.make_node("Add", ["x", "bias"], ["y"], name="add_bias")], [vi("x")], [vi("y")]))
    save("init_raw_size_mismatch", add_with_init(raw_tensor("w", F, [2, 3], b"\0" * 20)))
    w = raw_tensor("w", F, [2, 3])
    w.ClearField("raw_data")
    w.float_data.extend([1.0, 2.0, 3.0])
    save("init_value_count_mismatch", add_with_init(w))
    save("init_negative_dim", add_with_init(raw_tensor("w", F, [2, -3])))
    save("init_huge_2pow40", add_with_init(raw_tensor("w", F, [1 << 20, 1 << 20])))
    save("init_dims_overflow", add_with_init(raw_tensor("w", F, [1 << 62, 1 << 62])))
    save("init_no_name", add_with_init(raw_tensor("", F, [2, 3], b"\0" * 24)))
    m = add_with_init(raw_tensor("w", F, [2, 3], b"\0" * 24))
    m.graph.initializer.append(raw_tensor("w", F, [2, 3], b"\0" * 24))
    save("init_defined_twice", m)
    save("init_bad_dtype", add_with_init(raw_tensor("w", 0, [2, 3], b"\0" * 24)))
    save("init_over_limit", add_with_init(numpy_helper.from_array(np.ones((64, 64), np.float32), "w"), (64, 64)))

    # --- graph structure --------------------------------------------------
    save("graph_cycle", model([helper.make_node("Relu", ["b"], ["a"], name="relu_a"),
                               helper.make_node("Relu", ["a"], ["b"], name="relu_b")], [vi("x")], [vi("b")]))
    save("graph_self_loop", model([helper.make_node("Add", ["x", "y"], ["y"], name="self")], [vi("x")], [vi("y")]))
    save("graph_dangling_output", model([helper.make_node("Relu", ["x"], ["y"], name="relu")], [vi("x")], [vi("z")]))
    save("graph_not_ssa", model([helper.make_node("Relu", ["x"], ["y"], name="relu1"),
                                 helper.make_node("Neg", ["x"], ["y"], name="neg2")], [vi("x")], [vi("y")]))
    save("graph_output_listed_twice", model([helper.make_node("Split", ["x"], ["a", "a"], name="split", axis=0)],
                                            [vi("x")], [vi("a", shape=None)]))
    save("graph_input_no_name", model([helper.make_node("Relu", ["x"], ["y"], name="relu")], [vi("x"), vi("")],
                                      [vi("y")]))
    save("graph_input_negative_dim", model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                                           [vi("x", shape=(2, -5))], [vi("y")]))
    save("graph_input_huge", model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                                   [vi("x", shape=(1 << 20, 1 << 20))], [vi("y", shape=None)]))
    seq = helper.make_tensor_sequence_value_info("x", F, [2])
    save("graph_input_sequence", model([helper.make_node("Identity", ["x"], ["y"], name="id")], [seq], [vi("y")]))
    save("graph_too_few_operands", model([helper.make_node("Add", ["x"], ["y"], name="add1")], [vi("x")], [vi("y")]))

    # --- shapes -----------------------------------------------------------
    save("shape_add_broadcast", model([helper.make_node("Add", ["x", "z"], ["y"], name="add")],
                                      [vi("x", shape=(2, 3)), vi("z", shape=(4, 5))], [vi("y", shape=None)]))
    save("shape_matmul", model([helper.make_node("MatMul", ["x", "z"], ["y"], name="mm")],
                               [vi("x", shape=(2, 3)), vi("z", shape=(4, 5))], [vi("y", shape=None)]))
    save("shape_reshape_count", model([helper.make_node("Reshape", ["x", "s"], ["y"], name="reshape")],
                                      [vi("x")], [vi("y", shape=None)],
                                      [numpy_helper.from_array(np.array([4, 4], np.int64), "s")]))
    save("shape_concat_rank", model([helper.make_node("Concat", ["x", "z"], ["y"], name="cat", axis=0)],
                                    [vi("x", shape=(2, 3)), vi("z", shape=(2, 3, 4))], [vi("y", shape=None)]))
    save("shape_conv_channels", model([helper.make_node("Conv", ["x", "w"], ["y"], name="conv")],
                                      [vi("x", shape=(1, 3, 8, 8))], [vi("y", shape=None)],
                                      [numpy_helper.from_array(np.ones((4, 5, 3, 3), np.float32), "w")]))
    save("shape_transpose_perm", model([helper.make_node("Transpose", ["x"], ["y"], name="tr", perm=[0, 0])],
                                       [vi("x")], [vi("y", shape=None)]))
    save("shape_softmax_axis", model([helper.make_node("Softmax", ["x"], ["y"], name="sm", axis=5)],
                                     [vi("x")], [vi("y")]))

    # --- attributes -------------------------------------------------------
    save("attr_wrong_type", model([helper.make_node("Transpose", ["x"], ["y"], name="tr", perm=1.5)],
                                  [vi("x")], [vi("y", shape=None)]))
    save("attr_missing_required", model([helper.make_node("Cast", ["x"], ["y"], name="cast")],
                                        [vi("x")], [vi("y", shape=None)]))
    node = helper.make_node("Relu", ["x"], ["y"], name="relu")
    a = node.attribute.add()
    a.name = "alpha"
    save("attr_undefined_type", model([node], [vi("x")], [vi("y")]))
    save("attr_constant_none", model([helper.make_node("Constant", [], ["y"], name="const")], [], [vi("y")]))
    save("attr_unknown", model([helper.make_node("Relu", ["x"], ["y"], name="relu", color="blue")], [vi("x")],
                               [vi("y")]))

    # --- external data ----------------------------------------------------
    save("external_dotdot", add_with_init(external("w", "../external_target.bin")))
    save("external_absolute", add_with_init(external("w", "/etc/passwd")))
    save("external_missing_file", add_with_init(external("w", "no_such_weights.bin")))
    save("external_too_short", add_with_init(external("w", "weights_8_bytes.bin")))
    save("external_bad_offset", add_with_init(external("w", "weights_8_bytes.bin", [("offset", "twelve")])))
    save("external_length_mismatch", add_with_init(external("w", "weights_8_bytes.bin", [("length", "7")])))
    save_bytes("weights_8_bytes.bin", b"\0" * 8)
    # A symlink inside the model folder that points out of it (committed as a
    # git symlink to tests/CMakeLists.txt).
    link_dir = os.path.join(HERE, "external_symlink")
    os.makedirs(link_dir, exist_ok=True)
    link = os.path.join(link_dir, "weights.bin")
    if os.path.lexists(link):
        os.remove(link)
    os.symlink("../../CMakeLists.txt", link)
    save("model", add_with_init(external("w", "weights.bin")), link_dir)

    # --- run time: inputs and kernels --------------------------------------
    save("run_relu", relu_model())
    save_bytes("input_f32_2x3.npy", npy_header("<f4", "(2, 3)") + np.ones((2, 3), "<f4").tobytes())
    save_bytes("input_f32_3x2.npy", npy_header("<f4", "(3, 2)") + np.ones((3, 2), "<f4").tobytes())
    save_bytes("input_f64_2x3.npy", npy_header("<f8", "(2, 3)") + np.ones((2, 3), "<f8").tobytes())
    save_bytes("input_fortran_2x3.npy", npy_header("<f4", "(2, 3)", fortran=True) + np.ones((2, 3), "<f4").tobytes())
    save_bytes("input_truncated.npy", npy_header("<f4", "(2, 3)") + b"\0" * 10)
    save_bytes("input_huge_header.npy", npy_header("<f4", "(1048576, 1048576)") + b"\0" * 16)
    save_bytes("input_bad_shape.npy", npy_header("<f4", "2") + b"\0" * 16)
    i32 = lambda n, v: numpy_helper.from_array(np.array(v, np.int32), n)  # noqa: E731
    save("run_int_div_zero", model([helper.make_node("Div", ["a", "b"], ["y"], name="div")], [vi("a", I32, (3,))],
                                   [vi("y", I32, (3,))], [i32("b", [1, 0, 2])]))
    save("run_int_mod_zero", model([helper.make_node("Mod", ["a", "b"], ["y"], name="mod")], [vi("a", I32, (3,))],
                                   [vi("y", I32, (3,))], [i32("b", [1, 0, 2])]))
    save("run_gather_out_of_range", model([helper.make_node("Gather", ["x", "i"], ["y"], name="gather", axis=0)],
                                          [vi("x")], [vi("y", shape=None)],
                                          [numpy_helper.from_array(np.array([0, 7], np.int64), "i")]))
    save("run_expand_huge", model([helper.make_node("Expand", ["x", "s"], ["y"], name="expand")],
                                  [vi("x", shape=(1, 1))], [vi("y", shape=None)],
                                  [numpy_helper.from_array(np.array([1 << 20, 1 << 20], np.int64), "s")]))
    save("run_constant_of_shape_huge", model(
        [helper.make_node("ConstantOfShape", ["s"], ["y"], name="fill")], [vi("s", I64, (2,))], [vi("y", shape=None)]))
    save_bytes("input_i64_huge_shape.npy", npy_header("<i8", "(2,)") + np.array([1 << 20, 1 << 20], "<i8").tobytes())
    save_bytes("input_i64_shape_1000.npy", npy_header("<i8", "(2,)") + np.array([1000, 1000], "<i8").tobytes())


if __name__ == "__main__":
    main()
