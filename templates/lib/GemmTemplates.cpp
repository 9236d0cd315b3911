// The explicit registry of GEMM template families.
#include "ktune/templates/GemmTemplate.h"

#include "ktune/templates/gemm/CpuGemmDotMlir.h"
#include "ktune/templates/gemm/CpuGemmMlir.h"
#include "ktune/templates/gemm/CudaGemmMlir.h"
#include "ktune/templates/gemm/CudaGemmSm100.h"
#include "ktune/templates/gemm/CudaGemmSm90.h"
#include "ktune/templates/gemm/HipGemmMfma.h"
#include "ktune/templates/gemm/HipGemmMlir.h"

#include <fmt/format.h>

namespace kt {

const std::vector<const GemmTemplate *> &gemmTemplates() {
  static const CpuGemmMlir cpuMlir;
  static const CpuGemmDotMlir cpuDotMlir;
  static const CudaGemmSm90 cudaSm90;
  static const CudaGemmSm100 cudaSm100;
  static const CudaGemmMlir cudaMlir;
  static const HipGemmMfma hipMfma;
  static const HipGemmMlir hipMlir;
  static const std::vector<const GemmTemplate *> all = {
      &cpuMlir,  &cpuDotMlir, &cudaSm90, &cudaSm100,
      &cudaMlir, &hipMfma,    &hipMlir};
  return all;
}

Result<const GemmTemplate *> findGemmTemplate(const std::string &name) {
  std::string known;
  for (const GemmTemplate *t : gemmTemplates()) {
    if (t->name() == name) {
      return t;
    }
    known += (known.empty() ? "" : ", ") + t->name();
  }
  return notFound(fmt::format("unknown template '{}'; known: {}", name, known));
}

} // namespace kt
