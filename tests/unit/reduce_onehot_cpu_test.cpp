// Reductions over any set of axes and OneHot on the CPU backend, compiled as
// JIT kernels and compared with the reference interpreter: random shapes,
// every Reduce* kind, keepdims on and off, NaN inputs for Max/Min, a fused
// epilogue, and OneHot over index dtypes, axes and out-of-range indices.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "codegen/cpu/cpu_model.h"
#include "ir/builder.h"
#include "ir/graph_clone.h"
#include "ir/interpreter.h"
#include "ir/tensor_compare.h"

using namespace dlc;
using codegen::cpu::CpuModel;
using codegen::cpu::CpuOptions;
using ir::DType;
using ir::OpKind;
using ir::Value;

namespace {

ir::Tensor randomTensor(DType t, const std::vector<int64_t>& shape, std::mt19937& rng, double lo = -2, double hi = 2) {
  ir::Tensor x(t, shape);
  std::uniform_real_distribution<double> dist(lo, hi);
  for (int64_t i = 0; i < x.numel(); ++i) x.setDouble(i, ir::isFloat(t) ? dist(rng) : std::floor(dist(rng)));
  return x;
}

ir::Tensor ints(DType t, const std::vector<int64_t>& values) {
  ir::Tensor x(t, {int64_t(values.size())});
  for (size_t i = 0; i < values.size(); ++i) x.setInt(int64_t(i), values[i]);
  return x;
}

int count(const std::string& s, const std::string& needle) {
  int n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

// Runs `g` on the CPU and the interpreter with `inputs`; returns describe().
std::string expectMatches(const ir::Graph& g, const ir::NamedTensors& inputs, double tol = 1e-5) {
  std::vector<ir::Tensor> expected = ir::interpret(g, inputs);
  CpuModel model(ir::cloneGraph(g), CpuOptions{"host", 2});
  std::vector<ir::Tensor> actual = model.run(inputs);
  EXPECT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size() && i < actual.size(); ++i) {
    auto diff = ir::compareTensors(actual[i], expected[i], ir::Tolerance{tol, tol});
    EXPECT_FALSE(diff.has_value()) << "output " << i << ": " << diff.value_or("") << "\n" << model.describe();
  }
  return model.describe();
}

const OpKind kReductions[] = {OpKind::ReduceSum,       OpKind::ReduceMean, OpKind::ReduceMax, OpKind::ReduceMin,
                              OpKind::ReduceProd,      OpKind::ReduceL1,   OpKind::ReduceL2,
                              OpKind::ReduceSumSquare};

// One reduction of a random [d0,d1,d2,d3] input over `axes`.
ir::Graph reduceGraph(OpKind op, DType t, const std::vector<int64_t>& shape, const std::vector<int64_t>& axes,
                      int64_t keepdims) {
  ir::GraphBuilder b("g");
  Value* x = b.input("x", ir::TensorType(t, ir::Shape::fromExtents(shape)));
  ir::Attributes a;
  a.set("keepdims", keepdims);
  b.output(b.op(op, {x, b.constant("axes", ints(DType::I64, axes))}, a));
  return b.finish();
}

}  // namespace

TEST(ReduceAnyAxesCpu, EveryKindOverNonContiguousAxesMatchesTheInterpreter) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int64_t> dim(1, 5);
  const std::vector<std::vector<int64_t>> axesSets = {{0, 2, 3}, {0, 2}, {1, 3}, {0, 3}, {-1, -3}, {0, 1, 2, 3}};
  for (OpKind op : kReductions)
    for (const auto& axes : axesSets)
      for (int64_t keep : {0, 1}) {
        std::vector<int64_t> shape{dim(rng), dim(rng), dim(rng), dim(rng)};
        ir::Graph g = reduceGraph(op, DType::F32, shape, axes, keep);
        SCOPED_TRACE(g.nodes()[0]->describe());
        std::string d = expectMatches(g, {{"x", randomTensor(DType::F32, shape, rng)}});
        EXPECT_EQ(count(d, "reference kernel"), 0) << d;
      }
}

TEST(ReduceAnyAxesCpu, F64AndTheConvBiasGradientShape) {
  std::mt19937 rng(3);
  std::vector<int64_t> shape{8, 16, 7, 9};
  for (DType t : {DType::F32, DType::F64}) {
    ir::Graph g = reduceGraph(OpKind::ReduceSum, t, shape, {0, 2, 3}, 0);
    std::string d = expectMatches(g, {{"x", randomTensor(t, shape, rng)}}, 1e-4);
    EXPECT_EQ(count(d, "reference kernel"), 0) << d;
  }
}

// Max/Min propagate NaN (one NaN in a reduced group makes its result NaN).
TEST(ReduceAnyAxesCpu, MaxAndMinPropagateNaN) {
  std::mt19937 rng(5);
  std::vector<int64_t> shape{3, 4, 2, 5};
  for (OpKind op : {OpKind::ReduceMax, OpKind::ReduceMin}) {
    ir::Graph g = reduceGraph(op, DType::F32, shape, {0, 2}, 1);
    ir::Tensor x = randomTensor(DType::F32, shape, rng);
    for (int64_t i : {0, 17, 59, 100}) x.setDouble(i, std::numeric_limits<double>::quiet_NaN());
    std::string d = expectMatches(g, {{"x", x}});
    EXPECT_EQ(count(d, "reference kernel"), 0) << d;
  }
}

// Integer reductions are not compiled (as over contiguous axes): they still
// give the interpreter's result through the reference kernel.
TEST(ReduceAnyAxesCpu, I64ReductionsFallBackToTheReferenceKernel) {
  std::mt19937 rng(9);
  std::vector<int64_t> shape{3, 2, 4};
  ir::Graph g = reduceGraph(OpKind::ReduceSum, DType::I64, shape, {0, 2}, 0);
  std::string d = expectMatches(g, {{"x", randomTensor(DType::I64, shape, rng, -50, 50)}}, 0);
  EXPECT_EQ(count(d, "reference kernel"), 1) << d;
}

// A reduction over non-adjacent axes followed by elementwise ops (the fusion
// pass makes a "reduce" kernel with an epilogue).
TEST(ReduceAnyAxesCpu, WithAnElementwiseEpilogue) {
  std::mt19937 rng(11);
  std::vector<int64_t> shape{2, 3, 4, 5};
  ir::GraphBuilder b("g");
  Value* x = b.input("x", ir::TensorType(DType::F32, ir::Shape::fromExtents(shape)));
  Value* s = b.input("s", ir::TensorType(DType::F32, ir::Shape{3, 1}));
  ir::Attributes a;
  a.set("keepdims", int64_t(0));
  Value* r = b.op(OpKind::ReduceMean, {x, b.constant("axes", ints(DType::I64, {0, 3}))}, a);
  b.output(b.op(OpKind::Relu, {b.op(OpKind::Mul, {r, s})}));
  ir::Graph g = b.finish();
  std::string d = expectMatches(g, {{"x", randomTensor(DType::F32, shape, rng)}, {"s", randomTensor(DType::F32, {3, 1}, rng)}});
  EXPECT_EQ(count(d, "reference kernel"), 0) << d;
}

TEST(OneHotCpu, IndexTypesAxesAndOutOfRangeIndicesMatchTheInterpreter) {
  std::mt19937 rng(13);
  const int64_t depth = 5;
  for (DType it : {DType::I64, DType::I32, DType::I8, DType::U8})
    for (int64_t axis : {-1, 0, 1, -2})
      for (DType vt : {DType::F32, DType::I64}) {
        std::vector<int64_t> is{3, 4};
        ir::GraphBuilder b("g");
        Value* ind = b.input("i", ir::TensorType(it, ir::Shape::fromExtents(is)));
        ir::Tensor values(vt, {2});
        values.setDouble(0, -1);
        values.setDouble(1, 3);
        ir::Attributes a;
        a.set("axis", axis);
        Value* depthValue = axis == 0 ? b.constant("depth", ir::Tensor::scalar(float(depth)))
                                      : b.constant("depth", ints(DType::I64, {depth}));
        b.output(b.op(OpKind::OneHot, {ind, depthValue, b.constant("values", values)}, a));
        ir::Graph g = b.finish();
        SCOPED_TRACE(g.nodes()[0]->describe());
        // Indices in [-depth - 2, depth + 2): negative, in range and beyond.
        double lo = ir::isSigned(it) ? -double(depth) - 2 : 0;
        std::string d = expectMatches(g, {{"i", randomTensor(it, is, rng, lo, double(depth) + 2)}}, 0);
        EXPECT_EQ(count(d, "reference kernel"), 0) << d;
      }
}
