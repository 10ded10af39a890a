// Step time of CNN training on the CPU (dlc::Trainer, SGD with momentum):
// the small CNN of tests/unit/trainer_parity_test.cpp (4x1x6x6) and a
// ResNet-style CNN at batch 8 (3x32x32 -> conv 32 -> two basic blocks with
// a stride-2 downsampling -> global average pool -> fc 10, cross-entropy).
// Prints per model the median and minimum step time over the timed steps and
// how many steps of the compiled program are library calls.
//
//   conv_train_bench [--steps N] [--threads T]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dlc/training.h"
#include "ir/builder.h"

namespace {

using dlc::Tensor;
using dlc::ir::DType;
using dlc::ir::OpKind;
using dlc::ir::Value;

Tensor wave(std::vector<int64_t> shape, double scale, double freq, double phase) {
  Tensor t(DType::F32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.setDouble(i, float(scale * std::sin(freq * double(i) + phase)));
  return t;
}

Tensor labels(int64_t n, int64_t classes, int step) {
  Tensor t(DType::I64, {n});
  for (int64_t i = 0; i < n; ++i) t.setInt(i, (7 * i + 3 * step) % classes);
  return t;
}

Value* conv(dlc::ir::GraphBuilder& b, Value* x, const std::string& name, int64_t in, int64_t out, int64_t stride,
            int64_t k, double phase) {
  dlc::ir::Attributes a;
  int64_t p = k / 2;
  a.set("pads", std::vector<int64_t>{p, p, p, p});
  a.set("strides", std::vector<int64_t>{stride, stride});
  double scale = std::sqrt(2.0 / double(in * k * k));
  return b.op(OpKind::Conv, {x, b.constant(name + ".w", wave({out, in, k, k}, scale, 1.3, phase)),
                             b.constant(name + ".b", wave({out}, 0.01, 0.7, phase))},
              a);
}

Value* linear(dlc::ir::GraphBuilder& b, Value* x, const std::string& name, int64_t in, int64_t out) {
  dlc::ir::Attributes a;
  a.set("transB", int64_t(1));
  return b.op(OpKind::Gemm, {x, b.constant(name + ".w", wave({out, in}, 0.2, 0.7, 0.3)),
                             b.constant(name + ".b", wave({out}, 0.1, 0.9, 0.4))},
              a);
}

struct Model {
  std::string name;
  dlc::ir::Graph graph;
  std::vector<int64_t> input;
  int64_t classes;
};

Model parityCnn() {
  dlc::ir::GraphBuilder b("cnn");
  Value* x = b.input("x", dlc::ir::TensorType(DType::F32, dlc::ir::Shape{4, 1, 6, 6}));
  dlc::ir::Attributes pool;
  pool.set("kernel_shape", std::vector<int64_t>{2, 2});
  pool.set("strides", std::vector<int64_t>{2, 2});
  Value* c = conv(b, x, "conv", 1, 3, 1, 3, 0.1);
  Value* f = b.op(OpKind::Flatten, {b.op(OpKind::MaxPool, {b.op(OpKind::Relu, {c})}, pool)});
  b.output(linear(b, f, "fc", 27, 4));
  return {"parity CNN 4x1x6x6", b.finish(), {4, 1, 6, 6}, 4};
}

Model resnetStyle() {
  dlc::ir::GraphBuilder b("resnet_style");
  Value* x = b.input("x", dlc::ir::TensorType(DType::F32, dlc::ir::Shape{8, 3, 32, 32}));
  auto relu = [&](Value* v) { return b.op(OpKind::Relu, {v}); };
  Value* h = relu(conv(b, x, "stem", 3, 32, 1, 3, 0.1));
  // Basic block, 32 channels.
  Value* r = relu(conv(b, h, "b1c1", 32, 32, 1, 3, 0.2));
  h = relu(b.op(OpKind::Add, {conv(b, r, "b1c2", 32, 32, 1, 3, 0.3), h}));
  // Downsampling block to 64 channels at 16x16 (1x1 stride-2 shortcut).
  r = relu(conv(b, h, "b2c1", 32, 64, 2, 3, 0.4));
  Value* shortcut = conv(b, h, "b2sc", 32, 64, 2, 1, 0.5);
  h = relu(b.op(OpKind::Add, {conv(b, r, "b2c2", 64, 64, 1, 3, 0.6), shortcut}));
  Value* f = b.op(OpKind::Flatten, {b.op(OpKind::GlobalAveragePool, {h})});
  b.output(linear(b, f, "fc", 64, 10));
  return {"ResNet-style CNN 8x3x32x32", b.finish(), {8, 3, 32, 32}, 10};
}

int countLibraryCalls(const std::string& describe) {
  int n = 0;
  for (size_t at = describe.find("library call"); at != std::string::npos; at = describe.find("library call", at + 1))
    ++n;
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  int steps = 20, threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--steps") == 0) steps = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--threads") == 0) threads = std::atoi(argv[i + 1]);
  }
  std::vector<Model> models;
  models.push_back(parityCnn());
  models.push_back(resnetStyle());
  for (Model& m : models) {
    dlc::TrainerOptions o;
    o.loss = dlc::LossSpec::crossEntropy(m.graph.outputs()[0]->name(), "labels");
    o.optimizer = dlc::passes::OptimizerSpec::sgd(0.01, 0.9);
    o.threads = threads;
    std::string name = m.name;
    std::vector<int64_t> shape = m.input;
    int64_t classes = m.classes;
    dlc::Trainer t(std::move(m.graph), o);
    int library = countLibraryCalls(t.describe());
    std::vector<double> ms;
    float loss = 0;
    for (int s = 0; s < steps + 2; ++s) {
      dlc::NamedTensors batch{{"x", wave(shape, 1.0, 0.41, 0.1 * s)}, {"labels", labels(shape[0], classes, s)}};
      auto start = std::chrono::steady_clock::now();
      loss = t.step(batch);
      double elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      if (s >= 2) ms.push_back(elapsed);  // the first steps warm up
    }
    std::sort(ms.begin(), ms.end());
    std::printf("%-28s step median %9.3f ms  min %9.3f ms  (%d steps, %d library calls, last loss %.4f)\n",
                name.c_str(), ms[ms.size() / 2], ms.front(), steps, library, double(loss));
  }
  return 0;
}
