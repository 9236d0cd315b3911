// Launching an AMD attention code object. The HIP attention families emit
// the same launch description as the CUDA ones (cuda::AttentionLaunchSpec:
// threads, rows per workgroup, KV block, split, pack, semaphores; its grid
// and split-KV scratch rules hold as they are), with pointer signatures:
//  - hip.attention.mfma (no args field): any problem of the family's shape,
//      kt_attention(const T *Q, const T *K, const T *V, T *O, int B, int Hq,
//                   int Hkv, int Sq, int Skv, float scaleLog2,
//                   float *workspace, unsigned *semaphores)
//  - hip.attention.mlir ("args=pointers"): specialised to the problem,
//      kt_attention(const T *Q, const T *K, const T *V, T *O,
//                   float scaleLog2[, float *workspace,
//                   unsigned *semaphores])
//    (the last two with split > 1).
#pragma once

#include "ktune/base/Status.h"
#include "ktune/drivers/cuda/AttentionLaunch.h"
#include "ktune/drivers/hip/HipContext.h"
#include "ktune/problem/AttentionProblem.h"

namespace kt::hip {

/// cuda::checkAttentionOperands() (no TMA constraints), then launches
/// `function` asynchronously on `stream`.
Status launchAttention(const Context &ctx, void *function,
                       const cuda::AttentionLaunchSpec &spec,
                       const AttentionProblem &p,
                       const cuda::AttentionOperands &ops,
                       void *stream = nullptr);

} // namespace kt::hip
