// Trains an MLP (64-128-10) and a small CNN (1x8x8 -> conv 3x3 -> relu ->
// maxpool -> gemm) on the 8x8 handwritten digits that Debian's
// python3-sklearn ships (1797 images), with the dlc C++ training API on the
// CPU. Prints the loss per epoch and the accuracy on a held-out split;
// exits 1 if either model stays below 95%.
//
//   train_digits [digits.csv.gz] [--epochs N] [--export-dir DIR]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "dlc/csv_table.h"
#include "dlc/training.h"
#include "ir/builder.h"

namespace {

using dlc::Tensor;
using dlc::ir::DType;
using dlc::ir::OpKind;
using dlc::ir::Value;

constexpr const char* kDefaultDigits = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";
constexpr int64_t kBatch = 40;  // 1400 of the 1437 training images per epoch, 360 held out = 9 batches

struct Dataset {
  std::vector<float> pixels;  // [n, 64], scaled to [0, 1]
  std::vector<int64_t> labels;
  size_t size() const { return labels.size(); }
};

// digits.csv.gz: one image a line, 64 pixel values (0..16) then the label.
Dataset readDigits(const std::string& path) {
  dlc::CsvTable t = dlc::readCsv(path);
  if (t.columns != 65) dlc::throwUserError("'{}': {} columns, expected 65", path, t.columns);
  if (t.rows != 1797) dlc::throwUserError("'{}': {} images, expected 1797", path, t.rows);
  Dataset d;
  for (int64_t r = 0; r < t.rows; ++r) {
    for (int64_t c = 0; c < 64; ++c) d.pixels.push_back(float(t.at(r, c) / 16.0));
    d.labels.push_back(int64_t(t.at(r, 64)));
  }
  return d;
}

Tensor randomUniform(std::vector<int64_t> shape, int64_t fanIn, std::mt19937& rng) {
  // PyTorch's default for Linear/Conv weights: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  float bound = 1.0f / std::sqrt(float(fanIn));
  std::uniform_real_distribution<float> u(-bound, bound);
  Tensor t(DType::F32, std::move(shape));
  for (float& v : t.data<float>()) v = u(rng);
  return t;
}

Value* gemm(dlc::ir::GraphBuilder& b, Value* x, const std::string& name, int64_t in, int64_t out,
            std::mt19937& rng) {
  dlc::ir::Attributes a;
  a.set("transB", int64_t(1));
  return b.op(OpKind::Gemm, {x, b.constant(name + ".w", randomUniform({out, in}, in, rng)),
                             b.constant(name + ".b", randomUniform({out}, in, rng))}, a, name);
}

dlc::ir::Graph mlp(std::mt19937& rng) {
  dlc::ir::GraphBuilder b("digits_mlp");
  Value* x = b.input("x", dlc::ir::TensorType(DType::F32, dlc::ir::Shape{kBatch, 64}));
  Value* h = b.op(OpKind::Relu, {gemm(b, x, "fc1", 64, 128, rng)});
  b.output(gemm(b, h, "fc2", 128, 10, rng));
  return b.finish();
}

dlc::ir::Graph cnn(std::mt19937& rng) {
  dlc::ir::GraphBuilder b("digits_cnn");
  Value* x = b.input("x", dlc::ir::TensorType(DType::F32, dlc::ir::Shape{kBatch, 1, 8, 8}));
  dlc::ir::Attributes conv;
  conv.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Value* c = b.op(OpKind::Conv, {x, b.constant("conv.w", randomUniform({16, 1, 3, 3}, 9, rng)),
                                 b.constant("conv.b", randomUniform({16}, 9, rng))}, conv, "conv");
  dlc::ir::Attributes pool;
  pool.set("kernel_shape", std::vector<int64_t>{2, 2});
  pool.set("strides", std::vector<int64_t>{2, 2});
  Value* p = b.op(OpKind::MaxPool, {b.op(OpKind::Relu, {c})}, pool, "pool");
  Value* f = b.op(OpKind::Flatten, {p});
  b.output(gemm(b, f, "fc", 16 * 4 * 4, 10, rng));
  return b.finish();
}

// The images `order[first..first+kBatch)` as the model's input and labels.
dlc::NamedTensors makeBatch(const Dataset& d, const std::vector<size_t>& order, size_t first,
                            const std::vector<int64_t>& inputShape) {
  Tensor x(DType::F32, inputShape), y(DType::I64, {kBatch});
  auto xs = x.data<float>();
  auto ys = y.data<int64_t>();
  for (int64_t i = 0; i < kBatch; ++i) {
    size_t img = order[first + size_t(i)];
    std::copy_n(d.pixels.begin() + int64_t(img) * 64, 64, xs.begin() + i * 64);
    ys[size_t(i)] = d.labels[img];
  }
  return {{"x", x}, {"labels", y}};
}

double train(const char* title, dlc::ir::Graph model, dlc::passes::OptimizerSpec opt, const Dataset& d,
             const std::vector<size_t>& trainSet, const std::vector<size_t>& heldOut, int epochs,
             std::mt19937& rng, const std::string& exportPath) {
  std::vector<int64_t> inputShape = model.inputs()[0]->type().shape->extents();
  std::string logits = model.outputs()[0]->name();
  dlc::TrainerOptions o;
  o.loss = dlc::LossSpec::crossEntropy(logits, "labels");
  o.optimizer = opt;
  o.target = "cpu";
  dlc::Trainer trainer(std::move(model), o);
  std::printf("%s: %zu parameter tensors, batch %lld\n", title, trainer.parameterNames().size(),
              (long long)kBatch);
  auto start = std::chrono::steady_clock::now();
  std::vector<size_t> order = trainSet;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    double sum = 0;
    int n = 0;
    for (size_t first = 0; first + kBatch <= order.size(); first += kBatch, ++n)
      sum += trainer.step(makeBatch(d, order, first, inputShape));
    std::printf("  epoch %2d  loss %.4f\n", epoch, sum / n);
  }
  int correct = 0;
  for (size_t first = 0; first < heldOut.size(); first += kBatch) {
    dlc::NamedTensors batch = makeBatch(d, heldOut, first, inputShape);
    Tensor out = trainer.predict({{"x", batch.at("x")}})[0];
    for (int64_t i = 0; i < kBatch; ++i) {
      int64_t best = 0;
      for (int64_t c = 1; c < 10; ++c)
        if (out.getDouble(i * 10 + c) > out.getDouble(i * 10 + best)) best = c;
      correct += best == batch.at("labels").getInt(i);
    }
  }
  double accuracy = double(correct) / double(heldOut.size());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("  held-out accuracy %.2f%% (%d/%zu), %.2f s\n", 100 * accuracy, correct, heldOut.size(), seconds);
  if (!exportPath.empty()) {
    trainer.exportOnnx(exportPath);
    std::printf("  wrote %s\n", exportPath.c_str());
  }
  return accuracy;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path = kDefaultDigits, exportDir;
  int epochs = 15;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--epochs" && i + 1 < argc) epochs = std::atoi(argv[++i]);
    else if (a == "--export-dir" && i + 1 < argc) exportDir = argv[++i];
    else if (a == "--help" || a == "-h") {
      std::printf("usage: train_digits [digits.csv.gz] [--epochs N] [--export-dir DIR]\n");
      return 0;
    } else path = a;
  }
  try {
    Dataset d = readDigits(path);
    // A fixed shuffle: 1437 images to train on, 360 held out.
    std::mt19937 rng(20261123);
    std::vector<size_t> all(d.size());
    std::iota(all.begin(), all.end(), 0);
    std::shuffle(all.begin(), all.end(), rng);
    std::vector<size_t> trainSet(all.begin(), all.begin() + 1437), heldOut(all.begin() + 1437, all.end());
    std::string dir = exportDir.empty() ? "" : exportDir + "/";
    double mlpAcc = train("MLP 64-128-10, Adam lr 1e-2", mlp(rng), dlc::passes::OptimizerSpec::adam(1e-2), d,
                          trainSet, heldOut, epochs, rng, dir.empty() ? "" : dir + "digits_mlp.onnx");
    double cnnAcc = train("CNN conv3x3(16)-relu-maxpool-gemm, SGD momentum 0.9 lr 0.05", cnn(rng),
                          dlc::passes::OptimizerSpec::sgd(0.05, 0.9), d, trainSet, heldOut, epochs, rng,
                          dir.empty() ? "" : dir + "digits_cnn.onnx");
    if (mlpAcc < 0.95 || cnnAcc < 0.95) {
      std::fprintf(stderr, "train_digits: accuracy below 95%%\n");
      return 1;
    }
    return 0;
  } catch (const dlc::UserError& e) {
    std::fprintf(stderr, "train_digits: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_digits: internal error: %s\n", e.what());
    return 2;
  }
}
