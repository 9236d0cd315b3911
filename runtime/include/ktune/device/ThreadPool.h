// ThreadPool: a fixed set of workers that runs index ranges in parallel.
#pragma once

#include "ktune/device/ThreadStack.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace kt {

/// parallelFor() hands indices [0, count) to the workers and the calling
/// thread through an atomic counter (dynamic balancing) and returns when all
/// are done. One parallelFor() at a time per pool (calls are serialised);
/// a pool of size 1 runs everything on the calling thread. With
/// `callerRuns` false the caller only waits (its stack may be too small for
/// the work); the pool must then have workers (size() > 1).
///
/// Workers get stacks of workerStackBytes(): at least 8 MiB whatever
/// `ulimit -s` says (CPU attention blocks keep up to 384 KiB on the stack).
/// If the system makes fewer threads than asked, the pool is smaller.
class ThreadPool {
public:
  static constexpr int64_t kMinWorkerStackBytes = int64_t(8) << 20;
  static int64_t workerStackBytes();

  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  int size() const { return int(workers_.size()) + 1; }
  void parallelFor(int64_t count, const std::function<void(int64_t)> &fn,
                   bool callerRuns = true);

private:
  void workerLoop();
  /// Claims indices from next_ and runs them until none are left.
  void runIndices(const std::function<void(int64_t)> &fn, int64_t count);

  std::vector<std::unique_ptr<StackThread>> workers_;
  std::mutex runMutex_; // serialises parallelFor callers
  std::mutex mutex_;    // guards everything below except next_
  std::condition_variable wake_, done_;
  const std::function<void(int64_t)> *job_ = nullptr;
  int64_t count_ = 0;
  std::atomic<int64_t> next_{0}; // next unclaimed index of the current job
  uint64_t generation_ = 0;      // bumped once per dispatched job
  int slots_ = 0;                // workers still to join the current job
  int active_ = 0;               // workers that joined and have not finished
  bool stop_ = false;
};

} // namespace kt
