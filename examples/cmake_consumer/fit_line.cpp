// Fits y = 2x + 1 with one Gemm, an MSE loss and SGD with momentum, then
// writes the trained model to fit_line.onnx. Exits 1 unless it learned it.
#include <cmath>
#include <cstdio>

#include <dlc/training.h>
#include <ir/builder.h>

int main() {
  using namespace dlc;
  ir::GraphBuilder b("line");
  ir::Value* x = b.input("x", ir::TensorType(ir::DType::F32, ir::Shape{4, 1}));
  ir::Value* y = b.op(ir::OpKind::Gemm, {x, b.constant("w", Tensor(ir::DType::F32, {1, 1})),
                                         b.constant("b", Tensor(ir::DType::F32, {1}))});
  b.output(y);

  TrainerOptions options;
  options.loss = LossSpec::meanSquaredError(y->name(), "y");  // adds the input "y"
  options.optimizer = passes::OptimizerSpec::sgd(0.05, 0.9);
  options.target = "cpu";
  Trainer trainer(b.finish(), options);

  Tensor xs = Tensor::fromVector<float>({4, 1}, {-1, 0, 1, 2});
  Tensor ys = Tensor::fromVector<float>({4, 1}, {-1, 1, 3, 5});
  for (int step = 1; step <= 200; ++step) {
    float loss = trainer.step({{"x", xs}, {"y", ys}});
    if (step % 40 == 0) std::printf("step %3d  loss %.6f\n", step, loss);
  }
  float w = trainer.parameter("w").data<float>()[0], bias = trainer.parameter("b").data<float>()[0];
  std::printf("w = %.4f, b = %.4f\n", w, bias);
  trainer.exportOnnx("fit_line.onnx");
  return std::abs(w - 2) < 1e-2 && std::abs(bias - 1) < 1e-2 ? 0 : 1;
}
