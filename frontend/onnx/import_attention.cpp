// Import handlers for the transformer ops of opsets 23-24, lowered to IR
// compositions at import:
//  - Attention (23, 24): MatMul(Q*s, (K*s)^T) with s = sqrt(scale) -> softcap
//    -> + bias -> Softmax -> MatMul(., V), the pattern passes/fusion.cpp fuses into one attention
//    kernel, with the head reshapes, the KV-cache Concat and the GQA head
//    repeat around it;
//  - RotaryEmbedding (23): Gather/Slice/Mul/Sub/Add/Concat, as the op's ONNX
//    function body does.
// Both follow onnx's reference implementation (onnx/reference/ops) where the
// spec leaves a choice, and its function body where the two differ (noted).
#include <cmath>
#include <limits>

#include "frontend/onnx/composer.h"
#include "frontend/onnx/node_importer.h"
#include "frontend/onnx/tensor_proto.h"
#include "ir/ops/elementwise.h"
#include "ir/ops/op_util.h"

namespace dlc::frontend::onnx {

using namespace ir;

namespace {

int64_t intAttr(const NodeImporter& ni, const std::string& name, int64_t fallback) {
  const int64_t* v = ni.attrAs<int64_t>(name);
  return v ? *v : fallback;
}

size_t rankOf(const NodeImporter& ni, const Value* v, const char* what) {
  if (!v->type().shape) ni.unsupported("{} has an unknown rank", what);
  return v->type().shape->rank();
}

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// ---- Attention ----

struct AttentionInputs {
  Value *q, *k, *v;         // (batch, heads, seq, head_size), after the 3-D reshape
  int64_t qHeads, kvHeads;  // from the attributes (3-D) or Q/K dim 1 (4-D)
  bool threeD;
};

// 3-D (batch, seq, heads * head_size) -> 4-D (batch, heads, seq, head_size).
Value* splitHeads(Composer& c, Value* x, int64_t heads) {
  return c.transpose(c.reshape(x, c.ints({0, 0, heads, -1})), {0, 2, 1, 3});
}

AttentionInputs attentionInputs(NodeImporter& ni, Composer& c) {
  Value *q = ni.requiredInput(0, "Q"), *k = ni.requiredInput(1, "K"), *v = ni.requiredInput(2, "V");
  size_t rank = rankOf(ni, q, "Q");
  if (rankOf(ni, k, "K") != rank || rankOf(ni, v, "V") != rank)
    ni.fail("Q, K and V must have the same rank (3 or 4), found {}, {} and {}", q->type().str(), k->type().str(),
            v->type().str());
  if (rank != 3 && rank != 4) ni.fail("Q, K and V must be 3-D or 4-D, found rank {}", rank);
  if (!isFloat(q->dtype()) || k->dtype() != q->dtype())
    ni.fail("Q and K must have the same float dtype, found {} and {}", dtypeName(q->dtype()), dtypeName(k->dtype()));
  if (v->dtype() != q->dtype())
    ni.unsupported("V of dtype {} with Q of dtype {}: dlc computes attention in one dtype", dtypeName(v->dtype()),
                   dtypeName(q->dtype()));
  const int64_t* qAttr = ni.attrAs<int64_t>("q_num_heads");
  const int64_t* kvAttr = ni.attrAs<int64_t>("kv_num_heads");
  AttentionInputs in{q, k, v, 0, 0, rank == 3};
  if (in.threeD) {
    if (!qAttr || !kvAttr || *qAttr <= 0 || *kvAttr <= 0)
      ni.fail("3-D Q, K and V need positive attributes q_num_heads and kv_num_heads");
    in.qHeads = *qAttr;
    in.kvHeads = *kvAttr;
    auto divides = [&](Value* x, int64_t heads, const char* what) {
      if (auto hidden = Composer::staticDim(x, 2); hidden && *hidden % heads != 0)
        ni.fail("{}'s hidden size {} is not a multiple of its {} heads", what, *hidden, heads);
    };
    divides(q, in.qHeads, "Q");
    divides(k, in.kvHeads, "K");
    divides(v, in.kvHeads, "V");
    in.q = splitHeads(c, q, in.qHeads);
    in.k = splitHeads(c, k, in.kvHeads);
    in.v = splitHeads(c, v, in.kvHeads);
    return in;
  }
  auto qHeads = Composer::staticDim(q, 1), kHeads = Composer::staticDim(k, 1), vHeads = Composer::staticDim(v, 1);
  if (!qHeads || !kHeads || !vHeads) ni.unsupported("4-D Attention needs static head counts (dim 1 of Q, K and V)");
  if (*kHeads != *vHeads) ni.fail("K has {} heads but V has {}", *kHeads, *vHeads);
  if (qAttr && *qAttr != *qHeads) ni.fail("q_num_heads is {} but Q has {} heads", *qAttr, *qHeads);
  if (kvAttr && *kvAttr != *kHeads) ni.fail("kv_num_heads is {} but K has {} heads", *kvAttr, *kHeads);
  in.qHeads = *qHeads;
  in.kvHeads = *kHeads;
  return in;
}

// Group-query attention: each of the kvHeads heads serves qHeads / kvHeads
// consecutive query heads ([h0, h0, h1, h1, ...], numpy's repeat), made
// explicit so that the products see as many K and V heads as Q has.
Value* repeatHeads(Composer& c, Value* x, int64_t kvHeads, int64_t qHeads) {
  if (kvHeads == qHeads) return x;
  Value* expanded = c.op(OpKind::Expand, {c.unsqueeze(x, {2}), c.ints({1, 1, qHeads / kvHeads, 1, 1})});
  // (batch, kvHeads, reps, seq, size) -> (batch, qHeads, seq, size)
  Value* shape;
  auto seq = Composer::staticDim(x, 2), size = Composer::staticDim(x, 3);
  if (seq && size) {
    shape = c.ints({0, qHeads, *seq, *size});
  } else {
    Attributes tail;
    tail.set("start", int64_t(2));
    shape = c.concat({c.ints({0, qHeads}), c.op(OpKind::Shape, {x}, std::move(tail))}, 0);
  }
  return c.reshape(expanded, shape);
}

// The additive attention bias (0: attend, -inf: masked) from attn_mask,
// is_causal and nonpad_kv_seqlen, or nullptr when there is none.
Value* attentionBias(NodeImporter& ni, Composer& c, const AttentionInputs& in, Value* presentK, bool causal) {
  DType t = in.q->dtype();
  Value* mask = ni.input(3);
  Value* nonpad = ni.numInputs() > 6 ? ni.input(6) : nullptr;
  if (!mask && !causal && !nonpad) return nullptr;
  Value* zero = c.scalar(t, 0.0, "zero");
  Value* negInf = c.scalar(t, kNegInf, "neg_inf");
  Value* kvLen = c.dimScalar(presentK, 2);
  Value* bias = nullptr;
  auto add = [&](Value* term) { bias = bias ? c.op(OpKind::Add, {bias, term}) : term; };
  if (mask) {
    bool isBool = mask->dtype() == DType::Bool;
    if (!isBool && !isFloat(mask->dtype()))
      ni.unsupported("attn_mask of dtype {}: only bool and float masks have a meaning (the spec's two kinds)",
                     dtypeName(mask->dtype()));
    size_t rank = rankOf(ni, mask, "attn_mask");
    if (rank == 0) ni.fail("attn_mask must have at least one dim");
    // A mask shorter than the keys is padded with masked positions.
    auto maskLen = Composer::staticDim(mask, rank - 1), keys = Composer::staticDim(presentK, 2);
    if (maskLen && keys && *maskLen > *keys)
      ni.fail("attn_mask's last dim {} is longer than the {} keys", *maskLen, *keys);
    if (!maskLen || !keys || *maskLen < *keys) {
      Value* shortBy = c.op(OpKind::Max, {c.op(OpKind::Sub, {kvLen, c.dimScalar(mask, rank - 1)}), c.scalarI64(0)});
      std::vector<int64_t> zeros(2 * rank - 1, 0);
      Value* pads = c.concat({c.ints(zeros), c.unsqueeze(shortBy, {0})}, 0);
      Value* fill = isBool ? c.scalar(DType::Bool, 0.0, "masked") : c.scalar(mask->dtype(), kNegInf, "masked");
      Attributes a;
      a.set("mode", std::string("constant"));
      mask = c.op(OpKind::Pad, {mask, pads, fill}, std::move(a));
    }
    // Select, not multiply: (1 - mask) * -inf would be NaN where mask is 1.
    add(isBool ? c.op(OpKind::Where, {mask, zero, negInf}) : c.cast(mask, t));
  }
  Value* keyIndex = nullptr;  // 0 .. keys-1
  if (causal || nonpad) keyIndex = c.op(OpKind::Range, {c.scalarI64(0), kvLen, c.scalarI64(1)});
  Value* batchNonpad = nullptr;  // (batch, 1, 1, 1)
  if (nonpad) {
    if (nonpad->dtype() != DType::I64) ni.fail("nonpad_kv_seqlen must be i64, found {}", dtypeName(nonpad->dtype()));
    batchNonpad = c.reshape(nonpad, c.ints({-1, 1, 1, 1}));
  }
  if (causal) {
    // Bottom-right aligned: query i attends key j iff j <= i + offset, the
    // offset being the keys before this block of queries: the past's length
    // (internal cache), nonpad_kv_seqlen - q_len per batch (external cache),
    // or 0. A negative offset leaves leading rows fully masked.
    Value* queryIndex = c.unsqueeze(c.op(OpKind::Range, {c.scalarI64(0), c.dimScalar(in.q, 2), c.scalarI64(1)}), {1});
    Value* offset;
    if (Value* past = ni.input(4)) offset = c.dimScalar(past, 2);
    else if (batchNonpad) offset = c.op(OpKind::Sub, {batchNonpad, c.dimScalar(in.q, 2)});
    else offset = c.scalarI64(0);
    Value* allowed = c.op(OpKind::LessOrEqual, {keyIndex, c.op(OpKind::Add, {queryIndex, offset})});
    add(c.op(OpKind::Where, {allowed, zero, negInf}));
  }
  if (batchNonpad) add(c.op(OpKind::Where, {c.op(OpKind::Less, {keyIndex, batchNonpad}), zero, negInf}));
  return bias;
}

void importAttention(NodeImporter& ni) {
  ni.checkAttributes({"is_causal", "kv_num_heads", "q_num_heads", "qk_matmul_output_mode", "scale", "softcap",
                      "softmax_precision"});
  if (ni.opset() < 24 && ni.numInputs() > 6) ni.fail("Attention-23 takes at most 6 inputs (nonpad_kv_seqlen is new in 24)");
  Composer c(ni);
  AttentionInputs in = attentionInputs(ni, c);
  DType t = in.q->dtype();
  int64_t mode = intAttr(ni, "qk_matmul_output_mode", 0);
  if (mode < 0 || mode > 3) ni.fail("qk_matmul_output_mode must be 0, 1, 2 or 3, found {}", mode);
  int64_t isCausal = intAttr(ni, "is_causal", 0);
  if (isCausal != 0 && isCausal != 1) ni.fail("is_causal must be 0 or 1, found {}", isCausal);
  if (in.qHeads % in.kvHeads != 0)
    ni.fail("q_num_heads ({}) must be a multiple of kv_num_heads ({})", in.qHeads, in.kvHeads);
  auto qSize = Composer::staticDim(in.q, 3), kSize = Composer::staticDim(in.k, 3);
  if (qSize && kSize && *qSize != *kSize) ni.fail("Q's head size {} differs from K's {}", *qSize, *kSize);

  // The KV cache: present = Concat(past, new) along the sequence.
  Value *pastK = ni.input(4), *pastV = ni.input(5);
  Value* nonpad = ni.numInputs() > 6 ? ni.input(6) : nullptr;
  if (bool(pastK) != bool(pastV)) ni.fail("past_key and past_value must be given together");
  if (nonpad && pastK) ni.fail("nonpad_kv_seqlen cannot be combined with past_key and past_value");
  Value* presentK = in.k;
  Value* presentV = in.v;
  if (pastK) {
    if (rankOf(ni, pastK, "past_key") != 4 || rankOf(ni, pastV, "past_value") != 4)
      ni.fail("past_key and past_value must be 4-D, found {} and {}", pastK->type().str(), pastV->type().str());
    presentK = c.concat({pastK, in.k}, 2);
    presentV = c.concat({pastV, in.v}, 2);
  }

  // Q and K are each scaled by sqrt(scale) before the product, as the spec
  // and the reference do (against overflow in low precision).
  double scale;
  if (const double* s = ni.attrAs<double>("scale")) {
    scale = *s;
  } else {
    auto headSize = Composer::staticDim(in.q, 3);
    if (!headSize) ni.unsupported("Attention without a scale needs a static head size");
    scale = 1.0 / std::sqrt(double(*headSize));
  }
  Value* rootScale = c.scalar(t, std::sqrt(scale), "sqrt_scale");
  Value* keys = repeatHeads(c, c.op(OpKind::Mul, {presentK, rootScale}), in.kvHeads, in.qHeads);
  Value* values = repeatHeads(c, presentV, in.kvHeads, in.qHeads);
  Value* qk = c.op(OpKind::MatMul, {c.op(OpKind::Mul, {in.q, rootScale}), c.transpose(keys, {0, 1, 3, 2})});

  // Softcap before the bias, so that masked positions stay -inf.
  Value* capped = qk;
  const double* softcap = ni.attrAs<double>("softcap");
  if (softcap && *softcap > 0) {
    Value* cap = c.scalar(t, *softcap, "softcap");
    capped = c.op(OpKind::Mul, {c.op(OpKind::Tanh, {c.op(OpKind::Div, {qk, cap})}), cap});
  }
  Value* bias = attentionBias(ni, c, in, presentK, isCausal != 0);
  Value* scores = bias ? c.op(OpKind::Add, {capped, bias}) : capped;

  DType softmaxType = t;
  if (const int64_t* p = ni.attrAs<int64_t>("softmax_precision")) {
    softmaxType = dtypeFromOnnx(int(*p));
    if (!isFloat(softmaxType)) ni.fail("softmax_precision must be a float type, found {}", dtypeName(softmaxType));
  }
  Attributes lastAxis;
  lastAxis.set("axis", int64_t(-1));
  Value* probs = c.op(OpKind::Softmax, {c.cast(scores, softmaxType)}, std::move(lastAxis));

  // A query row whose bias masks every key has no key to attend: its output
  // row is 0 (not softmax's NaN). Decided on the bias, as the reference does;
  // only masks and nonpad_kv_seqlen can mask a whole row (a causal frontier
  // with offset >= 0 always admits key 0). The guard is applied to the
  // result rows rather than the probabilities, which keeps Softmax feeding
  // the second MatMul directly (the fusible pattern).
  Value* rowMasked = nullptr;
  if (ni.input(3) || nonpad) {
    Attributes keep;
    keep.set("keepdims", int64_t(1));
    Value* rowMax = c.op(OpKind::ReduceMax, {bias, c.ints({-1})}, std::move(keep));
    Attributes negativeOnly;
    negativeOnly.set("detect_positive", int64_t(0));
    rowMasked = c.op(OpKind::IsInf, {rowMax}, std::move(negativeOnly));
  }
  Value* qkOutput = nullptr;
  switch (mode) {
    case 0: qkOutput = qk; break;  // the function body's raw product (the reference returns it softcapped)
    case 1: qkOutput = capped; break;
    case 2: qkOutput = scores; break;
    case 3:
      if (rowMasked) probs = c.op(OpKind::Where, {rowMasked, c.scalar(softmaxType, 0.0, "zero"), probs});
      qkOutput = c.cast(probs, t);
      break;
  }
  Value* y = c.op(OpKind::MatMul, {c.cast(probs, t), values});
  if (rowMasked && mode != 3) y = c.op(OpKind::Where, {rowMasked, c.scalar(t, 0.0, "zero"), y});
  if (in.threeD) y = c.reshape(c.transpose(y, {0, 2, 1, 3}), c.ints({0, 0, -1}));
  ni.setOutputs({y, presentK, presentV, qkOutput});
}

// ---- RotaryEmbedding ----

void importRotaryEmbedding(NodeImporter& ni) {
  ni.checkAttributes({"interleaved", "num_heads", "rotary_embedding_dim"});
  Composer c(ni);
  Value *x = ni.requiredInput(0, "X"), *cosCache = ni.requiredInput(1, "cos_cache"),
        *sinCache = ni.requiredInput(2, "sin_cache");
  Value* positions = ni.input(3);
  if (!isFloat(x->dtype()) || cosCache->dtype() != x->dtype() || sinCache->dtype() != x->dtype())
    ni.fail("X, cos_cache and sin_cache must have the same float dtype, found {}, {} and {}", dtypeName(x->dtype()),
            dtypeName(cosCache->dtype()), dtypeName(sinCache->dtype()));
  size_t rank = rankOf(ni, x, "X");
  int64_t interleaved = intAttr(ni, "interleaved", 0);
  int64_t numHeads = intAttr(ni, "num_heads", 0);
  int64_t rotaryDim = intAttr(ni, "rotary_embedding_dim", 0);
  if (interleaved != 0 && interleaved != 1) ni.fail("interleaved must be 0 or 1, found {}", interleaved);
  if (rotaryDim < 0 || rotaryDim % 2 != 0) ni.fail("rotary_embedding_dim must be even and >= 0, found {}", rotaryDim);
  // (batch, seq, heads, head_size), from (batch, heads, seq, head_size) or
  // (batch, seq, heads * head_size).
  Value* heads;
  if (rank == 4) {
    heads = c.transpose(x, {0, 2, 1, 3});
  } else if (rank == 3) {
    if (numHeads <= 0) ni.fail("3-D X needs a positive attribute num_heads");
    if (auto hidden = Composer::staticDim(x, 2); hidden && *hidden % numHeads != 0)
      ni.fail("X's hidden size {} is not a multiple of num_heads ({})", *hidden, numHeads);
    heads = c.reshape(x, c.ints({0, 0, numHeads, -1}));
  } else {
    ni.fail("X must be 3-D or 4-D, found {}", x->type().str());
  }
  auto headSize = Composer::staticDim(heads, 3);
  if (rotaryDim == 0) {
    if (!headSize) ni.unsupported("RotaryEmbedding without rotary_embedding_dim needs a static head size");
    rotaryDim = *headSize;
  }
  if (headSize && rotaryDim > *headSize)
    ni.fail("rotary_embedding_dim {} exceeds the head size {}", rotaryDim, *headSize);
  if (rotaryDim % 2 != 0) ni.fail("the head size {} is odd: it cannot be rotated as pairs", rotaryDim);

  // cos/sin per (batch, seq): cache[position_ids], or the 3-D caches as given.
  auto table = [&](Value* cache, const char* what) {
    Value* perPosition = cache;
    if (positions) {
      if (rankOf(ni, cache, what) != 2) ni.fail("{} must be 2-D with position_ids, found {}", what, cache->type().str());
      perPosition = c.op(OpKind::Gather, {cache, positions});
    } else if (rankOf(ni, cache, what) != 3) {
      ni.fail("{} must be 3-D without position_ids, found {}", what, cache->type().str());
    }
    if (auto last = Composer::staticDim(perPosition, 2); last && *last != rotaryDim / 2)
      ni.fail("{}'s last dim is {}, expected rotary_embedding_dim / 2 = {}", what, *last, rotaryDim / 2);
    return c.unsqueeze(perPosition, {2});  // broadcast over the heads
  };
  Value* cos = table(cosCache, "cos_cache");
  Value* sin = table(sinCache, "sin_cache");

  Value* rotated = c.slice(heads, 0, rotaryDim, 3);
  Value* x1 = interleaved ? c.slice(rotated, 0, rotaryDim, 3, 2) : c.slice(rotated, 0, rotaryDim / 2, 3);
  Value* x2 = interleaved ? c.slice(rotated, 1, rotaryDim, 3, 2) : c.slice(rotated, rotaryDim / 2, rotaryDim, 3);
  Value* real = c.op(OpKind::Sub, {c.op(OpKind::Mul, {cos, x1}), c.op(OpKind::Mul, {sin, x2})});
  Value* imag = c.op(OpKind::Add, {c.op(OpKind::Mul, {sin, x1}), c.op(OpKind::Mul, {cos, x2})});
  Value* out;
  if (interleaved) {
    // (real0, imag0, real1, imag1, ...): pairs stacked on a new last axis, then flattened.
    Value* pairs = c.concat({c.unsqueeze(real, {-1}), c.unsqueeze(imag, {-1})}, -1);
    out = c.reshape(pairs, c.ints({0, 0, 0, -1}));
  } else {
    out = c.concat({real, imag}, -1);
  }
  if (!headSize || rotaryDim < *headSize)
    out = c.concat({out, c.slice(heads, rotaryDim, std::numeric_limits<int64_t>::max(), 3)}, -1);
  ni.setOutputs({rank == 4 ? c.transpose(out, {0, 2, 1, 3}) : c.reshape(out, c.ints({0, 0, -1}))});
}

}  // namespace

void addAttentionImporters(ImporterTable& table) {
  table.add("Attention", 23, kMaxOpset, importAttention);
  table.add("RotaryEmbedding", 23, kMaxOpset, importRotaryEmbedding);
}

}  // namespace dlc::frontend::onnx
