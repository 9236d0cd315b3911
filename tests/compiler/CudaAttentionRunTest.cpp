// cuda.attention.sm90 (sm100) on a real sm_90a (sm_100a) GPU: sampled
// configurations (GQA packing and split-KV included) against a host
// reference; tests/support/GpuAttentionCheck.h has the cases and the check.
// Each case is skipped (and reported so) without a GPU of its arch.
#include "ktune/templates/attention/CudaAttentionSm100.h"
#include "ktune/templates/attention/CudaAttentionSm90.h"
#include "support/GpuAttentionCheck.h"
#include "support/GpuGemmCheck.h"

using namespace kt;

TEST_CASE("sm90 attention kernels match a host reference on the GPU") {
  auto gpu = test::gpuOfArch("sm_90a");
  if (!gpu) {
    return;
  }
  auto compiler = CudaCompiler::create(*parseTarget("cuda:sm_90a"), "");
  INFO(compiler.status().toString());
  REQUIRE(compiler.isOk());
  auto cfg = [](int64_t kv, int64_t cons, int64_t stages, int64_t split,
                int64_t pack, int64_t overlap = 0, int64_t pingpong = 0) {
    return Config{{"kv", kv},
                  {"cons", cons},
                  {"stages", stages},
                  {"split", split},
                  {"pack", pack},
                  {"overlap", overlap},
                  {"pingpong", pingpong}};
  };
  const std::vector<Config> configs = {
      cfg(128, 2, 2, 1, 0), cfg(64, 3, 2, 1, 0), cfg(192, 1, 2, 1, 0),
      cfg(64, 1, 4, 1, 0), cfg(128, 1, 3, 4, 1), cfg(64, 1, 3, 8, 1),
      cfg(128, 1, 2, 2, 0), cfg(64, 2, 4, 1, 1),
      // overlap=1: two score accumulators (kv 64); the cases' odd and even
      // block counts take both of its tails, split 16 over 1000 keys leaves
      // each split one block.
      cfg(64, 2, 2, 1, 0, 1), cfg(64, 1, 3, 1, 1, 1), cfg(64, 1, 2, 16, 1, 1),
      // overlap=2 (split 32 over 3000 keys: splits of one block and of
      // none), and consumers taking turns (two and three).
      cfg(128, 2, 2, 1, 0, 2), cfg(192, 1, 3, 1, 0, 2), cfg(64, 1, 2, 32, 1, 2),
      cfg(128, 2, 2, 1, 0, 2, 1), cfg(64, 3, 3, 1, 0, 2, 1),
      cfg(64, 2, 2, 2, 1, 2, 1)};
  test::runAttentionOnGpu(CudaAttentionSm90(), *compiler, *gpu, configs);
}

TEST_CASE("sm100 attention kernels match a host reference on the GPU") {
  auto gpu = test::gpuOfArch("sm_100a");
  if (!gpu) {
    return;
  }
  auto compiler = CudaCompiler::create(*parseTarget("cuda:sm_100a"), "");
  INFO(compiler.status().toString());
  REQUIRE(compiler.isOk());
  auto cfg = [](int64_t kv, int64_t stages, int64_t split, int64_t pack,
                int64_t lazy = 1) {
    return Config{{"kv", kv},
                  {"stages", stages},
                  {"split", split},
                  {"pack", pack},
                  {"lazy", lazy}};
  };
  const std::vector<Config> configs = {cfg(128, 3, 1, 0, 0), cfg(64, 2, 1, 0),
                                       cfg(128, 2, 4, 1), cfg(64, 3, 8, 1),
                                       cfg(64, 2, 2, 0)};
  test::runAttentionOnGpu(CudaAttentionSm100(), *compiler, *gpu, configs);
}
