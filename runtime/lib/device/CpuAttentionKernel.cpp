#include "ktune/device/CpuAttentionKernel.h"

#include "ktune/device/ThreadStack.h"

#include <fmt/format.h>

#include <vector>

namespace kt {

Result<CpuAttentionKernel> CpuAttentionKernel::resolve(const Module &module) {
  auto symbol = [&](const char *name) -> Result<void *> {
    Result<void *> f = module.function(name);
    if (!f.isOk()) {
      return internalError(fmt::format(
          "the code object does not follow the CPU attention ABI: {}",
          f.status().toString()));
    }
    return f;
  };
  CpuAttentionKernel k;
  KT_ASSIGN_OR_RETURN(void *block, symbol(kCpuAttentionSymbol));
  KT_ASSIGN_OR_RETURN(void *blocks, symbol(kCpuAttentionBlocksSymbol));
  k.block = reinterpret_cast<CpuAttentionBlockFn>(block);
  k.blocks = reinterpret_cast<CpuBlocksFn>(blocks)();
  if (module.function(kCpuAttentionSplitsSymbol).isOk()) {
    KT_ASSIGN_OR_RETURN(void *splits, symbol(kCpuAttentionSplitsSymbol));
    KT_ASSIGN_OR_RETURN(void *merge, symbol(kCpuAttentionMergeSymbol));
    KT_ASSIGN_OR_RETURN(void *ws, symbol(kCpuAttentionWorkspaceSymbol));
    k.splits = reinterpret_cast<CpuBlocksFn>(splits)();
    k.merge = reinterpret_cast<CpuAttentionMergeFn>(merge);
    k.workspaceBytes = reinterpret_cast<CpuBlocksFn>(ws)();
    if (k.splits < 1 || k.workspaceBytes < 0 ||
        (k.splits > 1 && k.workspaceBytes == 0)) {
      return internalError(fmt::format(
          "the attention code object reports {} splits and a workspace of {} "
          "bytes",
          k.splits, k.workspaceBytes));
    }
  }
  if (k.blocks <= 0 || k.blocks % k.splits != 0) {
    return internalError(
        fmt::format("the attention code object reports {} blocks for {} splits",
                    k.blocks, k.splits));
  }
  return k;
}

void CpuAttentionKernel::run(ThreadPool &pool, const void *q, const void *k,
                             const void *v, void *o, float scale) const {
  // Blocks keep their buffers on the stack (up to 384 KiB; 160 KiB for the
  // AVX-512 prefill default). A caller with less stack left than
  // kCallerStackBytes only waits while the pool's workers run them, or,
  // without workers, hands the launch to a thread of its own.
  const int64_t left = threadStackBytesLeft();
  if (left >= 0 && left < kCallerStackBytes) {
    if (pool.size() > 1) {
      launch(pool, q, k, v, o, scale, /*callerRuns=*/false);
      return;
    }
    if (runOnStack(kLaunchStackBytes,
                   [&] { launch(pool, q, k, v, o, scale, true); })) {
      return;
    }
  }
  launch(pool, q, k, v, o, scale, true);
}

void CpuAttentionKernel::launch(ThreadPool &pool, const void *q, const void *k,
                                const void *v, void *o, float scale,
                                bool callerRuns) const {
  if (splits <= 1) {
    pool.parallelFor(
        blocks, [&](int64_t b) { block(q, k, v, o, scale, b); }, callerRuns);
    return;
  }
  // Every part writes all of its rows' states, so the workspace needs no
  // clearing. The calling thread keeps it for its next launch (a decode
  // loop asks for the same size each step), but a launch that needs less
  // than half of a workspace over kKeptWorkspaceBytes gets a fresh one: a
  // rare large split launch does not pin its memory for the thread's
  // lifetime.
  thread_local std::vector<float> workspace;
  const size_t floats = size_t((workspaceBytes + 3) / 4);
  if (workspace.capacity() > kKeptWorkspaceBytes / 4 &&
      workspace.capacity() > 2 * floats) {
    std::vector<float>().swap(workspace);
  }
  workspace.resize(floats);
  void *ws = workspace.data();
  pool.parallelFor(
      blocks, [&](int64_t b) { block(q, k, v, ws, scale, b); }, callerRuns);
  pool.parallelFor(
      blocks / splits, [&](int64_t t) { merge(ws, o, t); }, callerRuns);
}

} // namespace kt
