// kt.h attention on an AMD GPU: a results file holding hip.attention.mfma
// code objects for the device's arch (compiled here, as the tuner stores
// them, launch description included) is opened on "hip:0";
// kt_attention_lookup finds them and they run through
// kt_attention_launch_hip, a split-KV decode kernel with its workspace. O is
// checked against a host reference. Skipped without a HIP device.
#include "kt/kt.h"
#include "ktune/cache/ResultsStore.h"
#include "ktune/compiler/HipCompiler.h"
#include "ktune/drivers/hip/HipContext.h"
#include "ktune/drivers/hip/HipDriver.h"
#include "ktune/templates/attention/HipAttentionMfma.h"
#include "support/DeviceAttentionRun.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fmt/format.h>

#include <unistd.h>

using namespace kt;

namespace {

void storeWinner(ResultsStore &store, const HipCompiler &compiler,
                 const hip::DeviceInfo &gpu, const AttentionProblem &p,
                 const Config &config) {
  HipAttentionMfma t;
  const TargetDesc target = compiler.target();
  auto src = t.instantiate(config, p, target);
  INFO(src.status().toString());
  REQUIRE(src.isOk());
  auto bin = compiler.compile(*src, config.toString() + p.key());
  INFO(bin.status().toString());
  REQUIRE(bin.isOk());
  REQUIRE(
      store.putBinary(bin->hash, target.toString(), bin->codeObject).isOk());
  TuningRecord r;
  r.problemKey = p.key();
  r.op = "attention";
  r.target = target.toString();
  r.templateName = t.name();
  r.templateHash = t.sourceHash();
  r.params = config.toString();
  r.timeMs = 0.1;
  r.deviceModel = gpu.name;
  r.deviceFeatures = fmt::format("cus={}", gpu.computeUnits);
  r.binaryHash = bin->hash;
  r.launch = src->launch;
  REQUIRE(store.put(r).isOk());
}

} // namespace

TEST_CASE("kt.h finds and launches tuned HIP attention kernels",
          "[lookup][hip]") {
  auto devices = hip::listDevices();
  if (!devices || devices->empty()) {
    std::printf("[SKIP] no HIP device: %s\n",
                devices ? "the runtime reports none"
                        : devices.status().message().c_str());
    return;
  }
  const hip::DeviceInfo gpu = (*devices)[0];
  HipAttentionMfma t;
  auto prefill = parseAttentionProblem(
      "attn_bf16_BSHD_b2_hq8_hkv2_sq300_skv300_d128_causal");
  auto decode =
      parseAttentionProblem("attn_bf16_BHSD_b1_hq16_hkv2_sq1_skv2000_d64");
  REQUIRE((prefill.isOk() && decode.isOk()));
  auto target = parseTarget("hip:" + gpu.arch);
  if (!target || !t.supports(*prefill, *target)) {
    std::printf("[SKIP] HIP device 0 is %s (%s); the MFMA attention family "
                "serves gfx950 and gfx942\n",
                gpu.name.c_str(), gpu.arch.c_str());
    return;
  }
  auto compiler = HipCompiler::create(*target, "");
  REQUIRE(compiler.isOk());
  auto dir = std::filesystem::temp_directory_path() /
             fmt::format("ktune-hip-attn-lookup-{}", ::getpid());
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "results.db").string();
  {
    auto store = openSqliteStore(db);
    REQUIRE(store.isOk());
    storeWinner(**store, *compiler, gpu, *prefill,
                t.defaultConfig(*prefill, *target));
    // Decode: the default, split across the KV length where it offers it.
    Config split = t.defaultConfig(*decode, *target);
    for (const Config &c : t.space(*decode, *target)) {
      if (c.get("split") > 1) {
        split = c;
        break;
      }
    }
    storeWinner(**store, *compiler, gpu, *decode, split);
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
  for (const AttentionProblem *p : {&*prefill, &*decode}) {
    INFO(p->key());
    kt_attention_desc d = test::attentionDesc(*p);
    kt_kernel *kernel = nullptr;
    REQUIRE(kt_attention_lookup(ctx, &d, &kernel) == KT_OK);
    auto launch = [&](void *q, void *k, void *v, void *o, float scale,
                      void *ws) {
      return kt_attention_launch_hip(ctx, kernel, nullptr, q, k, v, o, scale,
                                     ws);
    };
    CHECK(test::attentionMismatches(**dev, kernel, *p, launch) == 0);
    // The wrong launch function is refused, not a crash.
    CHECK(kt_gemm_launch_hip(ctx, kernel, nullptr, &d, &d, &d, 1, 0, nullptr) ==
          KT_INVALID_ARGUMENT);
    CHECK(kt_attention_launch_cuda(ctx, kernel, nullptr, &d, &d, &d, &d, 0,
                                   nullptr) != KT_OK);
  }
  kt_context_destroy(ctx);
  std::filesystem::remove_all(dir);
}
