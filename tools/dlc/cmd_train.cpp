// dlc train: trains an ONNX model on a CSV of numbers with dlc::Trainer and
// writes the trained model.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "dlc/csv_table.h"
#include "dlc/training.h"
#include "frontend/onnx/exporter.h"
#include "frontend/onnx/importer.h"
#include "support/error.h"
#include "tools/dlc/cli_args.h"
#include "tools/dlc/commands.h"

namespace dlc::tools {

static constexpr const char* kHelp = R"(usage: dlc train MODEL.onnx --data FILE.csv[.gz] [options]

Trains the model's float weights on the rows of a CSV file of numbers (one
example a line: the features, flattened to the model input's shape, and a
label column), printing the mean training loss per epoch and, on the rows
held out, the accuracy (cross-entropy, bce) or the loss (mse).

options:
  --data FILE         the CSV file (plain or gzip-compressed), required
  --label-column K    the label's column: 0-based, negative from the end, or
                      "last" (default last); the other columns are features
  --input NAME        the model input the features feed (default: the only one)
  --logits OUTPUT     the model output the loss reads (default: the only one)
  --loss L            cross-entropy (default: labels are class indices, the
                      output [batch, classes]), mse or bce (with logits; the
                      output one value per example, labels 0/1 for bce)
  --optimizer O       sgd (default), adam or adamw
  --lr X              learning rate (default 0.01)
  --momentum M        sgd momentum (default 0)
  --nesterov          sgd: Nesterov momentum
  --weight-decay W    weight decay (default 0; adamw 0.01)
  --batch B           examples per step (default: the input's first dim when
                      static, else 32; a symbolic first dim is bound to B)
  --epochs E          passes over the training rows (default 10)
  --holdout F         fraction of the rows held out, after a shuffle (default 0.2)
  --seed S            seed of the shuffles (default 0)
  --target T          cpu (default, LLVM-compiled), cuda (an NVIDIA GPU:
                      parameters and optimizer state stay on the device) or
                      ref (the interpreter)
  --threads N         cpu: worker threads (default 0: every core)
  -o, --output FILE   write the trained model (ONNX, opset 21)
)";

namespace {

enum class Loss { CrossEntropy, Mse, Bce };

Loss parseLoss(const std::string& s) {
  if (s == "cross-entropy") return Loss::CrossEntropy;
  if (s == "mse") return Loss::Mse;
  if (s == "bce") return Loss::Bce;
  throwUserError("--loss must be cross-entropy, mse or bce, got '{}'", s);
}

passes::OptimizerSpec parseOptimizer(const CliArgs& args) {
  std::string name = args.value("optimizer").value_or("sgd");
  double lr = args.number("lr", 0.01);
  if (!(lr > 0)) throwUserError("--lr must be positive, got {}", lr);
  if (name != "sgd" && (args.value("momentum") || args.flag("nesterov")))
    throwUserError("--momentum and --nesterov are for --optimizer sgd");
  passes::OptimizerSpec o;
  if (name == "sgd")
    o = passes::OptimizerSpec::sgd(lr, args.number("momentum", 0.0), args.flag("nesterov"),
                                   args.number("weight-decay", 0.0));
  else if (name == "adam")
    o = passes::OptimizerSpec::adam(lr, 0.9, 0.999, 1e-8, args.number("weight-decay", 0.0));
  else if (name == "adamw")
    o = passes::OptimizerSpec::adamW(lr, 0.9, 0.999, 1e-8, args.number("weight-decay", 1e-2));
  else
    throwUserError("--optimizer must be sgd, adam or adamw, got '{}'", name);
  return o;
}

// The value named by `--key`, or the graph's only one.
const ir::Value* pick(const std::vector<ir::Value*>& values, const std::optional<std::string>& name,
                      const char* what, const char* option) {
  std::vector<std::string> names;
  for (const ir::Value* v : values) names.push_back(v->name());
  if (name) {
    for (const ir::Value* v : values)
      if (v->name() == *name) return v;
    throwUserError("the model has no {} '{}' ({}s: {})", what, *name, what, fmt::join(names, ", "));
  }
  if (values.size() != 1)
    throwUserError("the model has {} {}s ({}); choose one with --{}", values.size(), what, fmt::join(names, ", "),
                   option);
  return values[0];
}

int64_t labelColumn(const CliArgs& args, int64_t columns) {
  std::string k = args.value("label-column").value_or("last");
  if (k == "last") return columns - 1;
  int64_t c = args.integer("label-column", 0);
  int64_t resolved = c < 0 ? c + columns : c;
  if (resolved < 0 || resolved >= columns)
    throwUserError("--label-column {} is outside the data's {} columns", c, columns);
  return resolved;
}

struct Data {
  CsvTable table;
  int64_t label = 0;  // column
  int64_t features = 0;
};

// Rows `order[first .. first + batch)` as the model input and labels.
NamedTensors makeBatch(const Data& d, const std::vector<int64_t>& order, size_t first, int64_t batch,
                       const ir::TensorType& inputType, const std::string& input, const ir::TensorType& labelType,
                       const std::string& labels) {
  Tensor x(inputType.dtype, inputType.shape->extents());
  Tensor y(labelType.dtype, labelType.shape->extents());
  for (int64_t i = 0; i < batch; ++i) {
    int64_t row = order[std::min(first + size_t(i), order.size() - 1)];  // a short last batch repeats its last row
    int64_t f = 0;
    for (int64_t c = 0; c < d.table.columns; ++c)
      if (c != d.label) x.setDouble(i * d.features + f++, d.table.at(row, c));
    y.setDouble(i, d.table.at(row, d.label));
  }
  return {{input, x}, {labels, y}};
}

}  // namespace

int cmdTrain(const std::vector<std::string>& argv) {
  std::vector<std::string> normalized = argv;
  for (std::string& a : normalized)
    if (a == "-o") a = "--output";
  CliArgs args(normalized,
               {"data", "label-column", "input", "logits", "loss", "optimizer", "lr", "momentum", "weight-decay",
                "batch", "epochs", "holdout", "seed", "target", "threads", "output"},
               {"help", "nesterov"});
  if (args.flag("help")) {
    fmt::print("{}", kHelp);
    return 0;
  }
  if (args.positional().size() != 1) throwUserError("expected one model file (see --help)");
  auto dataPath = args.value("data");
  if (!dataPath) throwUserError("--data FILE.csv is required (see --help)");
  Loss loss = parseLoss(args.value("loss").value_or("cross-entropy"));
  passes::OptimizerSpec optimizer = parseOptimizer(args);
  int64_t epochs = args.integer("epochs", 10);
  if (epochs < 1) throwUserError("--epochs must be at least 1, got {}", epochs);
  double holdout = args.number("holdout", 0.2);
  if (!(holdout >= 0 && holdout < 1)) throwUserError("--holdout must lie in [0, 1), got {}", holdout);
  std::string target = args.value("target").value_or("cpu");
  if (target != "cpu" && target != "cuda" && target != "ref")
    throwUserError("--target must be cpu, cuda or ref, got '{}'", target);
  int64_t threads = args.integer("threads", 0);
  if (threads < 0) throwUserError("--threads must not be negative, got {}", threads);

  // The model, with a symbolic first dim of the input bound to the batch.
  const std::string& modelPath = args.positional()[0];
  frontend::onnx::ImportedModel model = frontend::onnx::importOnnxFile(modelPath);
  std::string inputName = pick(model.graph.inputs(), args.value("input"), "input", "input")->name();
  std::string outputName = pick(model.graph.outputs(), args.value("logits"), "output", "logits")->name();
  const ir::TensorType* inType = &model.graph.findValue(inputName)->type();
  if (!inType->shape || inType->shape->rank() < 1)
    throwUserError("input '{}' has type {}; expected [batch, ...]", inputName, inType->str());
  ir::Dim first = (*inType->shape)[0];
  int64_t batch = args.integer("batch", first.isStatic() ? first.value() : 32);
  if (batch < 1) throwUserError("--batch must be at least 1, got {}", batch);
  if (first.isStatic() && first.value() != batch)
    throwUserError("input '{}' has the fixed batch {} ({}); --batch {} differs", inputName, first.value(),
                   inType->str(), batch);
  if (!first.isStatic()) {
    if (!first.isSymbolic()) throwUserError("input '{}' has an unknown first dim ({})", inputName, inType->str());
    frontend::onnx::ImportOptions o;
    o.dimBindings[first.symbolName()] = batch;
    model = frontend::onnx::importOnnxFile(modelPath, o);
    inType = &model.graph.findValue(inputName)->type();
  }
  if (!inType->isStatic())
    throwUserError("input '{}' has type {}; only its first dim may be symbolic", inputName, inType->str());
  if (!ir::isFloat(inType->dtype)) throwUserError("input '{}' is {}, not a float tensor", inputName, inType->str());
  const ir::TensorType outType = model.graph.findValue(outputName)->type();
  if (!outType.isStatic() || outType.shape->rank() < 1 || outType.shape->extents()[0] != batch)
    throwUserError("output '{}' has type {}; expected [{}, ...]", outputName, outType.str(), batch);
  if (loss != Loss::CrossEntropy && outType.shape->numElements() != std::optional<int64_t>(batch))
    throwUserError("--loss {} needs one value per example in output '{}', found {}", args.value("loss").value(),
                   outputName, outType.str());
  if (loss == Loss::CrossEntropy && outType.shape->rank() != 2)
    throwUserError("--loss cross-entropy needs output '{}' of shape [batch, classes], found {}", outputName,
                   outType.str());

  // The data: features in the input's layout, one label column.
  Data d{readCsv(*dataPath)};
  d.label = labelColumn(args, d.table.columns);
  d.features = d.table.columns - 1;
  int64_t perExample = *inType->shape->numElements() / batch;
  if (d.features != perExample)
    throwUserError("'{}' has {} feature columns (and a label), but input '{}' ({}) takes {} values per example",
                   *dataPath, d.features, inputName, inType->str(), perExample);
  int64_t classes = loss == Loss::CrossEntropy ? outType.shape->extents()[1] : 0;
  for (int64_t r = 0; r < d.table.rows; ++r) {
    double v = d.table.at(r, d.label);
    if (loss == Loss::CrossEntropy && (v != std::floor(v) || v < 0 || v >= double(classes)))
      throwUserError("'{}': row {}: label {} is not a class index in [0, {})", *dataPath, r + 1, v, classes);
    if (loss == Loss::Bce && v != 0 && v != 1)
      throwUserError("'{}': row {}: label {} is not 0 or 1 (--loss bce)", *dataPath, r + 1, v);
  }

  std::mt19937 rng(uint32_t(args.integer("seed", 0)));
  std::vector<int64_t> rows(size_t(d.table.rows));
  std::iota(rows.begin(), rows.end(), 0);
  std::shuffle(rows.begin(), rows.end(), rng);
  auto held = size_t(std::llround(holdout * double(rows.size())));
  std::vector<int64_t> trainRows(rows.begin(), rows.end() - int64_t(held)), heldRows(rows.end() - int64_t(held), rows.end());
  if (int64_t(trainRows.size()) < batch)
    throwUserError("{} training rows (after holding out {}) are fewer than one batch of {}", trainRows.size(), held,
                   batch);

  TrainerOptions o;
  std::string labels = "labels";
  while (model.graph.findValue(labels)) labels += "_";
  o.loss = loss == Loss::CrossEntropy ? LossSpec::crossEntropy(outputName, labels)
           : loss == Loss::Mse        ? LossSpec::meanSquaredError(outputName, labels)
                                      : LossSpec::binaryCrossEntropyWithLogits(outputName, labels);
  o.optimizer = optimizer;
  o.target = target;
  o.threads = int(threads);
  ir::TensorType inputType = *inType;
  ir::TensorType labelType = loss == Loss::CrossEntropy ? ir::TensorType(ir::DType::I64, ir::Shape{batch}) : outType;
  Trainer trainer(std::move(model.graph), o);
  if (args.value("output")) {  // before training: a model the exporter cannot write fails now
    try {
      frontend::onnx::exportOnnxBytes(trainer.forwardGraph());
    } catch (const UserError& e) {
      throwUserError("the trained model could not be written (-o): {}", e.what());
    }
  }
  fmt::print("{}: {} parameter tensors, {} training rows, {} held out, batch {}\n", modelPath,
             trainer.parameterNames().size(), trainRows.size(), heldRows.size(), batch);

  for (int64_t epoch = 1; epoch <= epochs; ++epoch) {
    std::shuffle(trainRows.begin(), trainRows.end(), rng);
    double sum = 0;
    int64_t steps = 0;
    for (size_t firstRow = 0; firstRow + size_t(batch) <= trainRows.size(); firstRow += size_t(batch), ++steps)
      sum += trainer.step(makeBatch(d, trainRows, firstRow, batch, inputType, inputName, labelType, labels));
    fmt::print("epoch {:3}  loss {:.4f}\n", epoch, sum / double(steps));
    std::fflush(stdout);
  }

  if (!heldRows.empty()) {
    int64_t correct = 0;
    double squared = 0;
    for (size_t firstRow = 0; firstRow < heldRows.size(); firstRow += size_t(batch)) {
      NamedTensors b = makeBatch(d, heldRows, firstRow, batch, inputType, inputName, labelType, labels);
      Tensor out = trainer.predict({{inputName, b.at(inputName)}})[0];
      int64_t n = std::min<int64_t>(batch, int64_t(heldRows.size() - firstRow));
      for (int64_t i = 0; i < n; ++i) {
        double label = b.at(labels).getDouble(i);
        if (loss == Loss::CrossEntropy) {
          int64_t best = 0;
          for (int64_t c = 1; c < classes; ++c)
            if (out.getDouble(i * classes + c) > out.getDouble(i * classes + best)) best = c;
          correct += double(best) == label;
        } else if (loss == Loss::Bce) {
          correct += (out.getDouble(i) > 0) == (label > 0.5);
        } else {
          squared += (out.getDouble(i) - label) * (out.getDouble(i) - label);
        }
      }
    }
    if (loss == Loss::Mse)
      fmt::print("held-out mse {:.6f} ({} rows)\n", squared / double(heldRows.size()), heldRows.size());
    else
      fmt::print("held-out accuracy {:.2f}% ({}/{})\n", 100.0 * double(correct) / double(heldRows.size()), correct,
                 heldRows.size());
  }
  if (auto out = args.value("output")) {
    trainer.exportOnnx(*out);
    fmt::print("wrote {}\n", *out);
  }
  return 0;
}

}  // namespace dlc::tools
