// kt_kernel: what kt_gemm_lookup() hands out. Owned by its context (or its
// context's miss log, for fallbacks); immutable once handed out.
#pragma once

#include "kt/kt.h"
#include "ktune/device/CpuGemmAbi.h"
#include "ktune/device/Device.h"
#include "ktune/problem/GemmProblem.h"

#include <cstdint>
#include <memory>
#include <string>

struct kt_kernel {
  const kt_context *owner = nullptr;
  /// Shared by every tuned problem whose winner is the same code object.
  std::shared_ptr<const kt::Module> module;
  kt::CpuGemmBlockFn blockFn = nullptr;
  int64_t gridM = 0;
  int64_t gridN = 0;
  /// The problem it runs: the tuned one, or the caller's for a fallback.
  kt::GemmProblem problem;
  std::string problemKey; ///< The tuned problem's key.
  std::string templateName;
  std::string params;
  double timeMs = 0;
  /// Found through the fallback policy, not tuned for `problem`.
  bool fallback = false;
};
