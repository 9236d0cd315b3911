// The registry of attention families.
#include "attention/CpuAttentionMlir.h"

#include "ktune/templates/attention/CudaAttentionMlir.h"
#include "ktune/templates/attention/CudaAttentionSm100.h"
#include "ktune/templates/attention/CudaAttentionSm90.h"
#include "ktune/templates/attention/HipAttentionMfma.h"
#include "ktune/templates/attention/HipAttentionMlir.h"

#include <fmt/format.h>

namespace kt {

const std::vector<const AttentionTemplate *> &attentionTemplates() {
  static const CpuAttentionMlir cpu;
  static const CudaAttentionSm90 sm90;
  static const CudaAttentionSm100 sm100;
  static const CudaAttentionMlir cudaMlir;
  static const HipAttentionMfma mfma;
  static const HipAttentionMlir hipMlir;
  static const std::vector<const AttentionTemplate *> all = {
      &cpu, &sm90, &sm100, &cudaMlir, &mfma, &hipMlir};
  return all;
}

Result<const AttentionTemplate *>
findAttentionTemplate(const std::string &name) {
  std::string known;
  for (const AttentionTemplate *t : attentionTemplates()) {
    if (t->name() == name) {
      return t;
    }
    known += (known.empty() ? "" : ", ") + t->name();
  }
  return notFound(
      fmt::format("no attention template '{}'; known: {}", name, known));
}

} // namespace kt
