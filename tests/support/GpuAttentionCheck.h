// Shared test helper: runs a CUDA attention family's configurations on GPU 0
// over sampled problems (both layouts, MHA / GQA / MQA, causal with sq below
// and above skv, ragged lengths, decode) against a double-precision host
// reference on the same bf16 / fp16 inputs, with O poisoned with NaN first
// so a row the kernel skips is caught.
#pragma once

#include "ktune/compiler/CudaCompiler.h"
#include "ktune/drivers/cuda/AttentionLaunch.h"
#include "ktune/drivers/cuda/CudaContext.h"
#include "ktune/drivers/cuda/CudaDriver.h"
#include "ktune/templates/AttentionTemplate.h"
#include "support/AttentionReference.h"
#include "support/CompileConcurrently.h"
#include "support/HalfFloat.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

namespace kt::test {

/// b, hq, hkv, sq, skv, d, causal, layout.
inline std::vector<AttentionProblem> gpuAttentionCases(DType dt) {
  using L = AttentionProblem::Layout;
  auto make = [dt](int64_t b, int64_t hq, int64_t hkv, int64_t sq, int64_t skv,
                   int64_t d, bool causal, L layout) {
    return attentionProblem(dt, layout, b, hq, hkv, sq, skv, d, causal);
  };
  return {make(2, 4, 4, 300, 300, 128, true, L::BSHD),
          make(1, 8, 2, 200, 517, 64, false, L::BHSD),
          make(2, 4, 1, 200, 130, 128, true, L::BHSD),  // rows without keys
          make(1, 16, 2, 1, 3000, 128, false, L::BSHD), // decode, GQA 8:1
          make(2, 8, 2, 3, 1000, 64, true, L::BHSD),
          make(1, 2, 2, 1, 700, 128, false, L::BSHD)};
}

/// Every configuration of `configs` that `t` validates, on every case; the
/// softmax scale is 0.5 so that rows are dominated by a few keys (a dropped
/// or misplaced KV block then shows far above the tolerance).
inline void runAttentionOnGpu(const AttentionTemplate &t,
                              const CudaCompiler &compiler,
                              const cuda::DeviceInfo &gpu,
                              const std::vector<Config> &configs) {
  auto ctx = cuda::Context::open(gpu.ordinal);
  REQUIRE(ctx.isOk());
  std::mt19937 rng(11);
  const float scale = 0.5f;
  int launched = 0;
  for (DType dt : {DType::BF16, DType::F16}) {
    for (const AttentionProblem &p : gpuAttentionCases(dt)) {
      INFO(p.key());
      auto bits = [&](int64_t n, std::vector<float> &rounded) {
        std::vector<float> x = randomTensor(n, rng);
        std::vector<uint16_t> out(x.size());
        rounded.resize(x.size());
        for (size_t i = 0; i < x.size(); ++i) {
          out[i] = toBits(dt, x[i]);
          rounded[i] = fromBits(dt, out[i]);
        }
        return out;
      };
      std::vector<float> qf, kf, vf;
      const auto q = bits(p.qElements(), qf);
      const auto k = bits(p.kvElements(), kf);
      const auto v = bits(p.kvElements(), vf);
      const std::vector<double> ref = attentionReference(p, qf, kf, vf, scale);
      auto dQ = (*ctx)->alloc(q.size() * 2);
      auto dK = (*ctx)->alloc(k.size() * 2);
      auto dV = (*ctx)->alloc(v.size() * 2);
      auto dO = (*ctx)->alloc(q.size() * 2);
      REQUIRE((dQ.isOk() && dK.isOk() && dV.isOk() && dO.isOk()));
      REQUIRE((*ctx)->copyToDevice(*dQ, q.data(), q.size() * 2).isOk());
      REQUIRE((*ctx)->copyToDevice(*dK, k.data(), k.size() * 2).isOk());
      REQUIRE((*ctx)->copyToDevice(*dV, v.data(), v.size() * 2).isOk());

      for (const CompiledInstance &inst :
           compileAccepted(t, compiler, configs, p)) {
        const Config &c = inst.config;
        const KernelSource *src = &inst.source;
        INFO(c.toString());
        const auto &bin = inst.binary;
        INFO(bin.status().toString());
        REQUIRE(bin.isOk());
        auto mod = (*ctx)->loadModule(bin->cubin);
        REQUIRE(mod.isOk());
        auto fn = mod->function(src->entry);
        REQUIRE(fn.isOk());
        auto spec = cuda::parseAttentionLaunchSpec(src->launch);
        REQUIRE(spec.isOk());
        const uint32_t nan = dt == DType::BF16 ? 0x7FC07FC0u : 0x7E007E00u;
        cuda::AttentionOperands ops{dQ->ptr(), dK->ptr(), dV->ptr(), dO->ptr(),
                                    scale};
        const uint64_t wsBytes = cuda::attentionWorkspaceBytes(*spec, p);
        const uint64_t sems = cuda::attentionSemaphores(*spec, p);
        cuda::DeviceBuffer ws, sem;
        if (wsBytes > 0) {
          ws = std::move((*ctx)->alloc(wsBytes).value());
          sem = std::move((*ctx)->alloc(sems * 4).value());
          REQUIRE((*ctx)->fill32(sem, 0, sems).isOk());
          ops.workspace = ws.ptr();
          ops.semaphores = sem.ptr();
        }
        // Twice, O poisoned and checked each time: the second launch checks
        // that split kernels leave their semaphores zeroed. A persistent
        // kernel gets 5 CTAs the first time (each walks many tiles, the
        // K / V ring running on across them), one per SM the second.
        for (int smCount : {5, gpu.smCount}) {
          INFO("launched for " << smCount << " SMs");
          REQUIRE((*ctx)->fill32(*dO, nan, q.size() / 2).isOk());
          auto prepared =
              cuda::prepareAttention(**ctx, *fn, *spec, p, ops, smCount);
          INFO(prepared.status().toString());
          REQUIRE(prepared.isOk());
          Status s = cuda::launchPrepared(**ctx, *prepared);
          INFO(s.toString());
          REQUIRE(s.isOk());
          Status sync = (*ctx)->synchronize();
          INFO(sync.toString());
          REQUIRE(sync.isOk());
          std::vector<uint16_t> out(q.size());
          REQUIRE((*ctx)->copyToHost(out.data(), *dO, out.size() * 2).isOk());
          int64_t bad = 0;
          for (size_t i = 0; i < out.size() && bad < 5; ++i) {
            const double got = fromBits(dt, out[i]);
            // P rounded to 16 bits before P V (2^-8 of |V| <= 1) and O
            // rounded on store.
            const double tol = 8e-3 + std::ldexp(std::fabs(ref[i]), -7);
            if (!(std::fabs(got - ref[i]) <= tol)) {
              ++bad;
              UNSCOPED_INFO("O[" << i << "] = " << got << ", expected "
                                 << ref[i]);
            }
          }
          REQUIRE(bad == 0);
        }
        ++launched;
      }
    }
  }
  REQUIRE(launched > 0);
}

} // namespace kt::test
