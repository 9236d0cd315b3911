// The launch description stored next to a CUDA GEMM code object round-trips
// and rejects malformed text with the field named.
#include "ktune/drivers/cuda/GemmLaunch.h"

#include <catch2/catch.hpp>

using namespace kt;

TEST_CASE("a GEMM launch description round-trips through its text") {
  cuda::GemmLaunchSpec s;
  s.threads = 384;
  s.sharedBytes = 197696;
  s.tileM = 128;
  s.tileN = 256;
  s.boxARows = 128;
  s.boxACols = 64;
  s.boxBRows = 64;
  s.boxBCols = 64;
  auto back = cuda::parseGemmLaunchSpec(s.toString());
  REQUIRE(back.isOk());
  REQUIRE(back->toString() == s.toString());
  REQUIRE(back->persistent);
  s.persistent = false;
  REQUIRE_FALSE(cuda::parseGemmLaunchSpec(s.toString())->persistent);
  s.split = 4;
  s.semaphoresPerTile = 2;
  REQUIRE_THAT(s.toString(), Catch::EndsWith(";split=4;sems=2"));
  auto split = cuda::parseGemmLaunchSpec(s.toString());
  REQUIRE(split.isOk());
  REQUIRE(split->split == 4);
  REQUIRE(split->semaphoresPerTile == 2);
}

TEST_CASE("a pointer-kernel launch description needs no TMA boxes") {
  cuda::GemmLaunchSpec s;
  s.threads = 256;
  s.tileM = s.tileN = 128;
  s.persistent = false;
  s.pointers = true;
  REQUIRE(s.toString() ==
          "threads=256;smem=0;tile=128x128;grid=tiles;args=pointers");
  auto back = cuda::parseGemmLaunchSpec(s.toString());
  REQUIRE(back.isOk());
  REQUIRE(back->pointers);
  GemmProblem p;
  p.m = 1000;
  p.n = 300;
  p.k = 64;
  REQUIRE(cuda::gemmGridSize(*back, p, 132) == 8 * 3);
  REQUIRE_FALSE(
      cuda::parseGemmLaunchSpec("threads=256;smem=0;tile=128x128;grid=tiles")
          .isOk());
}

TEST_CASE("a malformed GEMM launch description names the bad field") {
  auto bad = [](const char *text) {
    auto r = cuda::parseGemmLaunchSpec(text);
    REQUIRE_FALSE(r.isOk());
    return r.status().message();
  };
  REQUIRE_THAT(bad("threads=384;smem=1;tile=128;box_a=1x1;box_b=1x1;grid="
                   "persistent"),
               Catch::Contains("tile=128"));
  REQUIRE_THAT(bad("threads=-1;smem=1;tile=1x1;box_a=1x1;box_b=1x1;grid="
                   "tiles"),
               Catch::Contains("threads=-1"));
  REQUIRE_THAT(bad("threads=1;smem=1;tile=1x1;box_a=1x1;grid=tiles"),
               Catch::Contains("lacks"));
  REQUIRE_THAT(bad("threads=1;smem=1;tile=1x1;box_a=1x1;box_b=1x1;grid=x"),
               Catch::Contains("grid=x"));
  REQUIRE_THAT(bad("threads=1;smem=1;tile=1x1;box_a=1x1;box_b=1x1;grid="
                   "tiles;colour=red"),
               Catch::Contains("colour"));
}
