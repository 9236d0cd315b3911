// kt.h attention on a CUDA device: a results file holding cuda.attention.sm90
// cubins (compiled here with NVRTC, as the tuner stores them, launch
// description included) is opened on "cuda:0"; kt_attention_lookup finds
// them, and they run through kt_attention_launch_cuda and through the raw
// launch information, a split-KV decode kernel with its workspace. O is
// checked against a host reference. Skipped without an sm_90 GPU.
#include "kt/kt.h"
#include "ktune/cache/ResultsStore.h"
#include "ktune/compiler/CudaCompiler.h"
#include "ktune/drivers/cuda/CudaContext.h"
#include "ktune/templates/attention/CudaAttentionSm90.h"
#include "support/DeviceAttentionRun.h"
#include "support/GpuGemmCheck.h"
#include "support/HalfFloat.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fmt/format.h>
#include <optional>
#include <random>

#include <unistd.h>

using namespace kt;

namespace {

void storeWinner(ResultsStore &store, const CudaCompiler &compiler,
                 const cuda::DeviceInfo &gpu, const AttentionProblem &p,
                 const Config &config) {
  CudaAttentionSm90 t;
  const TargetDesc target = compiler.target();
  auto src = t.instantiate(config, p, target);
  INFO(src.status().toString());
  REQUIRE(src.isOk());
  auto bin = compiler.compile(*src, config.toString() + p.key());
  INFO(bin.status().toString());
  REQUIRE(bin.isOk());
  REQUIRE(store.putBinary(bin->hash, target.toString(), bin->cubin).isOk());
  TuningRecord r;
  r.problemKey = p.key();
  r.op = "attention";
  r.target = target.toString();
  r.templateName = t.name();
  r.templateHash = t.sourceHash();
  r.params = config.toString();
  r.timeMs = 0.1;
  r.deviceModel = gpu.name;
  r.deviceFeatures = fmt::format("sms={}", gpu.smCount);
  r.binaryHash = bin->hash;
  r.launch = src->launch;
  REQUIRE(store.put(r).isOk());
}

void runAndCheck(kt_context *ctx, const kt_kernel *kernel,
                 const cuda::Context &cu, const AttentionProblem &p, bool raw) {
  auto launch = [&](void *q, void *k, void *v, void *o, float scale,
                    void *ws) -> kt_status {
    if (!raw) {
      return kt_attention_launch_cuda(ctx, kernel, nullptr, q, k, v, o, scale,
                                      ws);
    }
    kt_cuda_launch launch;
    launch.struct_size = sizeof(launch);
    if (kt_status st = kt_attention_get_cuda_launch(ctx, kernel, q, k, v, o,
                                                    scale, ws, &launch);
        st != KT_OK) {
      return st;
    }
    cuda::LaunchConfig cfg;
    for (int i = 0; i < 3; ++i) {
      cfg.grid[i] = launch.grid[i];
      cfg.block[i] = launch.block[i];
      cfg.cluster[i] = launch.cluster[i];
    }
    cfg.sharedBytes = launch.shared_bytes;
    std::vector<void *> params(launch.params,
                               launch.params + launch.num_params);
    return cu.launch(launch.function, cfg, params).isOk() ? KT_OK
                                                          : KT_UNAVAILABLE;
  };
  CHECK(test::attentionMismatches(cu, kernel, p, launch) == 0);
}

} // namespace

TEST_CASE("kt.h finds and launches tuned sm_90a attention kernels",
          "[lookup][cuda]") {
  auto gpu = test::gpuOfArch("sm_90a");
  if (!gpu) {
    return;
  }
  auto compiler = CudaCompiler::create(*parseTarget("cuda:sm_90a"), "");
  REQUIRE(compiler.isOk());
  auto dir = std::filesystem::temp_directory_path() /
             fmt::format("ktune-cuda-attn-lookup-{}", ::getpid());
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "results.db").string();

  auto prefill = parseAttentionProblem(
      "attn_bf16_BSHD_b2_hq8_hkv2_sq300_skv300_d128_causal");
  auto decode =
      parseAttentionProblem("attn_bf16_BHSD_b1_hq16_hkv2_sq1_skv2000_d64");
  REQUIRE((prefill.isOk() && decode.isOk()));
  {
    auto store = openSqliteStore(db);
    REQUIRE(store.isOk());
    storeWinner(
        **store, *compiler, *gpu, *prefill,
        {{"kv", 128}, {"cons", 2}, {"stages", 2}, {"split", 1}, {"pack", 0}});
    storeWinner(
        **store, *compiler, *gpu, *decode,
        {{"kv", 128}, {"cons", 1}, {"stages", 3}, {"split", 4}, {"pack", 1}});
  }
  auto cu = cuda::Context::open(gpu->ordinal);
  REQUIRE(cu.isOk());
  kt_context_options opts;
  kt_context_options_init(&opts);
  opts.results_path = db.c_str();
  opts.device = "cuda:0";
  opts.record_misses = 0;
  kt_context *ctx = nullptr;
  INFO(kt_context_last_error(nullptr));
  REQUIRE(kt_context_create(&opts, &ctx) == KT_OK);
  for (const AttentionProblem *p : {&*prefill, &*decode}) {
    INFO(p->key());
    kt_attention_desc d = test::attentionDesc(*p);
    kt_kernel *kernel = nullptr;
    REQUIRE(kt_attention_lookup(ctx, &d, &kernel) == KT_OK);
    runAndCheck(ctx, kernel, **cu, *p, /*raw=*/false);
    runAndCheck(ctx, kernel, **cu, *p, /*raw=*/true);
    // The wrong launch function is refused, not a crash.
    CHECK(kt_gemm_launch_cuda(ctx, kernel, nullptr, &d, &d, &d, 1, 0,
                              nullptr) == KT_INVALID_ARGUMENT);
  }
  kt_context_destroy(ctx);
  std::filesystem::remove_all(dir);
}
