// cuda.attention.mlir on a real sm_90a GPU against the host reference
// (tests/support/GpuAttentionCheck.h). Skipped (and reported so) without one.
#include "ktune/templates/attention/CudaAttentionMlir.h"
#include "support/GpuAttentionCheck.h"
#include "support/GpuGemmCheck.h"
#include "support/MlirCudaCompiler.h"

using namespace kt;

TEST_CASE("MLIR attention kernels match a host reference on the GPU") {
  auto gpu = test::gpuOfArch("sm_90a");
  if (!gpu) {
    return;
  }
  auto compiler = test::mlirCompiler("cuda:sm_90a");
  REQUIRE(compiler.has_value());
  // Prefill tiles, GQA-packed rows (prefill and decode), split-KV merges
  // (with causal splits that see no key), eager and lazy rescaling,
  // synchronous, register-prefetched and cp.async K / V staging, element
  // and ldmatrix fragment reads;
  // configurations a case does not admit (pack without GQA, more splits
  // than KV blocks) are skipped for it.
  test::runAttentionOnGpu(
      CudaAttentionMlir(), *compiler, *gpu,
      {{{"warps", 4}, {"kv", 64}},
       {{"warps", 2}, {"kv", 32}},
       {{"warps", 1}, {"kv", 16}},
       {{"warps", 4}, {"kv", 32}, {"split", 1}, {"pack", 1}},
       {{"warps", 1}, {"kv", 32}, {"split", 8}, {"pack", 1}},
       {{"warps", 2}, {"kv", 64}, {"split", 4}, {"pack", 0}},
       {{"warps", 1}, {"kv", 16}, {"split", 32}, {"pack", 0}},
       // Lazy rescaling: a prefill tile and a packed split decode.
       {{"warps", 4}, {"kv", 64}, {"lazy", 1}},
       {{"warps", 1}, {"kv", 32}, {"split", 8}, {"pack", 1}, {"lazy", 1}},
       // The next block prefetched into registers: prefill tiles (one
       // lazy), a packed split decode, and causal splits that see no key
       // (no block to prefetch).
       {{"warps", 4}, {"kv", 64}, {"stages", 2}},
       {{"warps", 2}, {"kv", 32}, {"lazy", 1}, {"stages", 2}},
       {{"warps", 1}, {"kv", 32}, {"split", 8}, {"pack", 1}, {"stages", 2}},
       {{"warps", 1}, {"kv", 16}, {"split", 32}, {"stages", 2}},
       // ldmatrix fragment reads: prefill tiles (one lazy and
       // prefetching), a packed split decode, one warp's 16 keys.
       {{"warps", 4}, {"kv", 64}, {"ldsm", 1}},
       {{"warps", 2}, {"kv", 32}, {"lazy", 1}, {"stages", 2}, {"ldsm", 1}},
       {{"warps", 1}, {"kv", 32}, {"split", 8}, {"pack", 1}, {"ldsm", 1}},
       {{"warps", 1}, {"kv", 16}, {"split", 32}, {"ldsm", 1}},
       // The next block copied with cp.async: a prefill tile, a lazy one
       // with ldmatrix, a packed split decode, causal splits that see no
       // key.
       {{"warps", 4}, {"kv", 32}, {"stages", 2}, {"async", 1}},
       {{"warps", 2},
        {"kv", 32},
        {"lazy", 1},
        {"stages", 2},
        {"ldsm", 1},
        {"async", 1}},
       {{"warps", 1},
        {"kv", 32},
        {"split", 8},
        {"pack", 1},
        {"stages", 2},
        {"async", 1}},
       {{"warps", 1}, {"kv", 16}, {"split", 32}, {"stages", 2}, {"async", 1}}});
}
