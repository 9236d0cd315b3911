// Tests for the lookup library's parts: the problem index and the fallback
// policy's nearest-shape choice.
#include "Fallback.h"
#include "ProblemIndex.h"

#include <catch2/catch.hpp>

#include <random>
#include <set>
#include <vector>

using namespace kt;
using namespace kt::lookup;

namespace {

GemmProblem problem(int64_t m, int64_t n, int64_t k, DType dt = DType::F32,
                    bool ta = false, bool tb = false) {
  GemmProblem p;
  p.dtype = dt;
  p.transA = ta;
  p.transB = tb;
  p.m = m;
  p.n = n;
  p.k = k;
  p.setDefaultLeadingDims();
  return p;
}

} // namespace

TEST_CASE("the problem index finds every member and nothing else", "[lookup]") {
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<int64_t> size(1, 20000);
  std::vector<GemmProblem> members;
  std::set<std::string> keys;
  while (members.size() < 50000) {
    GemmProblem p =
        problem(size(rng), size(rng), size(rng),
                rng() % 2 ? DType::BF16 : DType::F32, rng() % 2, rng() % 2);
    if (keys.insert(p.key()).second) {
      members.push_back(p);
    }
  }
  members.push_back(members.front()); // A duplicate keeps the first entry.
  ProblemIndex index(members);
  CHECK(index.size() == 50000);
  for (size_t i = 0; i < 50000; ++i) {
    const ProblemIndex::Slot *slot = index.find(members[i]);
    REQUIRE(slot != nullptr);
    REQUIRE(slot->entry == int64_t(i));
  }
  int strays = 0;
  for (int i = 0; i < 50000; ++i) {
    GemmProblem p = problem(size(rng), size(rng), size(rng));
    if (!keys.count(p.key()) && index.find(p) != nullptr) {
      ++strays;
    }
    GemmProblem q = members[i];
    q.ldc += 1; // Same shape, another pitch: another problem.
    if (!keys.count(q.key()) && index.find(q) != nullptr) {
      ++strays;
    }
  }
  CHECK(strays == 0);
  CHECK(ProblemIndex({}).find(problem(1, 1, 1)) == nullptr);
}

TEST_CASE("the fallback is the nearest legal shape of the same kind",
          "[lookup]") {
  std::vector<FallbackCandidate> tuned = {
      {0, problem(4096, 4096, 4096, DType::BF16, false, true)},
      {1, problem(16, 4096, 4096, DType::BF16, false, true)},
      {2, problem(128, 4096, 4096, DType::BF16, false, true)},
      {3, problem(16, 4096, 4096, DType::BF16, false, false)},
      {4, problem(16, 4096, 4096, DType::F16, false, true)},
  };
  auto all = [](int64_t) { return true; };
  // Decode-sized M finds the decode-tuned kernel of its layout and dtype.
  CHECK(nearestTunedShape(problem(8, 4096, 4096, DType::BF16, false, true),
                          tuned, all) == 1);
  CHECK(nearestTunedShape(problem(100, 4096, 4096, DType::BF16, false, true),
                          tuned, all) == 2);
  CHECK(nearestTunedShape(problem(3000, 3000, 4096, DType::BF16, false, true),
                          tuned, all) == 0);
  CHECK(nearestTunedShape(problem(8, 4096, 4096, DType::BF16, false, false),
                          tuned, all) == 3);
  CHECK(nearestTunedShape(problem(8, 4096, 4096, DType::F16, false, true),
                          tuned, all) == 4);
  // Nothing of the kind, or nothing legal: no fallback.
  CHECK(nearestTunedShape(problem(8, 4096, 4096, DType::F32), tuned, all) ==
        -1);
  CHECK(nearestTunedShape(problem(8, 4096, 4096, DType::BF16, false, true),
                          tuned, [](int64_t e) { return e != 1; }) == 2);
  CHECK(shapeDistance(problem(2, 4, 8), problem(4, 2, 8)) == 2.0);
}
