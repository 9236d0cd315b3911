// cpu.attention.mlir: flash-attention forward for the CPU, generated as
// MLIR (scf, vector, memref, math) and lowered by the CPU pipeline.
//
// A block is (batch, key/value head, tile of bq query positions); its rows
// are the group's query heads at those positions, so K and V are read once
// per group. Q is packed transposed and pre-scaled; each key's scores for
// all rows are broadcast FMAs on vector<rows>, ku keys at a time; the
// online softmax runs across rows; P V accumulates a vector<d x f32> per
// row, pr rows at a time, from V in place or from the block's V packed in
// chunks of pc columns (pc > 0). The score matrix is never materialised beyond
// bkv x rows scores. f32 and bf16 tensors (bf16 widened on load, f32
// arithmetic, rounded once at the store). Decode with few blocks splits the KV
// length into parts merged by a second entry point (CpuAttentionAbi.h). See
// docs/attention.md.
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
  double probabilityRounding(const Config &config) const override;
};

} // namespace kt
