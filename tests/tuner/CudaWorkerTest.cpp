// CUDA candidates measured in ktune-cuda-worker processes on an sm_90 GPU
// (skipped elsewhere; CudaWorkerStartTest covers machines without one):
// real candidates are checked and timed, a kernel that faults costs only itself
// (the worker is restarted for the rest), a kernel that hangs is killed at the
// watchdog, and the tuner stores winners with their cubins.
#include "ktune/cache/ResultsStore.h"
#include "ktune/drivers/cuda/CublasLt.h"
#include "ktune/drivers/cuda/CudaDriver.h"
#include "ktune/problem/AttentionProblem.h"
#include "ktune/templates/gemm/CudaGemmSm90.h"
#include "ktune/tuner/CudaTuner.h"
#include "ktune/tuner/GpuWorker.h"
#include "support/GemmProblems.h"

#include "cache/CacheTestUtil.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>

using namespace kt;

namespace {

GpuWorkerOptions workerOptions() {
  GpuWorkerOptions o;
  // $KTUNE_CUDA_WORKER where the build tree is elsewhere (a GPU machine).
  const char *env = std::getenv("KTUNE_CUDA_WORKER");
  o.worker = env ? env : KT_CUDA_WORKER_EXE;
  o.maxMsPerCandidate = 50;
  o.candidateTimeoutSeconds = 60;
  return o;
}

std::vector<Config> threeConfigs() {
  return {{{"bm", 128}, {"bn", 128}, {"stages", 4}, {"cons", 2}, {"group", 8}},
          {{"bm", 64}, {"bn", 256}, {"stages", 4}, {"cons", 1}, {"group", 1}},
          {{"bm", 128}, {"bn", 64}, {"stages", 6}, {"cons", 1}, {"group", 8}}};
}

/// An sm_90 GPU, or nullopt after printing the skip reason.
std::optional<cuda::DeviceInfo> sm90Gpu() {
  auto gpus = cuda::listDevices();
  if (!gpus || gpus->empty()) {
    std::printf("[SKIP] no GPU: %s\n", gpus ? "the driver reports none"
                                            : gpus.status().message().c_str());
    return std::nullopt;
  }
  if ((*gpus)[0].arch() != "sm_90a") {
    std::printf("[SKIP] GPU 0 is %s, not sm_90a\n", (*gpus)[0].arch().c_str());
    return std::nullopt;
  }
  return (*gpus)[0];
}

/// A kt_gemm with the family's signature whose every thread writes far
/// outside C: an illegal-address fault.
const char *kFaulting = R"(
struct __align__(64) M { unsigned long long o[16]; };
extern "C" __global__ void kt_gemm(const __grid_constant__ M a,
    const __grid_constant__ M b, unsigned short *C, int m, int n, int k,
    int ldc, float alpha, float beta) {
  C[(1ll << 40) + threadIdx.x] = 1;
}
)";

/// One that never ends: the compiler may drop a loop on a local `volatile`
/// (seen with NVRTC 13.0), never one on the clock, which it cannot predict.
const char *kHanging = R"(
struct __align__(64) M { unsigned long long o[16]; };
extern "C" __global__ void kt_gemm(const __grid_constant__ M a,
    const __grid_constant__ M b, unsigned short *C, int m, int n, int k,
    int ldc, float alpha, float beta) {
  long long t;
  do { t = clock64(); } while (t >= 0);
  C[threadIdx.x] = (unsigned short)t;
}
)";

} // namespace

TEST_CASE("the CUDA worker measures, survives faults and kills hangs") {
  auto gpu = sm90Gpu();
  if (!gpu) {
    return;
  }
  GemmProblem p = test::gemmProblem("NT", 1000, 1000, 1024, DType::BF16);
  p.ldc = 1000;
  std::vector<GpuCandidateResult> got;
  auto keep = [&](const GpuCandidateResult &r) {
    got.push_back(r);
    return Status::ok();
  };

  auto dev = measureInWorker(workerOptions(), p.key(), "cuda.gemm.sm90",
                             threeConfigs(), 0, keep);
  INFO(dev.status().toString());
  REQUIRE(dev.isOk());
  REQUIRE(dev->arch == "sm_90a");
  REQUIRE(got.size() == 3);
  for (const GpuCandidateResult &r : got) {
    INFO(r.config.toString() << ": " << r.status << " " << r.message);
    REQUIRE(r.status == "ok");
    REQUIRE(r.ms > 0);
    REQUIRE(r.maxError < 1.0);
    REQUIRE(r.binary.compare(0, 4,
                             "\x7f"
                             "ELF") == 0);
  }

  test::TempDir dir;
  const std::string faulty = dir.file("fault.cu");
  std::ofstream(faulty) << kFaulting;
  GpuWorkerOptions fault = workerOptions();
  fault.overrideSource = faulty;
  got.clear();
  dev = measureInWorker(fault, p.key(), "cuda.gemm.sm90", threeConfigs(), 0,
                        keep);
  REQUIRE(dev.isOk());
  // Each faulting candidate is one failure; the worker restarts for the next.
  REQUIRE(got.size() == 3);
  for (const GpuCandidateResult &r : got) {
    INFO(r.message);
    REQUIRE(r.status == "launch-failed");
  }

  const std::string hang = dir.file("hang.cu");
  std::ofstream(hang) << kHanging;
  GpuWorkerOptions hung = workerOptions();
  hung.overrideSource = hang;
  hung.candidateTimeoutSeconds = 15;
  got.clear();
  dev = measureInWorker(hung, p.key(), "cuda.gemm.sm90", {threeConfigs()[0]}, 0,
                        keep);
  REQUIRE(dev.isOk());
  REQUIRE(got.size() == 1);
  REQUIRE(got[0].status == "timeout");
}

TEST_CASE("the CUDA tuner stores a winner with its cubin") {
  auto gpu = sm90Gpu();
  if (!gpu) {
    return;
  }
  test::TempDir dir;
  auto store = openSqliteStore(dir.file("gpu.db"));
  REQUIRE(store.isOk());
  auto toolchain = cudaToolchainFingerprint(*parseTarget("cuda:sm_90a"));
  REQUIRE(toolchain.isOk());
  CudaTuneOptions opt;
  opt.maxCandidates = 6;
  opt.batch = 3;
  opt.worker = workerOptions();
  opt.progress = false;
  CudaTuner tuner(*gpu, *toolchain, **store, opt);
  GemmProblem p = test::gemmProblem("NN", 512, 768, 1024, DType::BF16);
  REQUIRE(tuner.serves(p));
  auto o = tuner.tuneOne(p);
  INFO(o.status().toString());
  REQUIRE(o.isOk());
  REQUIRE(o->winner.has_value());
  REQUIRE(o->winner->target == "cuda:sm_90a");
  REQUIRE(o->winner->status == "ok");
  // cuBLASLt's algorithms competed too (when it loads): the winner is the
  // fastest of all, the vendor's best included, and may be the vendor.
  if (cuda::CublasLt::get().isOk()) {
    auto all = (*store)->measurements(p.key(), "cuda:sm_90a");
    REQUIRE(all.isOk());
    bool vendorSeen = false;
    for (const TuningRecord &r : *all) {
      if (r.templateName == kCublasLtFamily && r.status == "ok") {
        vendorSeen = true;
        REQUIRE(o->winner->timeMs <= r.timeMs);
      }
    }
    REQUIRE(vendorSeen);
  }
  // The fastest of ktune's own stored its code object for deployment.
  auto own = (*store)->measurements(p.key(), "cuda:sm_90a");
  REQUIRE(own.isOk());
  const TuningRecord *best = nullptr;
  for (const TuningRecord &r : *own) {
    if (r.templateName != kCublasLtFamily && r.status == "ok" &&
        (!best || r.timeMs < best->timeMs)) {
      best = &r;
    }
  }
  REQUIRE(best != nullptr);
  if (o->winner->templateName == kCublasLtFamily) {
    REQUIRE(o->winner->binaryHash.empty());
  } else {
    REQUIRE(o->winner->binaryHash == best->binaryHash);
  }
  auto bin = (*store)->getBinary(best->binaryHash);
  REQUIRE(bin.isOk());
  REQUIRE(bin->has_value());
  REQUIRE((*bin)->compare(0, 4,
                          "\x7f"
                          "ELF") == 0);
  // A second run resumes: nothing is measured twice.
  auto again = tuner.tuneOne(p);
  REQUIRE(again.isOk());
  REQUIRE(again->skipped >= o->candidates);
}

TEST_CASE("the CUDA tuner tunes attention in the worker and stores winners") {
  auto gpu = sm90Gpu();
  if (!gpu) {
    return;
  }
  test::TempDir dir;
  auto store = openSqliteStore(dir.file("attn.db"));
  REQUIRE(store.isOk());
  auto toolchain = cudaToolchainFingerprint(*parseTarget("cuda:sm_90a"));
  REQUIRE(toolchain.isOk());
  CudaTuneOptions opt;
  opt.maxCandidates = 5;
  opt.batch = 5;
  opt.worker = workerOptions();
  opt.progress = false;
  CudaTuner tuner(*gpu, *toolchain, **store, opt);
  for (const char *sig :
       {"attn_bf16_BSHD_b2_hq16_hkv4_sq1000_skv1000_d128_causal",
        "attn_f16_BHSD_b1_hq32_hkv8_sq1_skv5000_d64"}) {
    auto p = parseAttentionProblem(sig);
    REQUIRE(p.isOk());
    REQUIRE(tuner.serves(*p));
    auto o = tuner.tuneAttention(*p);
    INFO(sig << ": " << o.status().toString());
    REQUIRE(o.isOk());
    REQUIRE(o->winner.has_value());
    REQUIRE(o->winner->op == "attention");
    REQUIRE(o->winner->templateName == "cuda.attention.sm90");
    REQUIRE(o->winner->status == "ok");
    REQUIRE(o->winner->maxError < 1.0);
    REQUIRE_THAT(o->winner->launch, Catch::Contains("rows="));
    auto all = (*store)->measurements(p->key(), "cuda:sm_90a");
    REQUIRE(all.isOk());
    for (const TuningRecord &r : *all) {
      INFO(r.params << ": " << r.status << " " << r.message);
      REQUIRE(r.status == "ok"); // Every candidate is correct.
    }
    auto bin = (*store)->getBinary(o->winner->binaryHash);
    REQUIRE(bin.isOk());
    REQUIRE(bin->has_value());
  }
}
