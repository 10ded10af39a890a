// ONNX opsets 22-24: the ops new in them (Attention, RotaryEmbedding,
// RMSNormalization, Swish, TensorScatter), the changed ones (Cast's
// round_mode, QuantizeLinear's precision, DequantizeLinear's output_dtype),
// LpNormalization and CenterCropPad (older ops dlc lacked, lowered at import
// too), and the errors for what dlc refuses. Each lowering is
// checked against a direct loop implementation of the spec written here, on
// the cases the onnx wheel's node tests do not cover.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <limits>
#include <optional>

#include "frontend/onnx/exporter.h"
#include "frontend/onnx/importer.h"
#include "ir/interpreter.h"
#include "ir/printer.h"
#include "ir/tensor_compare.h"
#include "passes/pass.h"
#include "support/error.h"

using namespace dlc;

namespace {

// A one-node model: inputs become graph inputs (or "" for an omitted
// optional input), outputs graph outputs.
class NodeModel {
 public:
  NodeModel(const std::string& opType, int opset) {
    model_.set_ir_version(10);
    model_.add_opset_import()->set_version(opset);
    model_.mutable_graph()->set_name(opType);
    auto* node = model_.mutable_graph()->add_node();
    node->set_op_type(opType);
    node->set_name(opType + "_node");
  }
  NodeModel& input(const std::string& name, int elemType, const std::vector<int64_t>& dims) {
    node()->add_input(name);
    auto* in = model_.mutable_graph()->add_input();
    in->set_name(name);
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elemType);
    auto* shape = tt->mutable_shape();  // present even for a scalar
    for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
    return *this;
  }
  NodeModel& omitInput() {
    node()->add_input("");
    return *this;
  }
  NodeModel& output(const std::string& name) {
    node()->add_output(name);
    if (!name.empty()) model_.mutable_graph()->add_output()->set_name(name);
    return *this;
  }
  NodeModel& attr(const std::string& name, int64_t v) {
    auto* a = addAttr(name, onnx::AttributeProto::INT);
    a->set_i(v);
    return *this;
  }
  NodeModel& attr(const std::string& name, double v) {
    auto* a = addAttr(name, onnx::AttributeProto::FLOAT);
    a->set_f(float(v));
    return *this;
  }
  NodeModel& attr(const std::string& name, const std::string& v) {
    auto* a = addAttr(name, onnx::AttributeProto::STRING);
    a->set_s(v);
    return *this;
  }
  ir::Graph import() const { return frontend::onnx::importOnnxBytes(model_.SerializeAsString(), "").graph; }

 private:
  onnx::AttributeProto* addAttr(const std::string& name, onnx::AttributeProto::AttributeType type) {
    auto* a = node()->add_attribute();
    a->set_name(name);
    a->set_type(type);
    return a;
  }
  onnx::NodeProto* node() { return model_.mutable_graph()->mutable_node(0); }
  onnx::ModelProto model_;
};

constexpr int kFloat = onnx::TensorProto::FLOAT;
constexpr int kFloat16 = onnx::TensorProto::FLOAT16;
constexpr int kBool = onnx::TensorProto::BOOL;
constexpr int kInt64 = onnx::TensorProto::INT64;
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// Deterministic values in [-1, 1).
ir::Tensor values(std::vector<int64_t> shape, int seed, ir::DType dtype = ir::DType::F32) {
  ir::Tensor t(dtype, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.setDouble(i, double((i * 37 + seed * 11) % 23) / 11.5 - 1.0);
  return t;
}

// Flat index into a row-major shape.
int64_t at(const std::vector<int64_t>& shape, std::initializer_list<int64_t> index) {
  int64_t flat = 0, d = 0;
  for (int64_t i : index) flat = flat * shape[size_t(d++)] + i;
  return flat;
}

void expectClose(const ir::Tensor& got, const ir::Tensor& want, double rtol = 1e-5, double atol = 1e-6) {
  if (auto diff = ir::compareTensors(got, want, ir::Tolerance{rtol, atol})) ADD_FAILURE() << *diff;
}

std::string errorOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}
bool isUnsupported(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const UnsupportedError&) {
    return true;
  } catch (const UserError&) {
    return false;
  }
  return false;
}

}  // namespace

// ---- Changed ops: Cast-24, QuantizeLinear-23, DequantizeLinear-23

TEST(OnnxImportChangedOps, CastRoundModeIsCheckedAndMeansNothingForDlcTypes) {
  NodeModel up("Cast", 24);
  up.input("x", kFloat, {2}).output("y").attr("to", int64_t(kFloat16)).attr("round_mode", std::string("up"));
  EXPECT_EQ(up.import().outputs()[0]->type().str(), "f16[2]");
  NodeModel bad("Cast", 24);
  bad.input("x", kFloat, {2}).output("y").attr("to", int64_t(kFloat16)).attr("round_mode", std::string("sideways"));
  EXPECT_NE(errorOf([&] { bad.import(); }).find("round_mode must be 'up', 'down' or 'nearest', found 'sideways'"),
            std::string::npos);
  NodeModel tooEarly("Cast", 23);
  tooEarly.input("x", kFloat, {2}).output("y").attr("to", int64_t(kFloat16)).attr("round_mode", std::string("up"));
  EXPECT_NE(errorOf([&] { tooEarly.import(); }).find("round_mode is an attribute of Cast from opset 24 on"), std::string::npos);
}

TEST(OnnxImportChangedOps, QuantizeLinearDividesInThePrecisionAsked) {
  // 27 / 0.10095 is 267.45 in float but 267.5 in half, which rounds to 268.
  ir::Tensor x(ir::DType::F16, {1}), scale(ir::DType::F16, {}), zero(ir::DType::I16, {});
  x.setDouble(0, 27.0);
  scale.setDouble(0, 0.1009521484375);
  for (int64_t precision : {int64_t(0), int64_t(kFloat)}) {
    NodeModel m("QuantizeLinear", 23);
    m.input("x", kFloat16, {1}).input("s", kFloat16, {}).input("zp", onnx::TensorProto::INT16, {}).output("y");
    if (precision) m.attr("precision", precision);
    auto outs = ir::interpret(m.import(), {{"x", x}, {"s", scale}, {"zp", zero}});
    EXPECT_EQ(outs[0].getDouble(0), precision ? 267.0 : 268.0) << "precision " << precision;
  }
  // Opset 23 lets x and y_scale differ: the division is in y_scale's type.
  NodeModel mixed("QuantizeLinear", 23);
  mixed.input("x", kFloat, {1}).input("s", kFloat16, {}).input("zp", onnx::TensorProto::INT16, {}).output("y");
  ir::Tensor x32 = ir::Tensor::fromVector<float>({1}, {27.0f});
  EXPECT_EQ(ir::interpret(mixed.import(), {{"x", x32}, {"s", scale}, {"zp", zero}})[0].getDouble(0), 268.0);
  NodeModel float8("QuantizeLinear", 23);
  float8.input("x", kFloat, {1}).input("s", kFloat, {}).output("y").attr("output_dtype", int64_t(17));
  std::string err = errorOf([&] { float8.import(); });
  EXPECT_NE(err.find("FLOAT8E4M3FN"), std::string::npos) << err;
  EXPECT_TRUE(isUnsupported([&] { float8.import(); }));
}

TEST(OnnxImportChangedOps, DequantizeLinearOutputDtype) {
  NodeModel m("DequantizeLinear", 23);
  m.input("x", onnx::TensorProto::UINT8, {3}).input("s", kFloat, {}).input("zp", onnx::TensorProto::UINT8, {});
  m.output("y").attr("output_dtype", int64_t(kFloat16));
  ir::Graph g = m.import();
  EXPECT_EQ(g.outputs()[0]->type().str(), "f16[3]");
  ir::Tensor x = ir::Tensor::fromVector<uint8_t>({3}, {0, 128, 255});
  auto outs = ir::interpret(g, {{"x", x}, {"s", ir::Tensor::scalar<float>(0.1f)}, {"zp", ir::Tensor::scalar<uint8_t>(128)}});
  EXPECT_NEAR(outs[0].getDouble(0), -12.8, 1e-2);
  EXPECT_EQ(outs[0].getDouble(1), 0.0);
  EXPECT_NEAR(outs[0].getDouble(2), 12.7, 1e-2);
  // Written at opset 21 as Casts around the opset-21 op.
  std::string bytes = frontend::onnx::exportOnnxBytes(g);
  ir::Graph again = frontend::onnx::importOnnxBytes(bytes, "").graph;
  EXPECT_EQ(again.outputs()[0]->type().str(), "f16[3]");
}

// ---- Element types dlc lacks, and opsets past 24

TEST(OnnxImportTypes, Float8And4BitTypesAreRefusedByName) {
  for (auto [code, name] : {std::pair{17, "FLOAT8E4M3FN"}, {21, "UINT4"}, {23, "FLOAT4E2M1"}, {24, "FLOAT8E8M0"}, {26, "INT2"}}) {
    NodeModel m("Identity", 24);
    m.input("x", code, {2}).output("y");
    std::string err = errorOf([&] { m.import(); });
    EXPECT_NE(err.find(fmt::format("graph input 'x': tensor element type {} ({}) is not supported", name, code)),
              std::string::npos)
        << err;
    EXPECT_TRUE(isUnsupported([&] { m.import(); }));
    NodeModel cast("Cast", 24);
    cast.input("x", kFloat, {2}).output("y").attr("to", int64_t(code));
    EXPECT_TRUE(isUnsupported([&] { cast.import(); })) << name;
  }
}

TEST(OnnxImportTypes, Opset25IsRefused) {
  NodeModel m("Relu", 25);
  m.input("x", kFloat, {2}).output("y");
  EXPECT_NE(errorOf([&] { m.import(); }).find("the model uses opset 25; dlc supports opsets up to 24"), std::string::npos);
}

// ---- Attention

namespace {

// Attention, straight from the spec: 4-D Q (b, hq, sq, d), K and V
// (b, hkv, skv, d / dv), the past concatenated in front of K and V.
struct AttentionCase {
  ir::Tensor q, k, v;
  std::optional<ir::Tensor> pastK, pastV;
  std::optional<ir::Tensor> mask;      // bool or f32, (sq, maskLen) with maskLen <= total keys
  std::optional<ir::Tensor> nonpad;    // i64 (b,)
  bool causal = false;
  double scale = 0;                    // 0: 1/sqrt(d)
  double softcap = 0;
};

struct AttentionResult {
  ir::Tensor y, qk0, qk1, qk2, qk3;  // Y and qk_matmul_output in modes 0..3
};

AttentionResult naiveAttention(const AttentionCase& c) {
  auto dims = [](const ir::Tensor& t) { return t.shape(); };
  auto qs = dims(c.q), ks = dims(c.k), vs = dims(c.v);
  int64_t b = qs[0], hq = qs[1], sq = qs[2], d = qs[3], hkv = ks[1], dv = vs[3];
  int64_t past = c.pastK ? c.pastK->dim(2) : 0, skv = past + ks[2];
  auto key = [&](int64_t bi, int64_t h, int64_t j, int64_t x) {
    if (j < past) return c.pastK->getDouble(at(c.pastK->shape(), {bi, h, j, x}));
    return c.k.getDouble(at(ks, {bi, h, j - past, x}));
  };
  auto value = [&](int64_t bi, int64_t h, int64_t j, int64_t x) {
    if (j < past) return c.pastV->getDouble(at(c.pastV->shape(), {bi, h, j, x}));
    return c.v.getDouble(at(vs, {bi, h, j - past, x}));
  };
  double scale = c.scale ? c.scale : 1 / std::sqrt(double(d));
  AttentionResult r{ir::Tensor(ir::DType::F32, {b, hq, sq, dv}), ir::Tensor(ir::DType::F32, {b, hq, sq, skv}),
                    ir::Tensor(ir::DType::F32, {b, hq, sq, skv}), ir::Tensor(ir::DType::F32, {b, hq, sq, skv}),
                    ir::Tensor(ir::DType::F32, {b, hq, sq, skv})};
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t h = 0; h < hq; ++h)
      for (int64_t i = 0; i < sq; ++i) {
        std::vector<double> scores(static_cast<size_t>(skv), 0.0), bias(static_cast<size_t>(skv), 0.0);
        for (int64_t j = 0; j < skv; ++j) {
          double dot = 0;
          for (int64_t x = 0; x < d; ++x) dot += c.q.getDouble(at(qs, {bi, h, i, x})) * key(bi, h / (hq / hkv), j, x);
          dot *= scale;
          r.qk0.setDouble(at(r.qk0.shape(), {bi, h, i, j}), dot);
          if (c.softcap > 0) dot = c.softcap * std::tanh(dot / c.softcap);
          r.qk1.setDouble(at(r.qk1.shape(), {bi, h, i, j}), dot);
          if (c.mask) {
            int64_t len = c.mask->dim(1);
            if (j >= len) bias[size_t(j)] = kNegInf;
            else if (c.mask->dtype() == ir::DType::Bool) bias[size_t(j)] = c.mask->getDouble(i * len + j) ? 0 : kNegInf;
            else bias[size_t(j)] = c.mask->getDouble(i * len + j);
          }
          int64_t offset = c.nonpad && !c.pastK ? int64_t(c.nonpad->getDouble(bi)) - sq : past;
          if (c.causal && j > i + offset) bias[size_t(j)] += kNegInf;
          if (c.nonpad && j >= c.nonpad->getDouble(bi)) bias[size_t(j)] += kNegInf;
          scores[size_t(j)] = dot + bias[size_t(j)];
          r.qk2.setDouble(at(r.qk2.shape(), {bi, h, i, j}), scores[size_t(j)]);
        }
        bool allMasked = true;
        double top = kNegInf;
        for (int64_t j = 0; j < skv; ++j) {
          allMasked = allMasked && bias[size_t(j)] == kNegInf;
          top = std::max(top, scores[size_t(j)]);
        }
        double sum = 0;
        for (double& s : scores) sum += (s = allMasked ? 0.0 : std::exp(s - top));
        for (int64_t j = 0; j < skv; ++j) {
          double p = allMasked ? 0.0 : scores[size_t(j)] / sum;
          scores[size_t(j)] = p;
          r.qk3.setDouble(at(r.qk3.shape(), {bi, h, i, j}), p);
        }
        for (int64_t x = 0; x < dv; ++x) {
          double acc = 0;
          for (int64_t j = 0; j < skv; ++j) acc += scores[size_t(j)] * value(bi, h / (hq / hkv), j, x);
          r.y.setDouble(at(r.y.shape(), {bi, h, i, x}), acc);
        }
      }
  return r;
}

// (b, h, s, d) -> (b, s, h * d), the 3-D layout.
ir::Tensor mergeHeads(const ir::Tensor& t) {
  auto s = t.shape();
  ir::Tensor out(t.dtype(), {s[0], s[2], s[1] * s[3]});
  for (int64_t b = 0; b < s[0]; ++b)
    for (int64_t h = 0; h < s[1]; ++h)
      for (int64_t i = 0; i < s[2]; ++i)
        for (int64_t x = 0; x < s[3]; ++x)
          out.setDouble(at(out.shape(), {b, i, h * s[3] + x}), t.getDouble(at(s, {b, h, i, x})));
  return out;
}

ir::Tensor boolMask(int64_t rows, int64_t cols, const std::vector<int>& bits) {
  ir::Tensor m(ir::DType::Bool, {rows, cols});
  for (int64_t i = 0; i < m.numel(); ++i) m.setDouble(i, bits[size_t(i)]);
  return m;
}

}  // namespace

TEST(OnnxImportAttention, GqaWithCausalPastAndPresentMatchesTheSpec) {
  AttentionCase c{values({2, 4, 3, 4}, 1), values({2, 2, 3, 4}, 2), values({2, 2, 3, 5}, 3)};
  c.pastK = values({2, 2, 2, 4}, 4);
  c.pastV = values({2, 2, 2, 5}, 5);
  c.causal = true;
  c.scale = 0.3;
  NodeModel m("Attention", 23);
  m.input("Q", kFloat, {2, 4, 3, 4}).input("K", kFloat, {2, 2, 3, 4}).input("V", kFloat, {2, 2, 3, 5}).omitInput();
  m.input("past_key", kFloat, {2, 2, 2, 4}).input("past_value", kFloat, {2, 2, 2, 5});
  m.output("Y").output("present_key").output("present_value").attr("is_causal", int64_t(1)).attr("scale", 0.3);
  ir::Graph g = m.import();
  auto outs = ir::interpret(g, {{"Q", c.q}, {"K", c.k}, {"V", c.v}, {"past_key", *c.pastK}, {"past_value", *c.pastV}});
  AttentionResult want = naiveAttention(c);
  expectClose(outs[0], want.y);
  EXPECT_EQ(outs[1].shape(), (std::vector<int64_t>{2, 2, 5, 4}));
  EXPECT_EQ(outs[1].getDouble(at(outs[1].shape(), {1, 1, 1, 3})), c.pastK->getDouble(at({2, 2, 2, 4}, {1, 1, 1, 3})));
  EXPECT_EQ(outs[2].getDouble(at(outs[2].shape(), {1, 1, 4, 2})), c.v.getDouble(at({2, 2, 3, 5}, {1, 1, 2, 2})));
}

TEST(OnnxImportAttention, ThreeDWithShortBoolMaskAndSoftcapMatchesTheSpec) {
  // 2 query heads over 1 KV head; the mask covers 3 of the 4 keys, the 4th
  // is masked as padding.
  AttentionCase c{values({1, 2, 2, 4}, 6), values({1, 1, 4, 4}, 7), values({1, 1, 4, 3}, 8)};
  c.mask = boolMask(2, 3, {1, 0, 1, 1, 1, 0});
  c.softcap = 0.7;
  NodeModel m("Attention", 23);
  m.input("Q", kFloat, {1, 2, 8}).input("K", kFloat, {1, 4, 4}).input("V", kFloat, {1, 4, 3}).input("mask", kBool, {2, 3});
  m.output("Y").attr("q_num_heads", int64_t(2)).attr("kv_num_heads", int64_t(1)).attr("softcap", 0.7);
  auto outs = ir::interpret(m.import(), {{"Q", mergeHeads(c.q)}, {"K", mergeHeads(c.k)}, {"V", mergeHeads(c.v)}, {"mask", *c.mask}});
  expectClose(outs[0], mergeHeads(naiveAttention(c).y));
}

TEST(OnnxImportAttention, QkMatmulOutputModes) {
  AttentionCase c{values({1, 1, 2, 3}, 9), values({1, 1, 3, 3}, 10), values({1, 1, 3, 2}, 11)};
  c.mask = values({2, 3}, 12);
  c.softcap = 0.5;
  AttentionResult want = naiveAttention(c);
  const ir::Tensor* expected[] = {&want.qk0, &want.qk1, &want.qk2, &want.qk3};
  for (int64_t mode = 0; mode < 4; ++mode) {
    NodeModel m("Attention", 23);
    m.input("Q", kFloat, {1, 1, 2, 3}).input("K", kFloat, {1, 1, 3, 3}).input("V", kFloat, {1, 1, 3, 2});
    m.input("mask", kFloat, {2, 3}).output("Y").output("").output("").output("qk");
    m.attr("softcap", 0.5).attr("qk_matmul_output_mode", mode);
    auto outs = ir::interpret(m.import(), {{"Q", c.q}, {"K", c.k}, {"V", c.v}, {"mask", *c.mask}});
    expectClose(outs[0], want.y);
    // Mode 0 is the raw product, as the spec and the op's function body
    // say (onnx's reference returns it softcapped).
    SCOPED_TRACE(mode);
    expectClose(outs[1], *expected[mode]);
  }
}

TEST(OnnxImportAttention, FullyMaskedRowsGiveZeroRows) {
  // Row 1 of the mask admits no key: its output and probabilities are 0.
  AttentionCase c{values({1, 1, 2, 4}, 13), values({1, 1, 3, 4}, 14), values({1, 1, 3, 4}, 15)};
  c.mask = boolMask(2, 3, {1, 1, 0, 0, 0, 0});
  for (int64_t mode : {0, 3}) {
    NodeModel m("Attention", 23);
    m.input("Q", kFloat, {1, 1, 2, 4}).input("K", kFloat, {1, 1, 3, 4}).input("V", kFloat, {1, 1, 3, 4});
    m.input("mask", kBool, {2, 3}).output("Y").output("").output("").output("qk").attr("qk_matmul_output_mode", mode);
    auto outs = ir::interpret(m.import(), {{"Q", c.q}, {"K", c.k}, {"V", c.v}, {"mask", *c.mask}});
    AttentionResult want = naiveAttention(c);
    expectClose(outs[0], want.y);
    for (int64_t x = 0; x < 4; ++x) EXPECT_EQ(outs[0].getDouble(4 + x), 0.0);
    if (mode == 3) expectClose(outs[1], want.qk3);
  }
}

TEST(OnnxImportAttention, NonpadKvSeqlenWithCausalIsBottomRightPerBatch) {
  // Batch 0 holds 4 valid keys of 5 (offset 4 - 2 = 2), batch 1 one key
  // (offset -1: query row 0 attends nothing and is 0).
  AttentionCase c{values({2, 1, 2, 3}, 16), values({2, 1, 5, 3}, 17), values({2, 1, 5, 3}, 18)};
  c.nonpad = ir::Tensor::fromVector<int64_t>({2}, {4, 1});
  c.causal = true;
  NodeModel m("Attention", 24);
  m.input("Q", kFloat, {2, 1, 2, 3}).input("K", kFloat, {2, 1, 5, 3}).input("V", kFloat, {2, 1, 5, 3});
  m.omitInput().omitInput().omitInput().input("nonpad", kInt64, {2}).output("Y").attr("is_causal", int64_t(1));
  auto outs = ir::interpret(m.import(), {{"Q", c.q}, {"K", c.k}, {"V", c.v}, {"nonpad", *c.nonpad}});
  expectClose(outs[0], naiveAttention(c).y);
  for (int64_t x = 0; x < 3; ++x) EXPECT_EQ(outs[0].getDouble(6 + x), 0.0);
}

TEST(OnnxImportAttention, SoftmaxPrecisionKeepsTheOutputType) {
  NodeModel m("Attention", 23);
  m.input("Q", kFloat16, {1, 2, 3, 4}).input("K", kFloat16, {1, 2, 3, 4}).input("V", kFloat16, {1, 2, 3, 4});
  m.output("Y").output("").output("").output("qk").attr("softmax_precision", int64_t(kFloat)).attr("qk_matmul_output_mode", int64_t(3));
  ir::Graph g = m.import();
  EXPECT_EQ(g.outputs()[0]->type().str(), "f16[1,2,3,4]");
  EXPECT_EQ(g.outputs()[1]->type().str(), "f16[1,2,3,3]");
  AttentionCase c{values({1, 2, 3, 4}, 19), values({1, 2, 3, 4}, 20), values({1, 2, 3, 4}, 21)};
  auto half = [](const ir::Tensor& t) {
    ir::Tensor h(ir::DType::F16, t.shape());
    for (int64_t i = 0; i < t.numel(); ++i) h.setDouble(i, t.getDouble(i));
    return h;
  };
  auto outs = ir::interpret(g, {{"Q", half(c.q)}, {"K", half(c.k)}, {"V", half(c.v)}});
  expectClose(outs[0], half(naiveAttention(c).y), 3e-3, 1e-3);
}

// The lowering keeps the pattern fusion turns into one attention kernel:
// MatMul -> scale and mask -> Softmax -> MatMul.
TEST(OnnxImportAttention, CausalAttentionFusesIntoOneAttentionKernel) {
  NodeModel m("Attention", 23);
  m.input("Q", kFloat, {1, 2, 4, 8}).input("K", kFloat, {1, 2, 4, 8}).input("V", kFloat, {1, 2, 4, 8});
  m.output("Y").attr("is_causal", int64_t(1));
  ir::Graph g = m.import();
  passes::defaultPipeline({.fuseAttention = true}).run(g);
  int attentionKernels = 0;
  for (const ir::Node* n : g.nodes())
    if (n->op() == ir::OpKind::Fused && n->attrString("kind") == "attention") ++attentionKernels;
  EXPECT_EQ(attentionKernels, 1) << ir::printGraph(g);
}

// Exported at opset 21 (as compositions) and imported again: same results.
TEST(OnnxImportAttention, ExportsAtOpset21AndImportsBack) {
  NodeModel m("Attention", 23);
  m.input("Q", kFloat, {1, 4, 6}).input("K", kFloat, {1, 3, 3}).input("V", kFloat, {1, 3, 3}).input("mask", kBool, {4, 3});
  m.output("Y").attr("q_num_heads", int64_t(2)).attr("kv_num_heads", int64_t(1)).attr("is_causal", int64_t(1));
  ir::Graph g = m.import();
  std::string bytes = frontend::onnx::exportOnnxBytes(g);
  onnx::ModelProto exported;
  ASSERT_TRUE(exported.ParseFromString(bytes));
  EXPECT_EQ(exported.opset_import(0).version(), 21);
  ir::Graph again = frontend::onnx::importOnnxBytes(bytes, "").graph;
  ir::NamedTensors in{{"Q", values({1, 4, 6}, 22)}, {"K", values({1, 3, 3}, 23)}, {"V", values({1, 3, 3}, 24)},
                      {"mask", boolMask(4, 3, {1, 1, 0, 0, 1, 1, 1, 0, 1, 0, 0, 0})}};
  expectClose(ir::interpret(again, in)[0], ir::interpret(g, in)[0], 0, 0);
}

TEST(OnnxImportAttention, RefusesMalformedOrUnsupportedUses) {
  auto base = [](int opset) {
    NodeModel m("Attention", opset);
    m.input("Q", kFloat, {1, 2, 3, 4}).input("K", kFloat, {1, 2, 3, 4}).input("V", kFloat, {1, 2, 3, 4});
    return m;
  };
  {
    NodeModel m = base(24);
    m.omitInput().input("pk", kFloat, {1, 2, 1, 4}).input("pv", kFloat, {1, 2, 1, 4}).input("n", kInt64, {1}).output("Y");
    EXPECT_NE(errorOf([&] { m.import(); }).find("nonpad_kv_seqlen cannot be combined with past_key"), std::string::npos);
  }
  {
    NodeModel m = base(23);
    m.omitInput().input("pk", kFloat, {1, 2, 1, 4}).output("Y");
    EXPECT_NE(errorOf([&] { m.import(); }).find("past_key and past_value must be given together"), std::string::npos);
  }
  {
    NodeModel m = base(23);
    m.input("mask", onnx::TensorProto::INT32, {3, 3}).output("Y");
    EXPECT_TRUE(isUnsupported([&] { m.import(); }));
  }
  {
    NodeModel m = base(23);
    m.output("Y").attr("left_window_size", int64_t(2));  // an opset-25 attribute
    std::string err = errorOf([&] { m.import(); });
    EXPECT_NE(err.find("node 'Attention_node' (Attention, opset 23): Attention-23 has no attribute 'left_window_size'"),
              std::string::npos)
        << err;
  }
  {
    NodeModel m("Attention", 23);
    m.input("Q", kFloat, {1, 3, 8}).input("K", kFloat, {1, 3, 8}).input("V", kFloat, {1, 3, 8}).output("Y");
    EXPECT_NE(errorOf([&] { m.import(); }).find("need positive attributes q_num_heads and kv_num_heads"), std::string::npos);
  }
  {
    NodeModel m("Attention", 23);
    m.input("Q", kFloat, {1, 4, 6}).input("K", kFloat, {1, 3, 6}).input("V", kFloat, {1, 3, 6}).output("Y");
    m.attr("q_num_heads", int64_t(2)).attr("kv_num_heads", int64_t(1));
    EXPECT_NE(errorOf([&] { m.import(); }).find("Q's head size 3 differs from K's 6"), std::string::npos);
  }
  {
    NodeModel m("Attention", 23);
    m.input("Q", kFloat, {1, 3, 2, 4}).input("K", kFloat, {1, 2, 2, 4}).input("V", kFloat, {1, 2, 2, 4}).output("Y");
    EXPECT_NE(errorOf([&] { m.import(); }).find("q_num_heads (3) must be a multiple of kv_num_heads (2)"), std::string::npos);
  }
}

// ---- RotaryEmbedding

namespace {

// x (b, s, h, d) rotated over its first `dim` entries per head with
// cos/sin (b, s, dim / 2).
ir::Tensor naiveRotary(const ir::Tensor& x, const ir::Tensor& cos, const ir::Tensor& sin, int64_t dim, bool interleaved) {
  auto s = x.shape();
  ir::Tensor out = x.clone();
  for (int64_t b = 0; b < s[0]; ++b)
    for (int64_t t = 0; t < s[1]; ++t)
      for (int64_t h = 0; h < s[2]; ++h)
        for (int64_t i = 0; i < dim / 2; ++i) {
          int64_t i1 = interleaved ? 2 * i : i, i2 = interleaved ? 2 * i + 1 : i + dim / 2;
          double c = cos.getDouble(at(cos.shape(), {b, t, i})), sn = sin.getDouble(at(sin.shape(), {b, t, i}));
          double x1 = x.getDouble(at(s, {b, t, h, i1})), x2 = x.getDouble(at(s, {b, t, h, i2}));
          out.setDouble(at(s, {b, t, h, i1}), c * x1 - sn * x2);
          out.setDouble(at(s, {b, t, h, i2}), sn * x1 + c * x2);
        }
  return out;
}

ir::Tensor transposed0213(const ir::Tensor& t) {
  auto s = t.shape();
  ir::Tensor out(t.dtype(), {s[0], s[2], s[1], s[3]});
  for (int64_t a = 0; a < s[0]; ++a)
    for (int64_t b = 0; b < s[1]; ++b)
      for (int64_t c = 0; c < s[2]; ++c)
        for (int64_t d = 0; d < s[3]; ++d) out.setDouble(at(out.shape(), {a, c, b, d}), t.getDouble(at(s, {a, b, c, d})));
  return out;
}

}  // namespace

TEST(OnnxImportRotaryEmbedding, PartialInterleavedThreeDWithoutPositionIds) {
  // x (1, 3, 2 heads * 6), rotating 4 of each head's 6 entries, pairs interleaved.
  ir::Tensor x = values({1, 3, 2, 6}, 1), cos = values({1, 3, 2}, 2), sin = values({1, 3, 2}, 3);
  NodeModel m("RotaryEmbedding", 23);
  m.input("X", kFloat, {1, 3, 12}).input("cos", kFloat, {1, 3, 2}).input("sin", kFloat, {1, 3, 2}).output("Y");
  m.attr("num_heads", int64_t(2)).attr("rotary_embedding_dim", int64_t(4)).attr("interleaved", int64_t(1));
  ir::Tensor flat(ir::DType::F32, {1, 3, 12});  // the same values, heads merged
  for (int64_t i = 0; i < x.numel(); ++i) flat.setDouble(i, x.getDouble(i));
  auto outs = ir::interpret(m.import(), {{"X", flat}, {"cos", cos}, {"sin", sin}});
  ir::Tensor want = naiveRotary(x, cos, sin, 4, true);
  for (int64_t i = 0; i < want.numel(); ++i) EXPECT_NEAR(outs[0].getDouble(i), want.getDouble(i), 1e-6) << i;
}

TEST(OnnxImportRotaryEmbedding, FourDWithPositionIds) {
  // x (b=2, h=2, s=3, d=4); caches of 5 positions gathered by position_ids.
  ir::Tensor x = values({2, 2, 3, 4}, 4), cosCache = values({5, 2}, 5), sinCache = values({5, 2}, 6);
  ir::Tensor positions = ir::Tensor::fromVector<int64_t>({2, 3}, {0, 1, 2, 4, 3, 0});
  ir::Tensor cos(ir::DType::F32, {2, 3, 2}), sin(ir::DType::F32, {2, 3, 2});
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 2; ++j) {
      cos.setDouble(i * 2 + j, cosCache.getDouble(int64_t(positions.getDouble(i)) * 2 + j));
      sin.setDouble(i * 2 + j, sinCache.getDouble(int64_t(positions.getDouble(i)) * 2 + j));
    }
  NodeModel m("RotaryEmbedding", 23);
  m.input("X", kFloat, {2, 2, 3, 4}).input("cos", kFloat, {5, 2}).input("sin", kFloat, {5, 2});
  m.input("pos", kInt64, {2, 3}).output("Y");
  auto outs = ir::interpret(m.import(), {{"X", x}, {"cos", cosCache}, {"sin", sinCache}, {"pos", positions}});
  expectClose(outs[0], transposed0213(naiveRotary(transposed0213(x), cos, sin, 4, false)));
}

TEST(OnnxImportRotaryEmbedding, RefusesMismatchedCachesAndMissingHeads) {
  NodeModel wrongCache("RotaryEmbedding", 23);
  wrongCache.input("X", kFloat, {1, 2, 3, 4}).input("cos", kFloat, {5, 3}).input("sin", kFloat, {5, 3});
  wrongCache.input("pos", kInt64, {1, 3}).output("Y");
  EXPECT_NE(errorOf([&] { wrongCache.import(); }).find("cos_cache's last dim is 3, expected rotary_embedding_dim / 2 = 2"),
            std::string::npos);
  NodeModel noHeads("RotaryEmbedding", 23);
  noHeads.input("X", kFloat, {1, 3, 8}).input("cos", kFloat, {1, 3, 4}).input("sin", kFloat, {1, 3, 4}).output("Y");
  EXPECT_NE(errorOf([&] { noHeads.import(); }).find("3-D X needs a positive attribute num_heads"), std::string::npos);
}

// ---- RMSNormalization, Swish, TensorScatter, LpNormalization

TEST(OnnxImportNormalization, RmsNormalizationOverTrailingAxesInStashPrecision) {
  NodeModel m("RMSNormalization", 23);
  m.input("X", kFloat16, {2, 3, 2}).input("scale", kFloat16, {3, 2}).output("Y").attr("axis", int64_t(1)).attr("epsilon", 0.25);
  ir::Graph g = m.import();
  EXPECT_EQ(g.outputs()[0]->type().str(), "f16[2,3,2]");
  ir::Tensor x = values({2, 3, 2}, 1, ir::DType::F16), scale = values({3, 2}, 2, ir::DType::F16);
  auto outs = ir::interpret(g, {{"X", x}, {"scale", scale}});
  for (int64_t b = 0; b < 2; ++b) {
    double sq = 0;
    for (int64_t i = 0; i < 6; ++i) sq += x.getDouble(b * 6 + i) * x.getDouble(b * 6 + i);
    double rms = std::sqrt(sq / 6 + 0.25);
    for (int64_t i = 0; i < 6; ++i)
      EXPECT_NEAR(outs[0].getDouble(b * 6 + i), x.getDouble(b * 6 + i) / rms * scale.getDouble(i), 2e-3);
  }
  NodeModel badStash("RMSNormalization", 23);
  badStash.input("X", kFloat, {2, 3}).input("scale", kFloat, {3}).output("Y").attr("stash_type", int64_t(7));
  EXPECT_NE(errorOf([&] { badStash.import(); }).find("stash_type 7 is not a floating-point"), std::string::npos);
}

TEST(OnnxImportNormalization, LpNormalizationTakesAbsoluteValuesAndZeroNorms) {
  NodeModel m("LpNormalization", 22);
  m.input("x", kFloat, {3, 2}).output("y").attr("p", int64_t(1)).attr("axis", int64_t(1));
  auto outs = ir::interpret(m.import(), {{"x", ir::Tensor::fromVector<float>({3, 2}, {3, -1, 0, 0, -2, -2})}});
  expectClose(outs[0], ir::Tensor::fromVector<float>({3, 2}, {0.75f, -0.25f, 0, 0, -0.5f, -0.5f}));
  NodeModel p3("LpNormalization", 22);
  p3.input("x", kFloat, {3, 2}).output("y").attr("p", int64_t(3));
  EXPECT_NE(errorOf([&] { p3.import(); }).find("p must be 1 or 2, found 3"), std::string::npos);
}

TEST(OnnxImportElementwise, SwishWithAlpha) {
  NodeModel m("Swish", 24);
  m.input("x", kFloat, {4}).output("y").attr("alpha", 0.5);
  ir::Tensor x = ir::Tensor::fromVector<float>({4}, {-2, -0.5f, 0, 3});
  auto outs = ir::interpret(m.import(), {{"x", x}});
  for (int64_t i = 0; i < 4; ++i) {
    double v = x.getDouble(i);
    EXPECT_NEAR(outs[0].getDouble(i), v / (1 + std::exp(-0.5 * v)), 1e-6);
  }
  NodeModel beta("Swish", 24);
  beta.input("x", kFloat, {4}).output("y").attr("beta", 0.5);
  EXPECT_NE(errorOf([&] { beta.import(); }).find("Swish-24 has no attribute 'beta'"), std::string::npos);
}

TEST(OnnxImportIndex, TensorScatterLinearAndCircular) {
  // Cache (2 batches, 4 positions, 2) with 3 new positions at 1 (linear)
  // and at 2 (circular: 2, 3, 0) per batch.
  ir::Tensor cache(ir::DType::F32, {2, 4, 2});
  ir::Tensor update = values({2, 3, 2}, 1);
  ir::Tensor where = ir::Tensor::fromVector<int64_t>({2}, {1, 2});
  for (std::string mode : {"linear", "circular"}) {
    NodeModel m("TensorScatter", 24);
    m.input("cache", kFloat, {2, 4, 2}).input("update", kFloat, {2, 3, 2}).input("at", kInt64, {2}).output("y");
    m.attr("mode", mode);
    ir::Tensor w = mode == "linear" ? ir::Tensor::fromVector<int64_t>({2}, {1, 0}) : where;
    auto outs = ir::interpret(m.import(), {{"cache", cache}, {"update", update}, {"at", w}});
    ir::Tensor want = cache.clone();
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t s = 0; s < 3; ++s)
        for (int64_t x = 0; x < 2; ++x)
          want.setDouble(at({2, 4, 2}, {b, (int64_t(w.getDouble(b)) + s) % 4, x}), update.getDouble(at({2, 3, 2}, {b, s, x})));
    SCOPED_TRACE(mode);
    expectClose(outs[0], want, 0, 0);
  }
  NodeModel batchAxis("TensorScatter", 24);
  batchAxis.input("cache", kFloat, {2, 4, 2}).input("update", kFloat, {2, 3, 2}).output("y").attr("axis", int64_t(0));
  EXPECT_NE(errorOf([&] { batchAxis.import(); }).find("axis must not be the batch dim 0"), std::string::npos);
}

TEST(OnnxImportTensor, CenterCropPadPadsThenCropsAroundTheCentre) {
  // Axis 0: 5 -> 2 (crop from 1); axis 1: 2 -> 5 (pad 1 before, 2 after).
  NodeModel m("CenterCropPad", 18);
  m.input("x", kFloat, {5, 2}).input("shape", kInt64, {2}).output("y");
  ir::Tensor x = values({5, 2}, 1);
  auto outs = ir::interpret(m.import(), {{"x", x}, {"shape", ir::Tensor::fromVector<int64_t>({2}, {2, 5})}});
  ir::Tensor want(ir::DType::F32, {2, 5});
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 2; ++j) want.setDouble(i * 5 + j + 1, x.getDouble((i + 1) * 2 + j));
  expectClose(outs[0], want, 0, 0);
  NodeModel floatShape("CenterCropPad", 18);
  floatShape.input("x", kFloat, {5, 2}).input("shape", kFloat, {2}).output("y");
  EXPECT_NE(errorOf([&] { floatShape.import(); }).find("shape must be i32 or i64, found f32"), std::string::npos);
}
