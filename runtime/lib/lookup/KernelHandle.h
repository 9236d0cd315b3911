// kt_kernel: what kt_gemm_lookup() hands out. Owned by its context (or its
// context's miss log, for fallbacks); immutable once handed out.
#pragma once

#include "kt/kt.h"
#include "ktune/device/CpuAttentionKernel.h"
#include "ktune/device/CpuGemmAbi.h"
#include "ktune/drivers/cuda/AttentionLaunch.h"
#include "ktune/drivers/cuda/GemmLaunch.h"
#include "ktune/drivers/hip/HipGemmLaunch.h"
#include "ktune/problem/AttentionProblem.h"
#include "ktune/problem/GemmProblem.h"

#include <cstdint>
#include <memory>
#include <string>

struct kt_kernel {
  const kt_context *owner = nullptr;
  /// The loaded code object (a CPU kt::Module, a cuda::LoadedModule or a
  /// hip::LoadedModule),
  /// shared by every tuned problem whose winner is the same code object.
  std::shared_ptr<const void> module;
  /// The problem it runs: the tuned one, or the caller's for a fallback.
  kt::GemmProblem problem;
  std::string problemKey; ///< The tuned problem's key.
  std::string templateName;
  std::string params;
  double timeMs = 0;
  /// Found through the fallback policy, not tuned for `problem`.
  bool fallback = false;

  /// Attention kernels: the problem they run.
  bool isAttention = false;
  kt::AttentionProblem attention;
  /// CPU attention code objects (cpuAttention.block null otherwise).
  kt::CpuAttentionKernel cpuAttention;

  // CPU code objects (CpuGemmAbi.h).
  kt::CpuGemmBlockFn blockFn = nullptr;
  int64_t gridM = 0;
  int64_t gridN = 0;

  // CUDA code objects: the kt_gemm or kt_attention function (CUfunction)
  // and its launch.
  void *cudaFunction = nullptr;
  kt::cuda::GemmLaunchSpec spec;
  kt::cuda::AttentionLaunchSpec attentionSpec;

  // HIP code objects: the kt_gemm function (hipFunction_t) and its launch.
  void *hipFunction = nullptr;
  kt::hip::GemmLaunchSpec hipSpec;
};
