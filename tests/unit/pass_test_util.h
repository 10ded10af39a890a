// Golden IR tests of passes: IR text in -> passes -> IR text out.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/interpreter.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/pass.h"

namespace dlc::testing {

// Runs the named passes in order on `before` (verifying after each) and
// checks the printed result, and whether the first pass reported a change.
inline void expectPasses(const std::vector<std::string>& names, const std::string& before, const std::string& after,
                         bool changes = true, const passes::PassContext& ctx = {}) {
  ir::Graph g = ir::parseGraph(before);
  ASSERT_TRUE(ir::verify(g).empty()) << fmt::format("{}", fmt::join(ir::verify(g), "\n"));
  for (size_t i = 0; i < names.size(); ++i) {
    const passes::PassInfo* info = passes::findPass(names[i]);
    ASSERT_NE(info, nullptr) << names[i];
    bool changed = info->run(g, ctx);
    if (i == 0) {
      EXPECT_EQ(changed, changes) << names[i];
    }
    auto problems = ir::verify(g);
    EXPECT_TRUE(problems.empty()) << names[i] << ": " << fmt::format("{}", fmt::join(problems, "\n"));
  }
  EXPECT_EQ(ir::printGraph(g), after);
}

// Runs `names` on a copy of the graph in `text` and checks that the
// interpreter's outputs before and after agree within `tol` on `inputs`.
inline void expectSameResults(const std::vector<std::string>& names, const std::string& text,
                              const ir::NamedTensors& inputs, double tol = 1e-5, const passes::PassContext& ctx = {}) {
  ir::Graph before = ir::parseGraph(text);
  ir::Graph after = ir::parseGraph(text);
  for (const auto& n : names) passes::findPass(n)->run(after, ctx);
  ASSERT_TRUE(ir::verify(after).empty());
  auto want = ir::interpret(before, inputs);
  auto got = ir::interpret(after, inputs);
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(want[i].shape(), got[i].shape());
    for (int64_t k = 0; k < want[i].numel(); ++k) {
      if (std::isnan(want[i].getDouble(k))) {
        EXPECT_TRUE(std::isnan(got[i].getDouble(k))) << "output " << i << " element " << k;
        continue;
      }
      EXPECT_NEAR(want[i].getDouble(k), got[i].getDouble(k), tol * (1 + std::abs(want[i].getDouble(k))))
          << "output " << i << " element " << k;
    }
  }
}

}  // namespace dlc::testing
