"""Calls a model compiled with `dlc compile --emit shared` from Python with
ctypes (no numpy needed).

    dlc compile tests/models/bert_tiny/model.onnx --target cpu -o out --name bert --emit shared --embed-weights
    python3 examples/aot/ctypes_example.py out/libbert.so bert

It lists the model's inputs and outputs through libdlcrt's C API (exported
by the .so), feeds zeros (or token id 1) as inputs, runs the model through
the typed entry point NAME_run_arrays and prints the first output values.
"""
import ctypes
import sys

DTYPES = {1: ctypes.c_float, 2: ctypes.c_double, 7: ctypes.c_int32, 8: ctypes.c_int64, 9: ctypes.c_uint8}


class TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int32), ("rank", ctypes.c_int32),
                ("shape", ctypes.c_int64 * 8), ("num_elements", ctypes.c_int64), ("num_bytes", ctypes.c_int64)]


def main(library, name, weights=None):
    lib = ctypes.CDLL(library)
    fn = lambda suffix: getattr(lib, f"{name}_{suffix}")
    fn("last_error").restype = ctypes.c_char_p
    model = ctypes.c_void_p()
    status = fn("create")(weights.encode() if weights else None, 0, ctypes.byref(model))
    if status != 0:
        sys.exit(f"create failed ({status}): {fn('last_error')().decode()}")

    def tensors(count, describe):
        result = []
        for i in range(count(model)):
            info = TensorInfo()
            describe(model, ctypes.c_size_t(i), ctypes.byref(info))
            result.append(info)
        return result

    lib.dlcrt_model_num_inputs.restype = ctypes.c_size_t
    lib.dlcrt_model_num_outputs.restype = ctypes.c_size_t
    inputs = tensors(lib.dlcrt_model_num_inputs, lib.dlcrt_model_input)
    outputs = tensors(lib.dlcrt_model_num_outputs, lib.dlcrt_model_output)
    buffers_in, buffers_out = [], []
    for info in inputs:
        buf = (DTYPES[info.dtype] * info.num_elements)(*([1] * info.num_elements))
        buffers_in.append(buf)
        print(f"input  {info.name.decode()}: dtype {info.dtype}, shape {list(info.shape[:info.rank])}")
    for info in outputs:
        buffers_out.append((DTYPES[info.dtype] * info.num_elements)())
    in_array = (ctypes.c_void_p * len(inputs))(*[ctypes.cast(b, ctypes.c_void_p) for b in buffers_in])
    out_array = (ctypes.c_void_p * len(outputs))(*[ctypes.cast(b, ctypes.c_void_p) for b in buffers_out])
    status = fn("run_arrays")(model, in_array, out_array)
    if status != 0:
        sys.exit(f"run failed ({status}): {fn('last_error')().decode()}")
    for info, buf in zip(outputs, buffers_out):
        first = ", ".join(f"{v:.5g}" for v in list(buf)[:4])
        print(f"output {info.name.decode()}: shape {list(info.shape[:info.rank])}, first values [{first}]")
    fn("destroy")(model)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: ctypes_example.py LIBNAME.so NAME [WEIGHTS]")
    main(*sys.argv[1:4])
