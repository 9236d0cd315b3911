// The launch descriptions stored next to CUDA GEMM and attention code
// objects round-trip, size their grids and scratch, and reject malformed
// text with the field named.
#include "ktune/drivers/cuda/AttentionLaunch.h"
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

TEST_CASE("attention launch descriptions round-trip and size the grid") {
  cuda::AttentionLaunchSpec s;
  s.threads = 256;
  s.sharedBytes = 214092;
  s.rows = 64;
  s.kvRows = 128;
  s.split = 16;
  s.pack = 4;
  s.semaphoresPerTile = 1;
  auto back = cuda::parseAttentionLaunchSpec(s.toString());
  REQUIRE(back.isOk());
  REQUIRE(back->toString() == s.toString());
  REQUIRE(back->pack == 4);
  // Decode, GQA 4:1 packed: one 64-row tile per (batch, KV head), 16
  // splits; each split keeps d / 2 + 4 floats per consumer thread.
  auto p =
      parseAttentionProblem("attn_bf16_BSHD_b2_hq32_hkv8_sq1_skv65536_d128");
  REQUIRE(p.isOk());
  REQUIRE(cuda::attentionGridSize(s, *p) == 2 * 8 * 16);
  REQUIRE(cuda::attentionSemaphores(s, *p) == 2 * 8);
  REQUIRE(cuda::attentionWorkspaceBytes(s, *p) ==
          uint64_t(2 * 8 * 16) * 128 * (64 + 4) * 4);
  // Prefill without packing: tiles of 64 rows per query head.
  s.split = 1;
  s.pack = 1;
  auto prefill =
      parseAttentionProblem("attn_bf16_BHSD_b1_hq8_hkv8_sq1000_skv1000_d64");
  REQUIRE(cuda::attentionGridSize(s, *prefill) == 16 * 8);
  REQUIRE(cuda::attentionWorkspaceBytes(s, *prefill) == 0);
  auto bad = cuda::parseAttentionLaunchSpec("threads=256;smem=1;rows=64;kv=128;"
                                            "split=0;pack=1;sems=1");
  REQUIRE_THAT(bad.status().message(), Catch::Contains("split=0"));
}
