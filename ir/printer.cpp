#include "ir/printer.h"

#include <cmath>

#include "support/error.h"

namespace dlc::ir {

std::string formatFloat(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

static bool isPlainIdentifier(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) return false;
  return true;
}

static std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string formatName(const std::string& name) {
  return isPlainIdentifier(name) ? name : quote(name);
}

static std::string formatDim(const Dim& d) {
  if (d.isStatic()) return std::to_string(d.value());
  if (d.isUnknown()) return "?";
  const std::string& s = d.symbolName();
  bool identLike = isPlainIdentifier(s) && !std::isdigit(static_cast<unsigned char>(s[0]));
  return identLike ? s : quote(s);
}

static std::string formatType(const TensorType& t) {
  if (!t.shape) return fmt::format("{}[*]", dtypeName(t.dtype));
  std::string s = fmt::format("{}[", dtypeName(t.dtype));
  for (size_t i = 0; i < t.shape->rank(); ++i) s += (i ? "," : "") + formatDim((*t.shape)[i]);
  return s + "]";
}

static std::string formatValues(const Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (i) s += ", ";
    s += isFloat(t.dtype()) ? formatFloat(t.getDouble(i)) : std::to_string(t.getInt(i));
  }
  return s + "]";
}

static void printGraphInto(std::string& out, const Graph& graph, const PrintOptions& options, const std::string& indent);

static std::string formatAttr(const AttrValue& v, const PrintOptions& options, const std::string& indent) {
  return std::visit(
      [&](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, int64_t>) return std::to_string(x);
        else if constexpr (std::is_same_v<T, double>) return formatFloat(x);
        else if constexpr (std::is_same_v<T, std::string>) return quote(x);
        else if constexpr (std::is_same_v<T, std::vector<int64_t>>)
          return x.empty() ? "ints[]" : fmt::format("[{}]", fmt::join(x, ", "));
        else if constexpr (std::is_same_v<T, std::vector<double>>) {
          std::vector<std::string> parts;
          for (double d : x) parts.push_back(formatFloat(d));
          return x.empty() ? "floats[]" : fmt::format("[{}]", fmt::join(parts, ", "));
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          std::vector<std::string> parts;
          for (const auto& d : x) parts.push_back(quote(d));
          return fmt::format("strings[{}]", fmt::join(parts, ", "));
        } else if constexpr (std::is_same_v<T, Tensor>)
          return fmt::format("tensor<{}> {}", formatType(x.type()), formatValues(x));
        else {
          DLC_CHECK(x != nullptr, "null subgraph attribute");
          std::string nested;
          printGraphInto(nested, *x, options, indent + "  ");
          nested.pop_back();  // the final newline
          return nested.substr(indent.size() + 2);  // starts on the attribute's line
        }
      },
      v);
}

static std::string formatValueRef(const Value* v) { return v ? "%" + formatName(v->name()) : "_"; }

static std::string printNodeWith(const Node& node, const PrintOptions& options, const std::string& indent) {
  std::vector<std::string> results, operands, attrs;
  for (const Value* v : node.outputs()) results.push_back(formatValueRef(v) + ": " + formatType(v->type()));
  for (const Value* v : node.inputs()) operands.push_back(formatValueRef(v));
  for (const auto& [name, value] : node.attrs().all()) attrs.push_back(formatName(name) + " = " + formatAttr(value, options, indent));
  std::string s = fmt::format("{} = {}({})", fmt::join(results, ", "), node.opName(), fmt::join(operands, ", "));
  if (!attrs.empty()) s += fmt::format(" {{{}}}", fmt::join(attrs, ", "));
  if (!node.name().empty() || !node.origins().empty()) {
    std::vector<std::string> locs;
    locs.push_back(quote(node.name()));
    for (const auto& o : node.origins()) locs.push_back(quote(o));
    s += fmt::format(" loc({})", fmt::join(locs, ", "));
  }
  return s;
}

std::string printNode(const Node& node) { return printNodeWith(node, {}, ""); }

static void printGraphInto(std::string& s, const Graph& graph, const PrintOptions& options, const std::string& indent) {
  std::vector<std::string> args;
  for (const Value* v : graph.inputs()) args.push_back(formatValueRef(v) + ": " + formatType(v->type()));
  s += fmt::format("{}graph @{}({}) {{\n", indent, formatName(graph.name()), fmt::join(args, ", "));
  for (const Value* c : graph.constants()) {
    const Tensor& t = c->constant();
    bool elide = options.elideConstantsOver >= 0 && t.numel() > options.elideConstantsOver;
    s += fmt::format("{}  {}: {} = const {}\n", indent, formatValueRef(c), formatType(c->type()),
                     elide ? std::string("<elided>") : formatValues(t));
  }
  for (const Node* n : graph.nodes()) s += indent + "  " + printNodeWith(*n, options, indent + "  ") + "\n";
  std::vector<std::string> outs;
  for (const Value* v : graph.outputs()) outs.push_back(formatValueRef(v));
  s += fmt::format("{}  return {}\n{}}}\n", indent, fmt::join(outs, ", "), indent);
}

std::string printGraph(const Graph& graph, const PrintOptions& options) {
  std::string s;
  printGraphInto(s, graph, options, "");
  return s;
}

}  // namespace dlc::ir
