// kt.h on a CUDA device: a results file holding sm_90a cubins (compiled here
// with NVRTC, as the tuner stores them, launch description included) is
// opened on "cuda:0"; lookups launch through kt_gemm_launch_cuda and through
// the raw launch information, a split-K kernel uses its workspace, and a
// shape that was not tuned falls back to the nearest tuned TMA kernel. Every
// product is checked against a host reference. Skipped without an sm_90 GPU.
#include "kt/kt.h"
#include "ktune/base/Hash.h"
#include "ktune/cache/ResultsStore.h"
#include "ktune/compiler/CudaCompiler.h"
#include "ktune/drivers/cuda/CudaContext.h"
#include "ktune/templates/GemmTemplate.h"
#include "support/DeviceGemmRun.h"
#include "support/GpuGemmCheck.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fmt/format.h>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

using namespace kt;

namespace {

const GemmTemplate &sm90() {
  for (const GemmTemplate *t : gemmTemplates()) {
    if (t->name() == "cuda.gemm.sm90") {
      return *t;
    }
  }
  FAIL("cuda.gemm.sm90 is not registered");
  throw 0;
}

/// Compiles `config` for `p` and stores it as the tuned winner.
void storeWinner(ResultsStore &store, const CudaCompiler &compiler,
                 const cuda::DeviceInfo &gpu, const GemmProblem &p,
                 const Config &config) {
  const TargetDesc target = compiler.target();
  auto src = sm90().instantiate(config, p, target);
  REQUIRE(src.isOk());
  auto bin = compiler.compile(*src, config.toString() + p.key());
  INFO(bin.status().toString());
  REQUIRE(bin.isOk());
  REQUIRE(store.putBinary(bin->hash, target.toString(), bin->cubin).isOk());
  TuningRecord r;
  r.problemKey = p.key();
  r.target = target.toString();
  r.templateName = sm90().name();
  r.templateHash = sm90().sourceHash();
  r.params = config.toString();
  r.timeMs = 0.1;
  r.deviceModel = gpu.name;
  r.deviceFeatures = fmt::format("sms={}", gpu.smCount);
  r.binaryHash = bin->hash;
  r.launch = src->launch;
  REQUIRE(store.put(r).isOk());
}

/// Runs `kernel` (looked up for `p`) through kt.h (kt_gemm_launch_cuda,
/// or the raw launch information) and checks C.
void runAndCheck(kt_context *ctx, const kt_kernel *kernel,
                 const cuda::Context &cu, const GemmProblem &p, bool raw) {
  auto launch = [&](void *a, void *b, void *c, void *ws) -> kt_status {
    if (!raw) {
      return kt_gemm_launch_cuda(ctx, kernel, nullptr, a, b, c, 1.0f, 0.0f, ws);
    }
    kt_cuda_launch launch;
    launch.struct_size = sizeof(launch);
    if (kt_status st = kt_gemm_get_cuda_launch(ctx, kernel, a, b, c, 1.0f, 0.0f,
                                               ws, &launch);
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
  CHECK(test::gemmMismatches(cu, kernel, p, launch) == 0);
}

} // namespace

TEST_CASE("kt.h finds and launches tuned sm_90a kernels", "[lookup][cuda]") {
  auto gpu = test::gpuOfArch("sm_90a");
  if (!gpu) {
    return;
  }
  auto compiler = CudaCompiler::create(*parseTarget("cuda:sm_90a"), "");
  REQUIRE(compiler.isOk());
  auto dir = std::filesystem::temp_directory_path() /
             fmt::format("ktune-cuda-lookup-{}", ::getpid());
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "results.db").string();

  GemmProblem big = test::gemmProblem("NT", 256, 512, 640, DType::BF16);
  GemmProblem skinny = test::gemmProblem("NT", 16, 512, 640, DType::BF16);
  // The same shape with an f32 C: a problem and a kernel of its own.
  GemmProblem skinnyF32 = skinny;
  skinnyF32.outF32 = true;
  {
    auto store = openSqliteStore(db);
    REQUIRE(store.isOk());
    storeWinner(
        **store, *compiler, *gpu, big,
        {{"bm", 128}, {"bn", 128}, {"stages", 4}, {"cons", 2}, {"group", 8}});
    storeWinner(**store, *compiler, *gpu, skinny,
                {{"bm", 64},
                 {"bn", 128},
                 {"stages", 4},
                 {"cons", 1},
                 {"group", 1},
                 {"splitk", 4}});
    storeWinner(**store, *compiler, *gpu, skinnyF32,
                {{"bm", 64},
                 {"bn", 128},
                 {"stages", 4},
                 {"cons", 1},
                 {"group", 1},
                 {"splitk", 4}});
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

  for (const GemmProblem *p : {&big, &skinny, &skinnyF32}) {
    INFO(p->key());
    kt_gemm_desc d = test::bf16GemmDesc(*p);
    kt_kernel *kernel = nullptr;
    REQUIRE(kt_gemm_lookup(ctx, &d, &kernel) == KT_OK);
    runAndCheck(ctx, kernel, **cu, *p, /*raw=*/false);
    runAndCheck(ctx, kernel, **cu, *p, /*raw=*/true);
    // Launching a CUDA kernel as a CPU one is refused, not a crash.
    CHECK(kt_gemm_launch_cpu(ctx, kernel, &d, &d, &d, 1, 0) == KT_UNAVAILABLE);
  }

  // Not tuned: the nearest tuned TMA kernel of the same layout runs it.
  GemmProblem other = test::gemmProblem("NT", 24, 520, 600, DType::BF16);
  kt_gemm_desc d = test::bf16GemmDesc(other);
  kt_kernel *fallback = nullptr;
  REQUIRE(kt_gemm_lookup(ctx, &d, &fallback) == KT_OK);
  kt_kernel_info info;
  info.struct_size = sizeof(info);
  REQUIRE(kt_kernel_get_info(fallback, &info) == KT_OK);
  CHECK(info.fallback == 1);
  CHECK(std::string(info.tuned_problem) == skinny.key());
  runAndCheck(ctx, fallback, **cu, other, /*raw=*/false);
  kt_context_stats s;
  s.struct_size = sizeof(s);
  REQUIRE(kt_context_get_stats(ctx, &s) == KT_OK);
  CHECK(s.fallbacks == 1);
  kt_context_destroy(ctx);
  std::filesystem::remove_all(dir);
}
