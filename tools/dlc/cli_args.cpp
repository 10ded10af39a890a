#include "tools/dlc/cli_args.h"

#include <sstream>

#include "support/error.h"
#include "tools/dlc/targets.h"

namespace dlc::tools {

CliArgs::CliArgs(const std::vector<std::string>& argv, const std::set<std::string>& valued,
                 const std::set<std::string>& flags) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      positional_.push_back(a);
      continue;
    }
    std::string key = a.substr(2), val;
    bool hasVal = false;
    if (size_t eq = key.find('='); eq != std::string::npos) {
      val = key.substr(eq + 1);
      key = key.substr(0, eq);
      hasVal = true;
    }
    if (flags.count(key)) {
      if (hasVal) throwUserError("option --{} takes no value", key);
      flags_.insert(key);
    } else if (valued.count(key)) {
      if (!hasVal) {
        if (i + 1 >= argv.size()) throwUserError("option --{} needs a value", key);
        val = argv[++i];
      }
      values_.emplace(key, val);
    } else {
      throwUserError("unknown option --{} (see --help)", key);
    }
  }
}

std::optional<std::string> CliArgs::value(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> CliArgs::values(const std::string& name) const {
  std::vector<std::string> out;
  auto [b, e] = values_.equal_range(name);
  for (auto it = b; it != e; ++it) out.push_back(it->second);
  return out;
}

double CliArgs::number(const std::string& name, double fallback) const {
  auto v = value(name);
  if (!v) return fallback;
  try {
    size_t used = 0;
    double d = std::stod(*v, &used);
    if (used != v->size()) throw std::invalid_argument("trailing");
    return d;
  } catch (const std::exception&) {
    throwUserError("--{} expects a number, got '{}'", name, *v);
  }
}

int64_t CliArgs::integer(const std::string& name, int64_t fallback) const {
  auto v = value(name);
  if (!v) return fallback;
  try {
    size_t used = 0;
    long long d = std::stoll(*v, &used);
    if (used != v->size()) throw std::invalid_argument("trailing");
    return d;
  } catch (const std::exception&) {
    throwUserError("--{} expects an integer, got '{}'", name, *v);
  }
}

CompileOptions compileOptions(const CliArgs& args) {
  CompileOptions options;
  options.optimize = args.flag("optimize");
  for (const auto& spec : args.values("print-after")) {
    std::stringstream ss(spec);
    std::string name;
    while (std::getline(ss, name, ','))
      if (!name.empty()) options.printAfter.insert(name);
  }
  options.threads = int(args.integer("threads", 0));
  if (options.threads < 0) throwUserError("--threads expects a count >= 0 (0: every core), got {}", options.threads);
  if (auto cpu = args.value("cpu")) options.cpu = *cpu;
  options.maxTensorBytes = maxTensorBytes(args);
  options.allowTf32 = args.flag("allow-tf32");
  options.cudaSource = args.flag("cuda-source");
  if (auto p = args.value("precision")) options.precision = parsePrecision(*p);
  options.fuseAttention = attentionFusion(args);
  options.blockedLayout = blockedLayout(args);
  return options;
}

std::optional<bool> onOff(const CliArgs& args, const std::string& name) {
  auto v = args.value(name);
  if (!v) return std::nullopt;
  if (*v == "on") return true;
  if (*v == "off") return false;
  throwUserError("--{} {}: expected on or off", name, *v);
}

std::optional<bool> attentionFusion(const CliArgs& args) { return onOff(args, "attention-fusion"); }
bool blockedLayout(const CliArgs& args) { return onOff(args, "blocked-layout").value_or(true); }

ir::DType parsePrecision(const std::string& name) {
  if (name == "fp32") return ir::DType::F32;
  if (name == "fp16") return ir::DType::F16;
  if (name == "bf16") return ir::DType::BF16;
  throwUserError("--precision {}: expected fp32, fp16 or bf16", name);
}

int64_t maxTensorBytes(const CliArgs& args) {
  int64_t bytes = args.integer("max-tensor-bytes", ir::kDefaultMaxTensorBytes);
  if (bytes <= 0) throwUserError("--max-tensor-bytes must be positive, got {}", bytes);
  return bytes;
}

}  // namespace dlc::tools
