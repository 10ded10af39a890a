#include "codegen/cpu/library_step.h"

#include <fmt/format.h>

#include "ir/interpreter.h"
#include "runtime/steps.h"
#include "support/error.h"

namespace dlc::codegen::cpu {

using runtime::copyBytes;

void LibraryStep::run(const runtime::RunContext& ctx) const {
  std::vector<ir::Tensor> inputs(inputs_.size());
  std::vector<const ir::Tensor*> operands(inputs_.size(), nullptr);
  for (size_t i = 0; i < inputs_.size(); ++i) {
    const ir::Value* v = node_.input(i);
    if (!v) continue;
    inputs[i] = ir::Tensor(v->dtype(), v->type().shape->extents());
    copyBytes(inputs[i].rawData(), ctx.resolve(inputs_[i]), inputs[i].byteSize());
    operands[i] = &inputs[i];
  }
  std::unordered_map<const ir::Value*, ir::Tensor> outer;
  for (const auto& [v, ref] : outer_) {
    ir::Tensor t(v->dtype(), v->type().shape->extents());
    copyBytes(t.rawData(), ctx.resolve(ref), t.byteSize());
    outer.emplace(v, std::move(t));
  }
  std::vector<ir::Tensor> results = ir::evalNode(node_, operands, outer);
  for (size_t i = 0; i < outputs_.size(); ++i) {
    const ir::Value* v = node_.output(i);
    std::vector<int64_t> planned = v->type().shape->extents();
    if (results.at(i).shape() != planned || results[i].dtype() != v->dtype())
      throwUserError("{}: produced {} {}, but the compiled program planned {} [{}]", node_.describe(),
                     ir::dtypeName(results[i].dtype()), fmt::join(results[i].shape(), "x"),
                     ir::dtypeName(v->dtype()), fmt::join(planned, "x"));
    copyBytes(ctx.resolve(outputs_[i]), results[i].rawData(), results[i].byteSize());
  }
}

std::string LibraryStep::describe() const {
  return fmt::format("{} -> reference kernel (library call: {})", node_.describe(), reason_);
}

}  // namespace dlc::codegen::cpu
