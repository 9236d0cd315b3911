// The AMD Instinct GEMM family: HIP C++ with MFMA, for gfx950 (MI355X) and
// gfx942 (MI300X).
#pragma once

#include "ktune/templates/GemmTemplate.h"

namespace kt {

/// C = alpha * op(A) op(B) + beta * C for bf16 / fp16 with f32
/// accumulation, any layout and size (lda, ldb multiples of 8).
///
/// Each workgroup computes a bm x bn tile (or, with split-K, one K slice of
/// it) with its waves (wave64) each owning a wm x wn tile of mi x mi MFMA
/// blocks: v_mfma_f32_16x16x32 / 32x32x16 on gfx950, v_mfma_f32_16x16x16 /
/// 32x32x8 on gfx942. K advances bk at a time through two LDS buffers (the
/// next step's 16-byte global loads are issued before the current step's
/// MFMAs and stored to the other buffer after them), stored K-contiguous
/// whatever the layout, rows padded by `pad` elements against bank
/// conflicts.
///
/// The source needs no ROCm headers (clang builtins only): hiprtc or clang's
/// device-only HIP compile give the same code object. Nothing of it has run:
/// no AMD GPU is reachable here.
///
/// Parameters (docs/hip-gemm.md): bm, bn (32..256), wm, wn (multiples of mi
/// dividing bm, bn), bk (32, 64, 128), pad (0 or 8), mi (16 or 32), splitk
/// (1, 2, 4, 8: K slices per tile, summed in slice order by the last slice
/// through a workspace of tiles * splitk * bm * bn floats and one semaphore
/// per tile), unroll (1 or 2: K steps per main-loop iteration); absent mi,
/// splitk and unroll read as 16, 1 and 1. validate() uses the real limits:
/// LDS 160 KiB per workgroup on gfx950 and 64 KiB on gfx942, at most 1024
/// threads, and accumulators within 256 of the 512 VGPRs + AGPRs of a lane.
class HipGemmMfma final : public GemmTemplate {
public:
  std::string name() const override { return "hip.gemm.mfma"; }
  std::string sourceHash() const override;
  bool supports(const GemmProblem &problem,
                const TargetDesc &target) const override;
  std::vector<Config> space(const GemmProblem &problem,
                            const TargetDesc &target) const override;
  Config defaultConfig(const GemmProblem &problem,
                       const TargetDesc &target) const override;
  Status validate(const Config &config, const GemmProblem &problem,
                  const TargetDesc &target) const override;
  Result<KernelSource> instantiate(const Config &config,
                                   const GemmProblem &problem,
                                   const TargetDesc &target) const override;

  /// LDS a configuration uses (bytes).
  static int64_t ldsBytes(const Config &config);
  /// LDS per workgroup on `arch` (160 KiB on gfx950, 64 KiB on gfx942).
  static int64_t ldsLimit(const std::string &arch);
};

} // namespace kt
