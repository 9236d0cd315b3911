// GemmTemplate: a parameterised family of GEMM kernels for one target kind.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/device/TargetDesc.h"
#include "ktune/problem/Config.h"
#include "ktune/problem/GemmProblem.h"

#include <memory>
#include <string>
#include <vector>

namespace kt {

/// Source a compiler turns into a code object, with what identifies it.
struct KernelSource {
  std::string language; ///< "mlir" or "cuda" (later "hip").
  std::string text;     ///< Fully specialised source.
  std::string entry;    ///< Kernel symbol.
  /// GPU kernels: how to launch the code object (for CUDA GEMMs the text of
  /// cuda::GemmLaunchSpec). Empty for CPU kernels.
  std::string launch;
};

/// Thread-safety: all methods are const and safe from many threads.
class GemmTemplate {
public:
  virtual ~GemmTemplate() = default;
  /// Stable family name, e.g. "cpu.gemm.mlir".
  virtual std::string name() const = 0;
  /// Hash of everything that shapes the generated source; changes whenever
  /// the template changes, so stale cached binaries and results are not used.
  virtual std::string sourceHash() const = 0;
  /// True if this family can serve `problem` on `target` at all.
  virtual bool supports(const GemmProblem &problem,
                        const TargetDesc &target) const = 0;
  /// The legal configurations for the problem (validate() holds for each).
  virtual std::vector<Config> space(const GemmProblem &problem,
                                    const TargetDesc &target) const = 0;
  /// A good untuned configuration.
  virtual Config defaultConfig(const GemmProblem &problem,
                               const TargetDesc &target) const = 0;
  /// Compile-free legality check: says which parameter is wrong and why.
  virtual Status validate(const Config &config, const GemmProblem &problem,
                          const TargetDesc &target) const = 0;
  /// The specialised source for (config, problem, target).
  virtual Result<KernelSource> instantiate(const Config &config,
                                           const GemmProblem &problem,
                                           const TargetDesc &target) const = 0;
};

/// Every GEMM family ktune knows, in a fixed order (explicit registry).
const std::vector<const GemmTemplate *> &gemmTemplates();
/// The family called `name`, or NotFound listing the known ones.
Result<const GemmTemplate *> findGemmTemplate(const std::string &name);

} // namespace kt
