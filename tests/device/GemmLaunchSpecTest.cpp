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

TEST_CASE("a cluster GEMM launch description round-trips and sizes its "
          "grid in whole clusters") {
  cuda::GemmLaunchSpec s;
  s.threads = 384;
  s.sharedBytes = 197712;
  s.tileM = 128;
  s.tileN = 256;
  s.boxARows = 128;
  s.boxACols = 64;
  s.boxBRows = 128;
  s.boxBCols = 64;
  REQUIRE(s.clusterSize() == 1);
  REQUIRE_THAT(s.toString(), !Catch::Contains("cluster"));
  s.clusterM = 2;
  REQUIRE(s.toString() == "threads=384;smem=197712;tile=128x256;box_a=128x64;"
                          "box_b=128x64;grid=persistent;cluster=2x1");
  auto back = cuda::parseGemmLaunchSpec(s.toString());
  REQUIRE(back.isOk());
  REQUIRE(back->toString() == s.toString());
  REQUIRE(back->clusterM == 2);
  REQUIRE(back->clusterN == 1);
  REQUIRE(back->clusterSize() == 2);
  s.split = 2;
  s.semaphoresPerTile = 2;
  REQUIRE_THAT(s.toString(), Catch::EndsWith(";cluster=2x1;split=2;sems=2"));
  auto split = cuda::parseGemmLaunchSpec(s.toString());
  REQUIRE(split.isOk());
  REQUIRE(split->toString() == s.toString());
  // Descriptions from before clusters existed mean 1x1.
  auto old = cuda::parseGemmLaunchSpec("threads=384;smem=1;tile=128x256;"
                                       "box_a=128x64;box_b=256x64;grid="
                                       "persistent");
  REQUIRE(old.isOk());
  REQUIRE(old->clusterSize() == 1);

  auto problem = [](int64_t m, int64_t n) {
    GemmProblem p;
    p.m = m;
    p.n = n;
    p.k = 4096;
    return p;
  };
  // 32 x 16 tiles: 256 pairs of vertically adjacent tiles for 66 pairs of
  // SMs; an odd SM count leaves one SM out rather than half a cluster.
  REQUIRE(cuda::gemmGridSize(*back, problem(4096, 4096), 132) == 132);
  REQUIRE(cuda::gemmGridSize(*back, problem(4096, 4096), 131) == 130);
  // 3 tile rows: 2 pairs per column (the second tile of the last pair lies
  // below M but its CTA still takes part), 2 columns.
  REQUIRE(cuda::gemmGridSize(*back, problem(300, 500), 132) == 2 * 2 * 2);
  REQUIRE(cuda::gemmGridSize(*back, problem(1, 100), 132) == 2);
  // Split-K multiplies the units, not the CTAs per unit.
  REQUIRE(cuda::gemmGridSize(*split, problem(300, 500), 132) == 2 * 2 * 2 * 2);
  // One CTA per tile, clusters included.
  back->persistent = false;
  REQUIRE(cuda::gemmGridSize(*back, problem(300, 500), 132) == 8);
  // Workspace and semaphores follow the real tiles.
  REQUIRE(cuda::gemmSemaphores(*split, problem(300, 500)) == 3 * 2 * 2);
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
  // Clusters hold at most 8 CTAs, each side at least 1.
  REQUIRE_THAT(bad("threads=1;smem=1;tile=1x1;box_a=1x1;box_b=1x1;grid="
                   "persistent;cluster=4x4"),
               Catch::Contains("cluster=4x4"));
  REQUIRE_THAT(bad("threads=1;smem=1;tile=1x1;box_a=1x1;box_b=1x1;grid="
                   "persistent;cluster=0x1"),
               Catch::Contains("cluster=0x1"));
  REQUIRE_THAT(bad("threads=1;smem=1;tile=1x1;box_a=1x1;box_b=1x1;grid="
                   "persistent;cluster=2"),
               Catch::Contains("cluster=2"));
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
  // splits; each semaphore (here one per tile) brings 64 rows x (d + 8)
  // floats per split.
  auto p =
      parseAttentionProblem("attn_bf16_BSHD_b2_hq32_hkv8_sq1_skv65536_d128");
  REQUIRE(p.isOk());
  REQUIRE(cuda::attentionGridSize(s, *p) == 2 * 8 * 16);
  REQUIRE(cuda::attentionSemaphores(s, *p) == 2 * 8);
  REQUIRE(cuda::attentionWorkspaceBytes(s, *p) ==
          uint64_t(2 * 8 * 16) * 64 * (128 + 8) * 4);
  // Prefill without packing: tiles of 64 rows per query head.
  s.split = 1;
  s.pack = 1;
  auto prefill =
      parseAttentionProblem("attn_bf16_BHSD_b1_hq8_hkv8_sq1000_skv1000_d64");
  REQUIRE(cuda::attentionGridSize(s, *prefill) == 16 * 8);
  REQUIRE(cuda::attentionWorkspaceBytes(s, *prefill) == 0);
  // Persistent: one CTA per work unit, or one per SM where there are more
  // units (none known: one per unit).
  s.persistent = true;
  REQUIRE_THAT(s.toString(), Catch::EndsWith(";grid=persistent"));
  auto persistent = cuda::parseAttentionLaunchSpec(s.toString());
  REQUIRE(persistent.isOk());
  REQUIRE(persistent->persistent);
  REQUIRE(persistent->toString() == s.toString());
  REQUIRE(cuda::attentionGridSize(s, *prefill, 100) == 100);
  REQUIRE(cuda::attentionGridSize(s, *prefill, 132) == 16 * 8);
  REQUIRE(cuda::attentionGridSize(s, *prefill) == 16 * 8);
  s.persistent = false;
  REQUIRE(cuda::attentionGridSize(s, *prefill, 100) == 16 * 8);
  auto bad = cuda::parseAttentionLaunchSpec("threads=256;smem=1;rows=64;kv=128;"
                                            "split=0;pack=1;sems=1");
  REQUIRE_THAT(bad.status().message(), Catch::Contains("split=0"));
  auto grid = cuda::parseAttentionLaunchSpec(
      "threads=256;smem=1;rows=64;kv=64;split=1;pack=1;sems=1;grid=wide");
  REQUIRE_THAT(grid.status().message(), Catch::Contains("grid=wide"));
}

TEST_CASE("attention launches refuse operands the kernel cannot use") {
  cuda::AttentionLaunchSpec s;
  s.threads = 256;
  s.sharedBytes = 83012;
  s.rows = 64;
  s.kvRows = 64;
  s.split = 16;
  s.pack = 4;
  s.semaphoresPerTile = 1;
  auto p =
      parseAttentionProblem("attn_bf16_BSHD_b1_hq32_hkv8_sq1_skv8192_d128");
  REQUIRE(p.isOk());
  cuda::AttentionOperands ops;
  ops.q = 0x10000;
  ops.k = 0x20000;
  ops.v = 0x30000;
  ops.o = 0x40000;
  auto check = [&] { return cuda::checkAttentionOperands(s, *p, ops, true); };
  // A split kernel without scratch is told how much to pass.
  REQUIRE_THAT(
      check().message(),
      Catch::Contains("needs a workspace of " +
                      std::to_string(cuda::attentionWorkspaceBytes(s, *p))));
  ops.workspace = 0x50008; // 8-byte aligned: the merge reads float4
  ops.semaphores = 0x90000;
  REQUIRE_THAT(check().message(), Catch::Contains("16-byte aligned"));
  ops.workspace = 0x50010;
  REQUIRE(check().isOk());
  ops.o = 0x40004;
  REQUIRE_THAT(check().message(),
               Catch::Contains("Q, K, V and O must be non-null and 16-byte"));
  ops.o = 0x40000;
  // The packed group must match the problem's.
  auto mha =
      parseAttentionProblem("attn_bf16_BSHD_b1_hq32_hkv32_sq1_skv8192_d128");
  REQUIRE_THAT(cuda::checkAttentionOperands(s, *mha, ops, true).message(),
               Catch::Contains("packs 4 query heads"));
}
