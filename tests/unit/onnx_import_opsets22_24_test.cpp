// ONNX opsets 22-24: the changed ops (Cast's round_mode, QuantizeLinear's
// precision, DequantizeLinear's output_dtype) and the errors for what dlc
// refuses, on the cases the onnx wheel's node tests do not cover.
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
