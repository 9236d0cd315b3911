// Shared test helper: runs a looked-up attention kernel on a GPU (CUDA or
// HIP: any context with alloc / copies / fill32 / synchronize) on random
// bf16 tensors, O poisoned with NaN first and the kernel's split-KV
// workspace zeroed, and counts the outputs outside the GPU attention
// tolerance (8e-3 + 2^-7 |ref|) against the double-precision host
// reference.
#pragma once

#include "kt/kt.h"
#include "ktune/problem/AttentionProblem.h"
#include "support/AttentionReference.h"
#include "support/DeviceGemmRun.h"
#include "support/HalfFloat.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

namespace kt::test {

/// `launch(q, k, v, o, scale, workspace)` queues the kernel on device
/// pointers and returns its kt_status.
template <typename Ctx, typename Launch>
int attentionMismatches(const Ctx &dev, const kt_kernel *kernel,
                        const AttentionProblem &p, Launch launch) {
  std::mt19937 rng(5);
  std::vector<float> qf, kf, vf;
  auto bits = [&](int64_t n, std::vector<float> &rounded) {
    std::vector<float> x = randomTensor(n, rng);
    std::vector<uint16_t> out(x.size());
    rounded.resize(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      out[i] = toBf16(x[i]);
      rounded[i] = fromBf16(out[i]);
    }
    return out;
  };
  const auto q = bits(p.qElements(), qf);
  const auto k = bits(p.kvElements(), kf);
  const auto v = bits(p.kvElements(), vf);
  const float scale = 0.5f;
  const std::vector<double> ref = attentionReference(p, qf, kf, vf, scale);
  auto dQ = dev.alloc(q.size() * 2);
  auto dK = dev.alloc(k.size() * 2);
  auto dV = dev.alloc(v.size() * 2);
  auto dO = dev.alloc(q.size() * 2);
  REQUIRE((dQ.isOk() && dK.isOk() && dV.isOk() && dO.isOk()));
  REQUIRE(dev.copyToDevice(*dQ, q.data(), q.size() * 2).isOk());
  REQUIRE(dev.copyToDevice(*dK, k.data(), k.size() * 2).isOk());
  REQUIRE(dev.copyToDevice(*dV, v.data(), v.size() * 2).isOk());
  REQUIRE(dev.fill32(*dO, 0x7FC07FC0u, q.size() / 2).isOk());
  const KernelWorkspace<Ctx> ws = kernelWorkspace(dev, kernel);
  INFO(kt_context_last_error(nullptr));
  REQUIRE(launch(devicePtr(*dQ), devicePtr(*dK), devicePtr(*dV), devicePtr(*dO),
                 scale, ws.ptr()) == KT_OK);
  REQUIRE(dev.synchronize().isOk());
  std::vector<uint16_t> o(q.size());
  REQUIRE(dev.copyToHost(o.data(), *dO, o.size() * 2).isOk());
  int bad = 0;
  for (size_t i = 0; i < o.size(); ++i) {
    const double got = fromBf16(o[i]);
    bad +=
        !(std::fabs(got - ref[i]) <= 8e-3 + std::ldexp(std::fabs(ref[i]), -7));
  }
  return bad;
}

/// The kt_attention_desc of `p` (bf16).
inline kt_attention_desc attentionDesc(const AttentionProblem &p) {
  kt_attention_desc d;
  kt_attention_desc_init(&d);
  d.dtype = KT_BF16;
  d.layout = p.layout == AttentionProblem::Layout::BSHD ? KT_BSHD : KT_BHSD;
  d.batch = p.batch;
  d.heads_q = p.hq;
  d.heads_kv = p.hkv;
  d.seq_q = p.sq;
  d.seq_kv = p.skv;
  d.head_dim = p.d;
  d.causal = p.causal;
  return d;
}

} // namespace kt::test
