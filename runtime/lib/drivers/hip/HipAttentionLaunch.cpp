#include "ktune/drivers/hip/HipAttentionLaunch.h"

namespace kt::hip {

Status launchAttention(const Context &ctx, void *function,
                       const cuda::AttentionLaunchSpec &spec,
                       const AttentionProblem &p,
                       const cuda::AttentionOperands &ops, void *stream) {
  KT_RETURN_IF_ERROR(cuda::checkAttentionOperands(spec, p, ops, false));
  LaunchConfig cfg;
  cfg.grid[0] = cuda::attentionGridSize(spec, p);
  cfg.block[0] = unsigned(spec.threads);
  cfg.sharedBytes = unsigned(spec.sharedBytes);
  cfg.stream = stream;
  // The runtime copies the arguments at launch.
  uint64_t q = ops.q, k = ops.k, v = ops.v, o = ops.o;
  float scaleLog2 = cuda::attentionScaleLog2(p, ops.scale);
  uint64_t workspace = ops.workspace, semaphores = ops.semaphores;
  if (spec.pointers && spec.split > 1) {
    return ctx.launch(function, cfg,
                      {&q, &k, &v, &o, &scaleLog2, &workspace, &semaphores});
  }
  if (spec.pointers) {
    return ctx.launch(function, cfg, {&q, &k, &v, &o, &scaleLog2});
  }
  int b = int(p.batch), hq = int(p.hq), hkv = int(p.hkv), sq = int(p.sq),
      skv = int(p.skv);
  return ctx.launch(function, cfg,
                    {&q, &k, &v, &o, &b, &hq, &hkv, &sq, &skv, &scaleLog2,
                     &workspace, &semaphores});
}

} // namespace kt::hip
