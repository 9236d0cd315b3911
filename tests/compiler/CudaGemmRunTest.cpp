// cuda.gemm.sm90 and cuda.gemm.sm100 on a real sm_90a / sm_100a GPU:
// sampled configurations (split-K and pairs of CTAs sharing B included)
// against a host reference; tests/support/GpuGemmCheck.h has the cases and
// the check, for a C of the inputs' type and an f32 C. Skipped (and
// reported so) without such a GPU.
#include "ktune/templates/gemm/CudaGemmSm100.h"
#include "ktune/templates/gemm/CudaGemmSm90.h"
#include "support/GpuGemmCheck.h"

using namespace kt;

TEST_CASE("sm90 GEMM kernels match a host reference on the GPU") {
  auto gpu = test::gpuOfArch("sm_90a");
  if (!gpu) {
    return;
  }
  auto compiler = CudaCompiler::create(*parseTarget("cuda:sm_90a"), "");
  INFO(compiler.status().toString());
  REQUIRE(compiler.isOk());
  std::vector<Config> configs = {
      {{"bm", 128}, {"bn", 256}, {"stages", 4}, {"cons", 2}, {"group", 8}},
      {{"bm", 256}, {"bn", 128}, {"stages", 3}, {"cons", 2}, {"group", 1}},
      {{"bm", 64}, {"bn", 192}, {"stages", 6}, {"cons", 1}, {"group", 8}},
      {{"bm", 128}, {"bn", 64}, {"stages", 2}, {"cons", 1}, {"group", 4}},
      // Split-K: the slices' partials meet in the workspace (K = 640 has
      // 10 blocks of 64: slices of 3, 3, 3 and 1).
      {{"bm", 64},
       {"bn", 128},
       {"stages", 4},
       {"cons", 1},
       {"group", 1},
       {"splitk", 4}},
      {{"bm", 128},
       {"bn", 128},
       {"stages", 4},
       {"cons", 2},
       {"group", 8},
       {"splitk", 2}},
      // Clusters of two CTAs on vertically adjacent tiles, B multicast:
      // the largest tile; bm = 64, whose odd tile-row counts (M = 130) and
      // single tile row (M = 1, 16) leave the second CTA of a pair below M;
      // halves of 96 rows (bn = 192) and of 32 K rows (N-major B); more
      // stages than K blocks (K = 24, 64); split-K slices shared by a pair.
      {{"bm", 128},
       {"bn", 256},
       {"stages", 4},
       {"cons", 2},
       {"group", 8},
       {"cluster", 2}},
      {{"bm", 64},
       {"bn", 192},
       {"stages", 6},
       {"cons", 1},
       {"group", 1},
       {"cluster", 2}},
      {{"bm", 128},
       {"bn", 64},
       {"stages", 8},
       {"cons", 1},
       {"group", 4},
       {"cluster", 2}},
      {{"bm", 64},
       {"bn", 128},
       {"stages", 4},
       {"cons", 1},
       {"group", 1},
       {"splitk", 4},
       {"cluster", 2}}};
  for (bool outF32 : {false, true}) {
    test::runFamilyOnGpu(CudaGemmSm90(), *compiler, *gpu, test::gpuGemmCases(),
                         configs, outF32);
  }
}

TEST_CASE("sm100 GEMM kernels match a host reference on the GPU") {
  auto gpu = test::gpuOfArch("sm_100a");
  if (!gpu) {
    return;
  }
  auto compiler = CudaCompiler::create(*parseTarget("cuda:sm_100a"), "");
  REQUIRE(compiler.isOk());
  std::vector<Config> configs = {
      {{"bn", 256}, {"stages", 4}, {"acc", 2}, {"group", 8}},
      {{"bn", 128}, {"stages", 6}, {"acc", 1}, {"group", 1}},
      {{"bn", 64}, {"stages", 8}, {"acc", 2}, {"group", 8}},
      {{"bn", 128}, {"stages", 6}, {"acc", 2}, {"group", 1}, {"splitk", 4}},
      // Clusters of two CTAs on vertically adjacent tiles, B multicast and
      // stages released by a multicast tcgen05.commit: the widest tile;
      // acc = 1; halves of 32 rows (bn = 64) with more stages than K blocks
      // (K = 24, 64); split-K slices shared by a pair. Single tile rows
      // (M = 1, 16, 72, 100) leave the second CTA of every pair below M.
      {{"bn", 256}, {"stages", 4}, {"acc", 2}, {"group", 8}, {"cluster", 2}},
      {{"bn", 128}, {"stages", 6}, {"acc", 1}, {"group", 1}, {"cluster", 2}},
      {{"bn", 64}, {"stages", 8}, {"acc", 2}, {"group", 8}, {"cluster", 2}},
      {{"bn", 128},
       {"stages", 6},
       {"acc", 2},
       {"group", 1},
       {"splitk", 4},
       {"cluster", 2}}};
  // Five tile rows of 128 (an odd count) and more tile pairs than a B200
  // has SM pairs: the second CTA of the last pair row is below M while its
  // other units are not, so it mixes both kinds of unit; K = 200 leaves
  // the second half of the last N-major B block wholly outside K.
  std::vector<test::GpuGemmCase> cases = test::gpuGemmCases();
  cases.push_back({"TN", 600, 4000, 200});
  for (bool outF32 : {false, true}) {
    test::runFamilyOnGpu(CudaGemmSm100(), *compiler, *gpu, cases, configs,
                         outF32);
  }
}
