// NonMaxSuppression: per batch and class, greedily keeps the highest-scoring
// boxes whose IoU with every kept box is at most iou_threshold; outputs
// [selected, 3] i64 rows of (batch, class, box).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "ir/ops/index_util.h"

namespace dlc::ir {
using namespace ops;

namespace {

struct Box {
  double xMin, yMin, xMax, yMax;
};

// Boxes are [y1, x1, y2, x2] (either corner order) or, with
// center_point_box, [x_center, y_center, width, height].
Box readBox(const Tensor& boxes, int64_t offset, bool centerPoint) {
  double a = boxes.getDouble(offset), b = boxes.getDouble(offset + 1);
  double c = boxes.getDouble(offset + 2), d = boxes.getDouble(offset + 3);
  if (centerPoint) return {a - c / 2, b - d / 2, a + c / 2, b + d / 2};
  return {std::min(b, d), std::min(a, c), std::max(b, d), std::max(a, c)};
}

bool overlapsTooMuch(const Box& p, const Box& q, double iouThreshold) {
  double ix = std::min(p.xMax, q.xMax) - std::max(p.xMin, q.xMin);
  double iy = std::min(p.yMax, q.yMax) - std::max(p.yMin, q.yMin);
  if (ix <= 0 || iy <= 0) return false;
  double inter = ix * iy;
  double areaP = (p.xMax - p.xMin) * (p.yMax - p.yMin);
  double areaQ = (q.xMax - q.xMin) * (q.yMax - q.yMin);
  double uni = areaP + areaQ - inter;
  if (areaP <= 0 || areaQ <= 0 || uni <= 0) return false;
  return inter / uni > iouThreshold;
}

// A scalar optional input, if present and non-empty.
std::optional<double> optionalScalar(const EvalContext& ctx, size_t i) {
  if (!ctx.hasInput(i) || ctx.input(i).numel() == 0) return std::nullopt;
  return ctx.input(i).getDouble(0);
}

}  // namespace

const OpDef kNonMaxSuppressionDef{
    .name = "NonMaxSuppression", .minInputs = 2, .maxInputs = 5,
    .attrs = {{"center_point_box", AttrKind::Int, int64_t(0)}},
    .infer = [](InferContext& ctx) {
      if (!isFloat(ctx.inputDType(0)) || !isFloat(ctx.inputDType(1)))
        ctx.fail("expected float boxes and scores, found {} and {}", dtypeName(ctx.inputDType(0)),
                 dtypeName(ctx.inputDType(1)));
      if (ctx.hasInput(2) && ctx.inputDType(2) != DType::I64)
        ctx.fail("expected i64 max_output_boxes_per_class, found {}", dtypeName(ctx.inputDType(2)));
      const Shape* boxes = rankedShape(ctx, 0);
      const Shape* scores = rankedShape(ctx, 1);
      if (boxes && (boxes->rank() != 3 || ((*boxes)[2].isStatic() && (*boxes)[2].value() != 4)))
        ctx.fail("expected boxes of shape [batch, boxes, 4], found {}", boxes->str());
      if (scores && scores->rank() != 3)
        ctx.fail("expected scores of shape [batch, classes, boxes], found {}", scores->str());
      ctx.setOutput(0, TensorType(DType::I64, Shape({Dim::unknown(), Dim(3)})));
    },
    .eval = [](EvalContext& ctx) {
      const Tensor& boxes = ctx.input(0);
      const Tensor& scores = ctx.input(1);
      if (boxes.rank() != 3 || boxes.dim(2) != 4 || scores.rank() != 3 ||
          scores.dim(0) != boxes.dim(0) || scores.dim(2) != boxes.dim(1))
        ctx.fail("expected boxes [B, N, 4] and scores [B, C, N], found [{}] and [{}]",
                 fmt::join(boxes.shape(), ","), fmt::join(scores.shape(), ","));
      double maxPerClass = std::max(optionalScalar(ctx, 2).value_or(0.0), 0.0);
      double iouThreshold = optionalScalar(ctx, 3).value_or(0.0);
      std::optional<double> scoreThreshold = optionalScalar(ctx, 4);
      bool centerPoint = ctx.node().attrInt("center_point_box") != 0;
      int64_t batches = boxes.dim(0), numBoxes = boxes.dim(1), classes = scores.dim(1);
      std::vector<int64_t> selected;
      for (int64_t b = 0; b < batches; ++b) {
        std::vector<Box> batchBoxes;
        for (int64_t i = 0; i < numBoxes; ++i)
          batchBoxes.push_back(readBox(boxes, (b * numBoxes + i) * 4, centerPoint));
        for (int64_t c = 0; c < classes; ++c) {
          int64_t scoreBase = (b * classes + c) * numBoxes;
          std::vector<int64_t> candidates;
          for (int64_t i = 0; i < numBoxes; ++i)
            if (!scoreThreshold || scores.getDouble(scoreBase + i) > *scoreThreshold)
              candidates.push_back(i);
          // Highest score first; equal scores keep the lower box index first.
          // NaN scores rank lowest so that the ordering stays strict and weak.
          auto key = [&](int64_t i) {
            double s = scores.getDouble(scoreBase + i);
            return std::isnan(s) ? -std::numeric_limits<double>::infinity() : s;
          };
          std::stable_sort(candidates.begin(), candidates.end(),
                           [&](int64_t p, int64_t q) { return key(p) > key(q); });
          std::vector<int64_t> kept;
          for (int64_t i : candidates) {
            if (double(kept.size()) >= maxPerClass) break;
            bool suppressed = std::any_of(kept.begin(), kept.end(), [&](int64_t k) {
              return overlapsTooMuch(batchBoxes[size_t(i)], batchBoxes[size_t(k)], iouThreshold);
            });
            if (suppressed) continue;
            kept.push_back(i);
            selected.insert(selected.end(), {b, c, i});
          }
        }
      }
      ctx.setOutput(0, Tensor::fromVector<int64_t>({int64_t(selected.size() / 3), 3}, selected));
    },
};

}  // namespace dlc::ir
