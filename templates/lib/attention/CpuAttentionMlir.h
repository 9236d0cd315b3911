// cpu.attention.mlir: flash-attention forward for the CPU, generated as
// MLIR (scf, vector, memref, math) and lowered by the CPU pipeline.
//
// Each block holds bq query rows of one (batch, head) and walks the keys in
// blocks of bkv: scores are dot products over the head dim (one
// vector<d x f32> per row, split into machine vectors by LLVM), the online
// softmax keeps a running max and sum per row, and the value rows are
// accumulated into a vector<d x f32> per row. The score matrix is never
// materialised beyond one block of bkv x rows scores. f32 and bf16
// tensors (bf16 widened on load, f32 arithmetic, rounded once at the store).
#pragma once

#include "ktune/templates/AttentionTemplate.h"

namespace kt {

class CpuAttentionMlir final : public AttentionTemplate {
public:
  std::string name() const override { return "cpu.attention.mlir"; }
  std::string sourceHash() const override;
  bool supports(const AttentionProblem &problem,
                const TargetDesc &target) const override;
  std::vector<Config> space(const AttentionProblem &problem,
                            const TargetDesc &target) const override;
  Config defaultConfig(const AttentionProblem &problem,
                       const TargetDesc &target) const override;
  Status validate(const Config &config, const AttentionProblem &problem,
                  const TargetDesc &target) const override;
  Result<KernelSource> instantiate(const Config &config,
                                   const AttentionProblem &problem,
                                   const TargetDesc &target) const override;
};

} // namespace kt
