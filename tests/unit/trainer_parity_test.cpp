// PyTorch parity of dlc::Trainer: from the same initial weights and batches,
// the loss of each of the first 20 SGD-momentum and Adam steps of a small MLP
// and a small CNN matches PyTorch within 1e-4 relative. The reference losses
// are committed (data/trainer_torch_parity.txt, written by
// trainer_torch_parity.py, which defines the same weights and batches).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "dlc/training.h"
#include "ir/builder.h"

namespace dlc {
namespace {

using ir::DType;
using ir::OpKind;
using ir::Value;

constexpr int kSteps = 20;

// As `wave` in trainer_torch_parity.py: computed in double, stored as f32.
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

Value* linear(ir::GraphBuilder& b, Value* x, const std::string& name, Tensor w, Tensor bias) {
  ir::Attributes a;
  a.set("transB", int64_t(1));
  return b.op(OpKind::Gemm, {x, b.constant(name + ".w", std::move(w)), b.constant(name + ".b", std::move(bias))}, a);
}

struct Model {
  ir::Graph graph;
  std::function<NamedTensors(int)> batch;
};

Model mlp() {
  ir::GraphBuilder b("mlp");
  Value* x = b.input("x", ir::TensorType(DType::F32, ir::Shape{8, 6}));
  Value* h = b.op(OpKind::Relu, {linear(b, x, "fc1", wave({5, 6}, 0.4, 0.9, 0.1), wave({5}, 0.1, 1.3, 0.2))});
  b.output(linear(b, h, "fc2", wave({3, 5}, 0.4, 1.7, 0.3), wave({3}, 0.1, 0.5, 0.4)));
  return {b.finish(), [](int step) {
            return NamedTensors{{"x", wave({8, 6}, 1.0, 0.37, 0.1 * step)}, {"labels", labels(8, 3, step)}};
          }};
}

Model cnn() {
  ir::GraphBuilder b("cnn");
  Value* x = b.input("x", ir::TensorType(DType::F32, ir::Shape{4, 1, 6, 6}));
  ir::Attributes conv;
  conv.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Value* c = b.op(OpKind::Conv, {x, b.constant("conv.w", wave({3, 1, 3, 3}, 0.4, 1.3, 0.1)),
                                 b.constant("conv.b", wave({3}, 0.1, 0.7, 0.2))}, conv);
  ir::Attributes pool;
  pool.set("kernel_shape", std::vector<int64_t>{2, 2});
  pool.set("strides", std::vector<int64_t>{2, 2});
  Value* f = b.op(OpKind::Flatten, {b.op(OpKind::MaxPool, {b.op(OpKind::Relu, {c})}, pool)});
  b.output(linear(b, f, "fc", wave({4, 27}, 0.2, 0.7, 0.3), wave({4}, 0.1, 0.9, 0.4)));
  return {b.finish(), [](int step) {
            return NamedTensors{{"x", wave({4, 1, 6, 6}, 1.0, 0.41, 0.1 * step)}, {"labels", labels(4, 4, step)}};
          }};
}

// "model optimizer" -> the 20 reference losses.
std::map<std::string, std::vector<double>> readReference() {
  std::ifstream f(DLC_TRAINER_PARITY_FILE);
  std::map<std::string, std::vector<double>> ref;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    std::string model, opt;
    ss >> model >> opt;
    double v;
    while (ss >> v) ref[model + " " + opt].push_back(v);
  }
  return ref;
}

struct Case {
  std::string model, optimizer, target;
};

class TrainerParity : public ::testing::TestWithParam<Case> {};

TEST_P(TrainerParity, LossesMatchPyTorch) {
  const Case& c = GetParam();
  std::vector<double> expected = readReference()[c.model + " " + c.optimizer];
  ASSERT_EQ(expected.size(), size_t(kSteps)) << "no reference for " << c.model << " " << c.optimizer
                                             << " in " << DLC_TRAINER_PARITY_FILE;
  Model m = c.model == "mlp" ? mlp() : cnn();
  TrainerOptions o;
  o.loss = LossSpec::crossEntropy(m.graph.outputs()[0]->name(), "labels");
  o.optimizer = c.optimizer == "adam" ? passes::OptimizerSpec::adam(0.01) : passes::OptimizerSpec::sgd(0.1, 0.9);
  o.target = c.target;
  o.threads = 2;
  Trainer t(std::move(m.graph), o);
  for (int step = 1; step <= kSteps; ++step) {
    double loss = t.step(m.batch(step));
    EXPECT_NEAR(loss, expected[size_t(step - 1)], 1e-4 * std::abs(expected[size_t(step - 1)])) << "step " << step;
  }
}

INSTANTIATE_TEST_SUITE_P(All, TrainerParity,
                         ::testing::Values(Case{"mlp", "sgd_momentum", "cpu"}, Case{"mlp", "adam", "cpu"},
                                           Case{"cnn", "sgd_momentum", "cpu"}, Case{"cnn", "adam", "cpu"},
                                           Case{"mlp", "adam", "ref"}, Case{"cnn", "sgd_momentum", "ref"}),
                         [](const auto& info) {
                           return info.param.model + "_" + info.param.optimizer + "_" + info.param.target;
                         });

}  // namespace
}  // namespace dlc
