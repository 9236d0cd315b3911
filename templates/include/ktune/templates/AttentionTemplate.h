// AttentionTemplate: a parameterised family of attention (flash-attention
// forward) kernels for one target kind. Same contract as GemmTemplate.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/device/TargetDesc.h"
#include "ktune/problem/AttentionProblem.h"
#include "ktune/problem/Config.h"
#include "ktune/templates/GemmTemplate.h"

#include <string>
#include <vector>

namespace kt {

/// Thread-safety: all methods are const and safe from many threads.
class AttentionTemplate {
public:
  virtual ~AttentionTemplate() = default;
  /// Stable family name, e.g. "cpu.attention.mlir".
  virtual std::string name() const = 0;
  /// Hash of everything that shapes the generated source.
  virtual std::string sourceHash() const = 0;
  virtual bool supports(const AttentionProblem &problem,
                        const TargetDesc &target) const = 0;
  /// The legal configurations for the problem (validate() holds for each).
  virtual std::vector<Config> space(const AttentionProblem &problem,
                                    const TargetDesc &target) const = 0;
  virtual Config defaultConfig(const AttentionProblem &problem,
                               const TargetDesc &target) const = 0;
  virtual Status validate(const Config &config, const AttentionProblem &problem,
                          const TargetDesc &target) const = 0;
  virtual Result<KernelSource> instantiate(const Config &config,
                                           const AttentionProblem &problem,
                                           const TargetDesc &target) const = 0;
  /// The relative rounding a configuration applies to each probability
  /// before P V (2^-8, bf16's unit roundoff, where P is rounded to bf16 to
  /// nearest even; 0: kept in f32). The output check widens its tolerance
  /// by the bound that puts on the output's error.
  virtual double probabilityRounding(const Config &) const { return 0; }
};

/// Every attention family ktune knows, in a fixed order.
const std::vector<const AttentionTemplate *> &attentionTemplates();
/// The family called `name`, or NotFound listing the known ones.
Result<const AttentionTemplate *>
findAttentionTemplate(const std::string &name);

} // namespace kt
