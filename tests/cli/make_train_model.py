"""Writes tests/cli/data/digits_mlp.onnx, the untrained MLP (64-32-10, ReLU,
symbolic batch N) that tests/cli/train_test.sh trains with `dlc train` on
the sklearn digits. Weights: PyTorch's Linear default, U(+-1/sqrt(fan_in)),
seed 0. Usage: python make_train_model.py [OUT]"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def linear(rng, name, fan_in, fan_out):
    bound = 1.0 / np.sqrt(fan_in)
    w = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
    b = rng.uniform(-bound, bound, (fan_out,)).astype(np.float32)
    return [numpy_helper.from_array(w, name + ".weight"), numpy_helper.from_array(b, name + ".bias")]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "data/digits_mlp.onnx"
    rng = np.random.default_rng(0)
    inits = linear(rng, "fc1", 64, 32) + linear(rng, "fc2", 32, 10)
    nodes = [
        helper.make_node("Gemm", ["x", "fc1.weight", "fc1.bias"], ["h"], name="fc1", transB=1),
        helper.make_node("Relu", ["h"], ["hr"], name="relu"),
        helper.make_node("Gemm", ["hr", "fc2.weight", "fc2.bias"], ["logits"], name="fc2", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "digits_mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 64])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_train_model.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, out)


if __name__ == "__main__":
    main()
