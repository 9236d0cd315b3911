// One configuration of cpu.attention.mlir, ready to time: set over the
// problem's default, compiled, loaded and checked against the reference.
// Shared by bench_attention (--config) and bench_attention_ab.
#pragma once

#include "ktune/compiler/CpuCompiler.h"
#include "ktune/device/CpuDevice.h"
#include "ktune/problem/AttentionProblem.h"
#include "ktune/templates/AttentionTemplate.h"
#include "ktune/tuner/AttentionBench.h"

#include <fmt/format.h>

#include <string>

namespace kt::bench {

struct CheckedAttention {
  std::string params;     ///< The full configuration (default + overrides).
  double error = 0;       ///< Worst error in units of the tolerance (<= 1).
  LoadedAttention loaded; ///< Keeps the code object alive for `run`.
  AttentionRunFn run;
};

/// `overrides` (e.g. "pf=32;pr=4"; "" for the default) set over
/// cpu.attention.mlir's default for `p`; an error names what failed
/// (validation, compilation, loading, or the numerics check).
inline Result<CheckedAttention> checkedConfig(CpuDevice &device,
                                              const CpuCompiler &compiler,
                                              const AttentionProblem &p,
                                              const std::string &overrides) {
  KT_ASSIGN_OR_RETURN(const AttentionTemplate *t,
                      findAttentionTemplate("cpu.attention.mlir"));
  KT_ASSIGN_OR_RETURN(
      Config c, applyConfig(t->defaultConfig(p, device.target()), overrides));
  KT_ASSIGN_OR_RETURN(KernelSource src, t->instantiate(c, p, device.target()));
  KT_ASSIGN_OR_RETURN(
      CompiledKernel kernel,
      compiler.compile(src, t->sourceHash() + c.toString() + p.key()));
  CheckedAttention out;
  out.params = c.toString();
  KT_ASSIGN_OR_RETURN(out.loaded, loadAttention(device, kernel.bytes));
  out.run = out.loaded.runner(device);
  KT_ASSIGN_OR_RETURN(
      out.error, checkAttention(out.run, p, 43, t->probabilityRounding(c)));
  if (!(out.error <= 1.0)) {
    return internalError(
        fmt::format("{} is {:.2f}x over the tolerance", out.params, out.error));
  }
  return out;
}

} // namespace kt::bench
