// A loaded CPU attention code object's entry points (CpuAttentionAbi.h) and
// how to run it on a thread pool: one pass over its blocks, and for
// split-KV code objects a second over its tiles that merges the parts.
// Shared by the tuner's measurements and the runtime's launches.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/device/CpuAttentionAbi.h"
#include "ktune/device/Device.h"
#include "ktune/device/ThreadPool.h"

#include <cstddef>
#include <cstdint>

namespace kt {

struct CpuAttentionKernel {
  CpuAttentionBlockFn block = nullptr;
  int64_t blocks = 0;
  /// Split-KV code objects only (splits > 1).
  int64_t splits = 1;
  CpuAttentionMergeFn merge = nullptr;
  int64_t workspaceBytes = 0;

  /// The entry points of `module`; InternalError naming what is missing or
  /// inconsistent.
  static Result<CpuAttentionKernel> resolve(const Module &module);

  /// A calling thread's split workspace up to this size is kept for its
  /// next launch whatever that needs; a larger one only while the next
  /// launch needs at least half of it.
  static constexpr size_t kKeptWorkspaceBytes = size_t(64) << 20;

  /// Stack a thread must have left to run blocks (their buffers, at most
  /// 384 KiB, and the frames around them), and the stack of the thread a
  /// launch moves to when the caller has less and the pool no workers.
  static constexpr int64_t kCallerStackBytes = int64_t(512) << 10;
  static constexpr int64_t kLaunchStackBytes = int64_t(2) << 20;

  /// O = attention(Q, K, V) on `pool`. Split kernels use a workspace owned
  /// by the calling thread (reused across its launches, kKeptWorkspaceBytes).
  /// A caller with less than kCallerStackBytes of stack left runs no block
  /// itself (ThreadStack.h).
  void run(ThreadPool &pool, const void *q, const void *k, const void *v,
           void *o, float scale) const;

private:
  void launch(ThreadPool &pool, const void *q, const void *k, const void *v,
              void *o, float scale, bool callerRuns) const;
};

} // namespace kt
