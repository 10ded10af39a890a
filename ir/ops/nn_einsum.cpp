// Einsum with the general numpy semantics: any number of operands, repeated
// subscripts within an operand (diagonals), ellipsis broadcasting, and the
// implicit output form (no "->").
#include <map>

#include "ir/ops/nn_util.h"

namespace dlc::ir {
using namespace ops;

namespace {

// Subscript letters map to labels 0..51; the ellipsis dims to labels
// kEllipsisBase + j, right-aligned over the longest ellipsis.
constexpr int kEllipsisBase = 52;

int letterLabel(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;  // ASCII order: upper case sorts first
  if (c >= 'A' && c <= 'Z') return c - 'A';
  return -1;
}

struct Term {
  std::vector<int> letters;  // labels before the ellipsis, then after it (ellipsis marked by -1)
  bool hasEllipsis = false;
};

Term parseTerm(const std::string& text, const std::string& equation) {
  Term t;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "...") == 0) {
      if (t.hasEllipsis) throwUserError("Einsum equation '{}': a term has two ellipses", equation);
      t.hasEllipsis = true;
      t.letters.push_back(-1);
      i += 2;
      continue;
    }
    int l = letterLabel(text[i]);
    if (l < 0) throwUserError("Einsum equation '{}': invalid subscript '{}'", equation, text[i]);
    t.letters.push_back(l);
  }
  return t;
}

struct Equation {
  std::vector<Term> inputs;
  Term output;
  bool explicitOutput = false;
};

Equation parseEquation(const std::string& raw, size_t numInputs) {
  std::string eq;
  for (char c : raw)
    if (c != ' ') eq += c;
  Equation e;
  std::string lhs = eq, rhs;
  if (size_t arrow = eq.find("->"); arrow != std::string::npos) {
    lhs = eq.substr(0, arrow);
    rhs = eq.substr(arrow + 2);
    e.explicitOutput = true;
  }
  size_t start = 0;
  while (true) {
    size_t comma = lhs.find(',', start);
    e.inputs.push_back(parseTerm(lhs.substr(start, comma - start), raw));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (e.inputs.size() != numInputs)
    throwUserError("Einsum equation '{}' has {} operand terms but the node has {} inputs", raw, e.inputs.size(),
                   numInputs);
  if (e.explicitOutput) {
    e.output = parseTerm(rhs, raw);
    std::vector<int> seen;
    for (int l : e.output.letters) {
      if (l >= 0 && std::find(seen.begin(), seen.end(), l) != seen.end())
        throwUserError("Einsum equation '{}': output subscript repeated", raw);
      seen.push_back(l);
    }
  }
  return e;
}

// Labels of each dim of an operand of rank `rank`; ellipsisRank is the
// broadcast rank of all ellipses.
std::vector<int> dimLabels(const Term& t, size_t rank, size_t ellipsisRank, const std::string& eq) {
  size_t named = t.letters.size() - (t.hasEllipsis ? 1 : 0);
  if (t.hasEllipsis ? rank < named : rank != named)
    throwUserError("Einsum equation '{}': a term has {} subscripts but its operand has rank {}", eq, named, rank);
  size_t ell = rank - named;
  std::vector<int> labels;
  for (int l : t.letters) {
    if (l >= 0) {
      labels.push_back(l);
      continue;
    }
    for (size_t k = 0; k < ell; ++k) labels.push_back(kEllipsisBase + int(ellipsisRank - ell + k));
  }
  return labels;
}

size_t ellipsisRankOf(const Equation& e, const std::vector<size_t>& ranks) {
  size_t r = 0;
  for (size_t i = 0; i < e.inputs.size(); ++i) {
    if (!e.inputs[i].hasEllipsis) continue;
    size_t named = e.inputs[i].letters.size() - 1;  // letters besides the ellipsis
    // (fuzz: a rank below the named dims underflowed into a huge ellipsis)
    if (ranks[i] < named)
      throwUserError("operand {} has rank {}, fewer than the {} dims its term names", i, ranks[i], named);
    r = std::max(r, ranks[i] - named);
  }
  return r;
}

std::vector<int> outputLabels(const Equation& e, size_t ellipsisRank) {
  std::vector<int> out;
  if (e.explicitOutput) {
    for (int l : e.output.letters) {
      if (l >= 0) out.push_back(l);
      else
        for (size_t k = 0; k < ellipsisRank; ++k) out.push_back(kEllipsisBase + int(k));
    }
    for (int l : out)
      if (l < kEllipsisBase) {
        bool found = false;
        for (const Term& t : e.inputs) found |= std::find(t.letters.begin(), t.letters.end(), l) != t.letters.end();
        if (!found) throwUserError("Einsum: an output subscript does not appear in any operand");
      }
    return out;
  }
  for (size_t k = 0; k < ellipsisRank; ++k) out.push_back(kEllipsisBase + int(k));
  std::map<int, int> counts;
  for (const Term& t : e.inputs)
    for (int l : t.letters)
      if (l >= 0) ++counts[l];
  for (auto [l, n] : counts)
    if (n == 1) out.push_back(l);
  return out;
}

void inferEinsum(InferContext& ctx) {
  DType t = ctx.inputDType(0);
  std::vector<size_t> ranks;
  for (size_t i = 0; i < ctx.numInputs(); ++i) {
    if (ctx.inputDType(i) != t)
      ctx.fail("operands must have the same dtype, found {} and {}", dtypeName(t), dtypeName(ctx.inputDType(i)));
    if (!ctx.inputShape(i)) return ctx.setOutput(0, TensorType::unranked(t));
    ranks.push_back(ctx.inputShape(i)->rank());
  }
  const std::string& eqText = ctx.node().attrString("equation");
  Equation eq = parseEquation(eqText, ctx.numInputs());
  size_t ellRank = ellipsisRankOf(eq, ranks);
  std::map<int, Dim> extent;
  Shape ellipsisShape(std::vector<Dim>(ellRank, Dim(1)));
  for (size_t i = 0; i < ctx.numInputs(); ++i) {
    const Shape& s = *ctx.inputShape(i);
    std::vector<int> labels = dimLabels(eq.inputs[i], s.rank(), ellRank, eqText);
    std::vector<Dim> ell;
    for (size_t d = 0; d < labels.size(); ++d) {
      if (labels[d] >= kEllipsisBase) {
        ell.push_back(s[d]);
        continue;
      }
      auto [it, fresh] = extent.emplace(labels[d], s[d]);
      if (fresh) continue;
      const Dim& old = it->second;
      if (old.isStatic() && s[d].isStatic() && old.value() != s[d].value())
        ctx.fail("Einsum '{}': a subscript has extents {} and {}", eqText, old.value(), s[d].value());
      if (!old.isStatic() && s[d].isStatic()) it->second = s[d];
    }
    ellipsisShape = broadcastShapes(ellipsisShape, Shape(ell));
  }
  std::vector<Dim> dims;
  for (int l : outputLabels(eq, ellRank))
    dims.push_back(l >= kEllipsisBase ? ellipsisShape[size_t(l - kEllipsisBase)] : extent.at(l));
  ctx.setOutput(0, TensorType(t, Shape(dims)));
}

void evalEinsum(EvalContext& ctx) {
  const std::string& eqText = ctx.node().attrString("equation");
  Equation eq = parseEquation(eqText, ctx.numInputs());
  std::vector<size_t> ranks;
  for (size_t i = 0; i < ctx.numInputs(); ++i) {
    if (ctx.input(i).dtype() != ctx.input(0).dtype()) ctx.fail("operands must have the same dtype");
    ranks.push_back(ctx.input(i).rank());
  }
  size_t ellRank = ellipsisRankOf(eq, ranks);
  // Extent of every label; ellipsis dims broadcast (extent 1 stretches).
  std::map<int, int64_t> extent;
  std::vector<std::vector<int>> labels;
  for (size_t i = 0; i < ctx.numInputs(); ++i) {
    const Tensor& x = ctx.input(i);
    labels.push_back(dimLabels(eq.inputs[i], x.rank(), ellRank, eqText));
    for (size_t d = 0; d < x.rank(); ++d) {
      int l = labels[i][d];
      auto [it, fresh] = extent.emplace(l, x.dim(d));
      if (fresh || it->second == x.dim(d)) continue;
      if (l >= kEllipsisBase && (it->second == 1 || x.dim(d) == 1)) it->second = it->second == 1 ? x.dim(d) : it->second;
      else ctx.fail("Einsum '{}': a subscript has extents {} and {}", eqText, it->second, x.dim(d));
    }
  }
  for (size_t k = 0; k < ellRank; ++k) extent.emplace(kEllipsisBase + int(k), 1);
  std::vector<int> outLabels = outputLabels(eq, ellRank);
  // Loop order: output labels, then the summed ones.
  std::vector<int> loop = outLabels;
  for (auto [l, n] : extent)
    if (std::find(loop.begin(), loop.end(), l) == loop.end()) loop.push_back(l);
  std::vector<int64_t> loopExtents;
  for (int l : loop) loopExtents.push_back(extent.at(l));
  // Per operand, its stride along each loop label (repeated subscripts add up:
  // a diagonal; broadcast ellipsis dims of extent 1 get stride 0).
  std::vector<std::vector<int64_t>> strides(ctx.numInputs(), std::vector<int64_t>(loop.size(), 0));
  for (size_t i = 0; i < ctx.numInputs(); ++i) {
    std::vector<int64_t> cs = contiguousStrides(ctx.input(i).shape());
    for (size_t d = 0; d < labels[i].size(); ++d) {
      if (ctx.input(i).dim(d) == 1 && extent.at(labels[i][d]) != 1) continue;
      size_t at = size_t(std::find(loop.begin(), loop.end(), labels[i][d]) - loop.begin());
      strides[i][at] += cs[d];
    }
  }
  std::vector<int64_t> outShape;
  for (int l : outLabels) outShape.push_back(extent.at(l));
  Tensor out(ctx.input(0).dtype(), outShape);
  int64_t outCount = out.numel();
  int64_t sumCount = 1;
  for (size_t k = outLabels.size(); k < loop.size(); ++k) sumCount *= loopExtents[k];
  dispatchDType(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      ctx.fail("Einsum does not support bool tensors");
    } else {
      using Acc = AccumulatorType<T>;
      std::vector<const T*> data;
      for (size_t i = 0; i < ctx.numInputs(); ++i) data.push_back(ctx.input(i).data<T>().data());
      auto po = out.data<T>();
      std::vector<int64_t> idx(loop.size(), 0), offsets(ctx.numInputs(), 0);
      // One odometer over the whole loop nest; the output element changes
      // every sumCount steps because the summed labels vary fastest.
      for (int64_t o = 0; o < outCount; ++o) {
        Acc acc{};
        for (int64_t s = 0; s < sumCount; ++s) {
          Acc prod = Acc(1);
          for (size_t i = 0; i < data.size(); ++i) prod *= Acc(toCompute(data[i][offsets[i]]));
          acc += prod;
          for (size_t d = loop.size(); d-- > 0;) {
            for (size_t i = 0; i < data.size(); ++i) offsets[i] += strides[i][d];
            if (++idx[d] < loopExtents[d]) break;
            for (size_t i = 0; i < data.size(); ++i) offsets[i] -= strides[i][d] * loopExtents[d];
            idx[d] = 0;
          }
        }
        po[o] = fromAccumulator<T>(acc);
      }
    }
  });
  ctx.setOutput(0, std::move(out));
}

}  // namespace

const OpDef kEinsumDef{
    .name = "Einsum", .minInputs = 1, .maxInputs = kVariadic,
    .attrs = {{"equation", AttrKind::String, std::nullopt}},
    .infer = inferEinsum,
    .eval = evalEinsum,
};

}  // namespace dlc::ir
