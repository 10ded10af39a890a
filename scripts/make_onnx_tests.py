#!/usr/bin/env python3
"""Writes the onnx wheel's backend tests in the ONNX backend-test layout.

Usage: make_onnx_tests.py OUT_DIR

  OUT_DIR/node/<test>/   every node test of onnx.backend.test.case.node.collect_testcases()
  OUT_DIR/light/<test>/  the model-zoo 'light' models of onnx/backend/test/data/light

Each test folder holds model.onnx and test_data_set_0/{input,output}_K.pb,
written as the wheel's own `onnx/backend/test/cmd_tools.py generate-data`
writes node tests (sequence, optional and map values through numpy_helper).
The light models get their input as the wheel's backend runner makes it
(`Runner.generate_dummy_data(x, seed=0, random=False)`: arange(n)/n as float32,
initializers skipped) and the expected output the wheel ships with them.

Deterministic: numpy's global generator is seeded before the cases are
collected (many cases draw random inputs from it), so two runs with the same
wheel write the same bytes. Called by scripts/make-onnx-tests.sh.
"""
from __future__ import annotations

import os
import shutil
import sys
import warnings

import numpy as np

import onnx
from onnx import TensorProto, numpy_helper


def write_value(path: str, value, type_proto: onnx.TypeProto, name: str) -> None:
    """One input or output file, as cmd_tools.generate_data writes it."""
    if type_proto.HasField("map_type"):
        proto = numpy_helper.from_dict(value, name)
    elif type_proto.HasField("sequence_type"):
        proto = numpy_helper.from_list(value, name)
    elif type_proto.HasField("optional_type"):
        proto = numpy_helper.from_optional(value, name)
    else:
        assert type_proto.HasField("tensor_type"), f"{path}: value of unknown kind"
        proto = value if isinstance(value, TensorProto) else numpy_helper.from_array(value, name)
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())


def write_node_tests(out: str) -> int:
    np.random.seed(0)
    from onnx.backend.test.case import node

    # Some cases overflow or divide by zero on purpose (casts to float8,
    # log(0)); numpy's warnings about it are noise here.
    warnings.simplefilter("ignore", RuntimeWarning)

    cases = node.collect_testcases()
    for case in cases:
        folder = os.path.join(out, case.name)
        os.makedirs(folder)
        with open(os.path.join(folder, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        graph = case.model.graph
        for i, (inputs, outputs) in enumerate(case.data_sets):
            data = os.path.join(folder, f"test_data_set_{i}")
            os.makedirs(data)
            for j, value in enumerate(inputs):
                write_value(os.path.join(data, f"input_{j}.pb"), value, graph.input[j].type, graph.input[j].name)
            for j, value in enumerate(outputs):
                write_value(os.path.join(data, f"output_{j}.pb"), value, graph.output[j].type, graph.output[j].name)
    return len(cases)


def dummy_input(x: onnx.ValueInfoProto) -> np.ndarray:
    """Runner.generate_dummy_data(x, seed=0, random=False) of onnx/backend/test/runner."""
    if x.type.tensor_type.elem_type != TensorProto.FLOAT:
        raise SystemExit(f"light model input '{x.name}' is not float: the wheel's runner cannot make it either")
    shape = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in x.type.tensor_type.shape.dim)
    n = np.prod(shape)
    return (np.arange(n).reshape(shape) / n).astype(np.float32)


def write_light_models(out: str) -> int:
    light = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
    names = sorted(f[len("light_"):-len(".onnx")] for f in os.listdir(light) if f.endswith(".onnx"))
    for name in names:
        model_path = os.path.join(light, f"light_{name}.onnx")
        folder = os.path.join(out, f"test_{name}")
        data = os.path.join(folder, "test_data_set_0")
        os.makedirs(data)
        shutil.copyfile(model_path, os.path.join(folder, "model.onnx"))
        model = onnx.load(model_path)
        initializers = {i.name for i in model.graph.initializer}
        inputs = [x for x in model.graph.input if x.name not in initializers]
        for k, x in enumerate(inputs):
            # The runner writes the array without a name; so do we.
            with open(os.path.join(data, f"input_{k}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(dummy_input(x)).SerializeToString())
        for k in range(len(model.graph.output)):
            expected = os.path.join(light, f"light_{name}_output_{k}.pb")
            if not os.path.exists(expected):
                raise SystemExit(f"{expected} is missing: the wheel ships no expected output for light_{name}")
            shutil.copyfile(expected, os.path.join(data, f"output_{k}.pb"))
    return len(names)


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    out = sys.argv[1]
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    nodes = write_node_tests(os.path.join(out, "node"))
    lights = write_light_models(os.path.join(out, "light"))
    print(f"make_onnx_tests: onnx {onnx.__version__}: {nodes} node tests, {lights} light models")


if __name__ == "__main__":
    main()
