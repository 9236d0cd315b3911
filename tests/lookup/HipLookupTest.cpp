// kt.h on an AMD GPU: a results file holding hip.gemm.mfma code objects for
// the device's arch (compiled here with HipCompiler, as the tuner stores
// them, launch description included) is opened on "hip:0"; lookups launch
// through kt_gemm_launch_hip, a split-K kernel uses its workspace, and a
// shape that was not tuned falls back to the nearest tuned kernel. Every
// product is checked against a host reference. Skipped without a HIP
// device.
#include "kt/kt.h"
#include "ktune/cache/ResultsStore.h"
#include "ktune/compiler/HipCompiler.h"
#include "ktune/drivers/hip/HipContext.h"
#include "ktune/drivers/hip/HipDriver.h"
#include "ktune/templates/GemmTemplate.h"
#include "support/DeviceGemmRun.h"
#include "support/GemmProblems.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

using namespace kt;

namespace {

const GemmTemplate &mfma() {
  for (const GemmTemplate *t : gemmTemplates()) {
    if (t->name() == "hip.gemm.mfma") {
      return *t;
    }
  }
  FAIL("hip.gemm.mfma is not registered");
  throw 0;
}

/// Compiles `config` for `p` and stores it as the tuned winner, as
/// HipTuner records it.
void storeWinner(ResultsStore &store, const HipCompiler &compiler,
                 const hip::DeviceInfo &gpu, const GemmProblem &p,
                 const Config &config) {
  const TargetDesc target = compiler.target();
  auto src = mfma().instantiate(config, p, target);
  INFO(src.status().toString());
  REQUIRE(src.isOk());
  auto bin = compiler.compile(*src, config.toString() + p.key());
  INFO(bin.status().toString());
  REQUIRE(bin.isOk());
  REQUIRE(
      store.putBinary(bin->hash, target.toString(), bin->codeObject).isOk());
  TuningRecord r;
  r.problemKey = p.key();
  r.target = target.toString();
  r.templateName = mfma().name();
  r.templateHash = mfma().sourceHash();
  r.params = config.toString();
  r.timeMs = 0.1;
  r.deviceModel = gpu.name;
  r.deviceFeatures = fmt::format("cus={}", gpu.computeUnits);
  r.binaryHash = bin->hash;
  r.launch = src->launch;
  REQUIRE(store.put(r).isOk());
}

/// Runs `kernel` (looked up for `p`) through kt_gemm_launch_hip, twice
/// (the split-K semaphores must be left zeroed by the first launch), and
/// checks C against a host f64 reference.
void runAndCheck(kt_context *ctx, const kt_kernel *kernel,
                 const hip::Context &dev, const GemmProblem &p) {
  auto launch = [&](void *a, void *b, void *c, void *ws) {
    return kt_gemm_launch_hip(ctx, kernel, nullptr, a, b, c, 1.0f, 0.0f, ws);
  };
  CHECK(test::gemmMismatches(dev, kernel, p, launch, 2) == 0);
}

} // namespace

TEST_CASE("kt.h finds and launches tuned HIP kernels", "[lookup][hip]") {
  auto devices = hip::listDevices();
  if (!devices || devices->empty()) {
    std::printf("[SKIP] no HIP device: %s\n",
                devices ? "the runtime reports none"
                        : devices.status().message().c_str());
    return;
  }
  const hip::DeviceInfo gpu = (*devices)[0];
  auto target = parseTarget("hip:" + gpu.arch);
  if (!target ||
      !mfma().supports(test::gemmProblem("NT", 64, 64, 64, DType::BF16),
                       *target)) {
    std::printf("[SKIP] HIP device 0 is %s (%s); the MFMA family serves "
                "gfx950 and gfx942\n",
                gpu.name.c_str(), gpu.arch.c_str());
    return;
  }
  auto compiler = HipCompiler::create(*target, "");
  REQUIRE(compiler.isOk());
  auto dir = std::filesystem::temp_directory_path() /
             fmt::format("ktune-hip-lookup-{}", ::getpid());
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "results.db").string();

  GemmProblem big = test::gemmProblem("NT", 256, 512, 640, DType::BF16);
  GemmProblem skinny = test::gemmProblem("TN", 16, 512, 2048, DType::BF16);
  // The same shape with an f32 C: a problem and a kernel of its own.
  GemmProblem skinnyF32 = skinny;
  skinnyF32.outF32 = true;
  {
    auto store = openSqliteStore(db);
    REQUIRE(store.isOk());
    storeWinner(**store, *compiler, gpu, big,
                mfma().defaultConfig(big, *target));
    Config split = mfma().defaultConfig(skinny, *target);
    split.set("splitk", 4);
    storeWinner(**store, *compiler, gpu, skinny, split);
    storeWinner(**store, *compiler, gpu, skinnyF32, split);
  }
  auto dev = hip::Context::open(gpu.ordinal);
  REQUIRE(dev.isOk());

  kt_context_options opts;
  kt_context_options_init(&opts);
  opts.results_path = db.c_str();
  opts.device = "hip:0";
  opts.record_misses = 0;
  kt_context *ctx = nullptr;
  INFO(kt_context_last_error(nullptr));
  REQUIRE(kt_context_create(&opts, &ctx) == KT_OK);
  for (const GemmProblem *p : {&big, &skinny, &skinnyF32}) {
    INFO(p->key());
    kt_gemm_desc d = test::bf16GemmDesc(*p);
    kt_kernel *kernel = nullptr;
    REQUIRE(kt_gemm_lookup(ctx, &d, &kernel) == KT_OK);
    runAndCheck(ctx, kernel, **dev, *p);
    // Launching a HIP kernel as a CPU or CUDA one is refused, not a crash.
    CHECK(kt_gemm_launch_cpu(ctx, kernel, &d, &d, &d, 1, 0) == KT_UNAVAILABLE);
    CHECK(kt_gemm_launch_cuda(ctx, kernel, nullptr, &d, &d, &d, 1, 0,
                              nullptr) != KT_OK);
  }
  // Not tuned: the nearest tuned kernel of the same layout runs it.
  GemmProblem other = test::gemmProblem("NT", 200, 520, 600, DType::BF16);
  kt_gemm_desc d = test::bf16GemmDesc(other);
  kt_kernel *fallback = nullptr;
  REQUIRE(kt_gemm_lookup(ctx, &d, &fallback) == KT_OK);
  kt_kernel_info info;
  info.struct_size = sizeof(info);
  REQUIRE(kt_kernel_get_info(fallback, &info) == KT_OK);
  CHECK(info.fallback == 1);
  CHECK(std::string(info.tuned_problem) == big.key());
  runAndCheck(ctx, fallback, **dev, other);
  kt_context_destroy(ctx);
  std::filesystem::remove_all(dir);
}
