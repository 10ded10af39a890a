// ONNX import: well-formed models, external data confinement, and the
// errors a user sees for models dlc cannot or will not import.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>

#include "frontend/onnx/importer.h"
#include "ir/interpreter.h"
#include "support/error.h"

using namespace dlc;
namespace fs = std::filesystem;

namespace {

// A model computing out = Add(x, w) with x: f32[N,2] and w an initializer.
onnx::ModelProto addModel(int opset = 13) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(opset);
  auto* g = m.mutable_graph();
  g->set_name("add");
  auto* x = g->add_input();
  x->set_name("x");
  auto* tt = x->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_param("N");
  tt->mutable_shape()->add_dim()->set_dim_value(2);
  auto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(2);
  w->add_float_data(10.0f);
  w->add_float_data(20.0f);
  auto* n = g->add_node();
  n->set_op_type("Add");
  n->set_name("add_node");
  n->add_input("x");
  n->add_input("w");
  n->add_output("out");
  g->add_output()->set_name("out");
  return m;
}

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / fmt::format("dlc_import_test_{}", ::testing::UnitTest::GetInstance()->random_seed());
    path /= ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string save(const onnx::ModelProto& m, const fs::path& path) {
  std::ofstream f(path, std::ios::binary);
  m.SerializeToOstream(&f);
  return path.string();
}

std::string errorOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(OnnxImport, ImportsAndRunsWithSymbolicDims) {
  TempDir dir;
  auto model = frontend::onnx::importOnnxFile(save(addModel(), dir.path / "m.onnx"));
  EXPECT_EQ(model.opset, 13);
  ASSERT_EQ(model.graph.outputs().size(), 1u);
  EXPECT_EQ(model.graph.outputs()[0]->name(), "out");
  EXPECT_EQ(model.graph.outputs()[0]->type().str(), "f32[N,2]");
  auto outs = ir::interpret(model.graph, {{"x", ir::Tensor::fromVector<float>({3, 2}, {1, 2, 3, 4, 5, 6})}});
  EXPECT_EQ(outs[0].shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_FLOAT_EQ(outs[0].data<float>()[5], 26.0f);
}

TEST(OnnxImport, DimBindingsMakeShapesStatic) {
  TempDir dir;
  frontend::onnx::ImportOptions options;
  options.dimBindings["N"] = 4;
  auto model = frontend::onnx::importOnnxFile(save(addModel(), dir.path / "m.onnx"), options);
  EXPECT_EQ(model.graph.outputs()[0]->type().str(), "f32[4,2]");
}

TEST(OnnxImport, ReadsExternalDataInsideTheModelFolder) {
  TempDir dir;
  auto m = addModel();
  auto* w = m.mutable_graph()->mutable_initializer(0);
  w->clear_float_data();
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* loc = w->add_external_data();
  loc->set_key("location");
  loc->set_value("weights.bin");
  float values[2] = {1.5f, -2.5f};
  std::ofstream(dir.path / "weights.bin", std::ios::binary).write(reinterpret_cast<char*>(values), sizeof values);
  auto model = frontend::onnx::importOnnxFile(save(m, dir.path / "m.onnx"));
  auto outs = ir::interpret(model.graph, {{"x", ir::Tensor::fromVector<float>({1, 2}, {0, 0})}});
  EXPECT_FLOAT_EQ(outs[0].data<float>()[1], -2.5f);
}

TEST(OnnxImport, RefusesExternalDataOutsideTheModelFolder) {
  TempDir dir;
  fs::create_directories(dir.path / "model");
  std::ofstream(dir.path / "secret.bin", std::ios::binary) << "12345678";
  fs::create_symlink(dir.path / "secret.bin", dir.path / "model" / "link.bin");
  for (const std::string& location : std::vector<std::string>{"../secret.bin", (dir.path / "secret.bin").string(), "link.bin"}) {
    auto m = addModel();
    auto* w = m.mutable_graph()->mutable_initializer(0);
    w->clear_float_data();
    w->set_data_location(onnx::TensorProto::EXTERNAL);
    auto* loc = w->add_external_data();
    loc->set_key("location");
    loc->set_value(location);
    std::string path = save(m, dir.path / "model" / "m.onnx");
    std::string err = errorOf([&] { frontend::onnx::importOnnxFile(path); });
    EXPECT_NE(err.find("tensor 'w'"), std::string::npos) << location << ": " << err;
    EXPECT_TRUE(err.find("outside the model's folder") != std::string::npos ||
                err.find("must be a relative path") != std::string::npos)
        << location << ": " << err;
  }
}

TEST(OnnxImport, ListsAllUnsupportedOpsAtOnce) {
  TempDir dir;
  auto m = addModel();
  for (const char* op : {"FrobnicateA", "FrobnicateB"}) {
    auto* n = m.mutable_graph()->add_node();
    n->set_op_type(op);
    n->add_input("out");
    n->add_output(std::string(op) + "_out");
  }
  std::string path = save(m, dir.path / "m.onnx");
  try {
    frontend::onnx::importOnnxFile(path);
    FAIL() << "expected an error";
  } catch (const UnsupportedError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("2 unsupported ops"), std::string::npos) << msg;
    EXPECT_NE(msg.find("FrobnicateA (opset 13)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("FrobnicateB (opset 13)"), std::string::npos) << msg;
  }
}

TEST(OnnxImport, ErrorsNameTheNodeOpAndOpset) {
  TempDir dir;
  auto m = addModel();
  m.mutable_graph()->mutable_node(0)->set_input(1, "nowhere");
  std::string err = errorOf([&] { frontend::onnx::importOnnxFile(save(m, dir.path / "m.onnx")); });
  EXPECT_NE(err.find("node 'add_node' (Add, opset 13): input 'nowhere' is not produced"), std::string::npos) << err;

  auto bad = addModel();
  bad.mutable_graph()->mutable_initializer(0)->add_dims(3);  // 2 values for 6 elements
  err = errorOf([&] { frontend::onnx::importOnnxFile(save(bad, dir.path / "m2.onnx")); });
  EXPECT_NE(err.find("initializer 'w'"), std::string::npos) << err;

  auto shape = addModel();
  shape.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(1)->set_dim_value(3);
  err = errorOf([&] { frontend::onnx::importOnnxFile(save(shape, dir.path / "m3.onnx")); });
  EXPECT_NE(err.find("node 'add_node' (Add, opset 13)"), std::string::npos) << err;
  EXPECT_NE(err.find("cannot be broadcast"), std::string::npos) << err;
}

TEST(OnnxImport, RefusesOpsetsNewerThanSupported) {
  TempDir dir;
  std::string err = errorOf([&] { frontend::onnx::importOnnxFile(save(addModel(99), dir.path / "m.onnx")); });
  EXPECT_NE(err.find("opset 99"), std::string::npos) << err;
}

// Malformed models that give a node fewer operands or results than its op
// takes: a UserError naming the node, not a crash in inference (found by
// ASan/UBSan on mutated node-test models).
TEST(OnnxImport, RefusesNodesWithTooFewOperandsOrResults) {
  TempDir dir;
  auto absent = addModel();
  absent.mutable_graph()->mutable_node(0)->set_input(0, "");  // Add with operand 0 absent
  std::string err = errorOf([&] { frontend::onnx::importOnnxFile(save(absent, dir.path / "m.onnx")); });
  EXPECT_NE(err.find("node 'add_node' (Add, opset 13)"), std::string::npos) << err;
  EXPECT_NE(err.find("required operand 0 is absent"), std::string::npos) << err;

  auto noOutputs = addModel();
  auto* n = noOutputs.mutable_graph()->add_node();
  n->set_op_type("Sum");
  n->set_name("sum_node");
  n->add_input("x");
  n->add_input("out");
  err = errorOf([&] { frontend::onnx::importOnnxFile(save(noOutputs, dir.path / "m2.onnx")); });
  EXPECT_NE(err.find("node 'sum_node' (Sum, opset 13)"), std::string::npos) << err;
  EXPECT_NE(err.find("has 0 results, expected 1..1"), std::string::npos) << err;

  auto oneOperand = addModel();
  oneOperand.mutable_graph()->mutable_node(0)->mutable_input()->RemoveLast();  // Add(x)
  err = errorOf([&] { frontend::onnx::importOnnxFile(save(oneOperand, dir.path / "m3.onnx")); });
  EXPECT_NE(err.find("has 1 operands, expected 2..2"), std::string::npos) << err;
}

// A node that lists one output name twice: a UserError, not an internal
// error from the IR's unique-name check (found on mutated node-test models).
TEST(OnnxImport, RefusesANodeThatNamesAnOutputTwice) {
  TempDir dir;
  auto m = addModel();
  m.mutable_graph()->mutable_node(0)->add_output("out");  // Add -> (out, out)
  std::string err = errorOf([&] { frontend::onnx::importOnnxFile(save(m, dir.path / "m.onnx")); });
  EXPECT_NE(err.find("node 'add_node' (Add, opset 13): output 'out' is listed twice"), std::string::npos) << err;

  auto redefined = addModel();
  redefined.mutable_graph()->mutable_node(0)->set_output(0, "x");  // Add -> x, x being the graph input
  err = errorOf([&] { frontend::onnx::importOnnxFile(save(redefined, dir.path / "m2.onnx")); });
  EXPECT_NE(err.find("output 'x' is already defined"), std::string::npos) << err;
}

// An attribute of the wrong kind read by an import handler (DFT-17's axis
// given as a float): a UserError, not std::bad_variant_access.
TEST(OnnxImport, RefusesAnAttributeOfTheWrongKindInAnImportHandler) {
  TempDir dir;
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("dft");
  auto* x = g->add_input();
  x->set_name("x");
  auto* tt = x->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  for (int d : {1, 4, 1}) tt->mutable_shape()->add_dim()->set_dim_value(d);
  auto* n = g->add_node();
  n->set_op_type("DFT");
  n->set_name("dft_node");
  n->add_input("x");
  n->add_output("y");
  auto* axis = n->add_attribute();
  axis->set_name("axis");
  axis->set_type(onnx::AttributeProto::FLOAT);
  axis->set_f(1.0f);
  g->add_output()->set_name("y");
  std::string err = errorOf([&] { frontend::onnx::importOnnxFile(save(m, dir.path / "m.onnx")); });
  EXPECT_NE(err.find("node 'dft_node' (DFT, opset 17): attribute 'axis' must be int, found float"), std::string::npos)
      << err;
  axis->set_type(onnx::AttributeProto::INT);
  axis->set_i(1);
  auto model = frontend::onnx::importOnnxFile(save(m, dir.path / "m2.onnx"));
  EXPECT_EQ(model.graph.outputs()[0]->type().str(), "f32[1,4,2]");
}
