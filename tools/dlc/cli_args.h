// A small command-line parser: positional arguments, `--flag`, `--key value`
// and `--key=value` (repeatable). Unknown options are user errors.
#pragma once

#include "ir/dtype.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace dlc::tools {

class CliArgs {
 public:
  // `valued` lists the options that take a value; `flags` those that don't.
  CliArgs(const std::vector<std::string>& argv, const std::set<std::string>& valued,
          const std::set<std::string>& flags);

  const std::vector<std::string>& positional() const { return positional_; }
  bool flag(const std::string& name) const { return flags_.count(name) != 0; }
  std::optional<std::string> value(const std::string& name) const;
  std::vector<std::string> values(const std::string& name) const;  // all occurrences
  double number(const std::string& name, double fallback) const;
  int64_t integer(const std::string& name, int64_t fallback) const;

 private:
  std::vector<std::string> positional_;
  std::set<std::string> flags_;
  std::multimap<std::string, std::string> values_;
};

struct CompileOptions;
// --optimize and --print-after=P1,P2 as compile options.
CompileOptions compileOptions(const CliArgs& args);
// --max-tensor-bytes B (default: ir::kDefaultMaxTensorBytes): the memory limit
// for one tensor (weights, inputs, intermediate results).
int64_t maxTensorBytes(const CliArgs& args);
// --precision fp32|fp16|bf16 (cuda: the type matrix products compute in).
ir::DType parsePrecision(const std::string& name);
// --NAME on|off; nullopt when not given.
std::optional<bool> onOff(const CliArgs& args, const std::string& name);
// --attention-fusion on|off; nullopt when not given (the target's choice).
std::optional<bool> attentionFusion(const CliArgs& args);
// --blocked-layout on|off (cpu: NCHWc convolutions); on when not given.
bool blockedLayout(const CliArgs& args);

}  // namespace dlc::tools
