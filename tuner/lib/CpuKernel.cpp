// Loading CPU GEMM code objects and running their block grid.
#include "ktune/tuner/CpuKernel.h"

#include <fmt/format.h>

namespace kt {

Result<LoadedGemm> loadGemm(const CpuDevice &device, const std::string &bytes) {
  LoadedGemm g;
  KT_ASSIGN_OR_RETURN(g.module, device.loadModule(bytes));
  KT_ASSIGN_OR_RETURN(void *fn, g.module->function(kCpuGemmSymbol));
  KT_ASSIGN_OR_RETURN(void *gm, g.module->function(kCpuGridMSymbol));
  KT_ASSIGN_OR_RETURN(void *gn, g.module->function(kCpuGridNSymbol));
  g.fn = reinterpret_cast<CpuGemmBlockFn>(fn);
  g.gridM = reinterpret_cast<CpuGridFn>(gm)();
  g.gridN = reinterpret_cast<CpuGridFn>(gn)();
  if (g.gridM <= 0 || g.gridN <= 0) {
    return invalidArgument(fmt::format(
        "code object reports an empty grid {}x{}", g.gridM, g.gridN));
  }
  return g;
}

GemmRunFn LoadedGemm::runner(CpuDevice &device) const {
  CpuGemmBlockFn f = fn;
  const int64_t gm = gridM, gn = gridN;
  ThreadPool *pool = &device.pool();
  return [f, gm, gn, pool](const float *a, const float *b, float *c,
                           float alpha, float beta) {
    pool->parallelFor(
        gm * gn, [&](int64_t i) { f(a, b, c, alpha, beta, i / gn, i % gn); });
  };
}

} // namespace kt
