// ThreadPool: workers and the caller share indices via an atomic counter.
#include "ktune/device/ThreadPool.h"

#include <algorithm>

namespace kt {

int64_t ThreadPool::workerStackBytes() {
  return std::max<int64_t>(kMinWorkerStackBytes, defaultThreadStackBytes());
}

ThreadPool::ThreadPool(int threads) {
  int workers = std::max(threads, 1) - 1;
  workers_.reserve(workers);
  const int64_t stackBytes = workerStackBytes();
  for (int i = 0; i < workers; ++i) {
    auto worker =
        std::make_unique<StackThread>(stackBytes, [this] { workerLoop(); });
    if (!worker->started()) {
      break; // The system would not make more: a smaller pool.
    }
    workers_.push_back(std::move(worker));
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  workers_.clear(); // Each joins.
}

void ThreadPool::runIndices(const std::function<void(int64_t)> &fn,
                            int64_t count) {
  for (int64_t i = next_.fetch_add(1, std::memory_order_relaxed); i < count;
       i = next_.fetch_add(1, std::memory_order_relaxed)) {
    fn(i);
  }
}

void ThreadPool::parallelFor(int64_t count,
                             const std::function<void(int64_t)> &fn,
                             bool callerRuns) {
  if (count <= 0) {
    return;
  }
  if (workers_.empty() || (count == 1 && callerRuns)) {
    // Nothing to share: run on the calling thread without waking anyone.
    for (int64_t i = 0; i < count; ++i) {
      fn(i);
    }
    return;
  }

  std::lock_guard<std::mutex> run(runMutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    count_ = count;
    next_.store(0, std::memory_order_relaxed);
    // The caller takes indices too, so at most count - 1 workers help.
    slots_ = int(std::min<int64_t>(int64_t(workers_.size()),
                                   callerRuns ? count - 1 : count));
    ++generation_;
  }
  wake_.notify_all();

  std::unique_lock<std::mutex> lock(mutex_);
  if (callerRuns) {
    lock.unlock();
    runIndices(fn, count);
    lock.lock();
  } else {
    // Until the workers have claimed every index (the last to finish one
    // wakes done_).
    done_.wait(lock, [&] {
      return next_.load(std::memory_order_relaxed) >= count && active_ == 0;
    });
  }
  // Every index is claimed now. Workers that have not joined yet are no
  // longer needed; wait only for those still running an index.
  slots_ = 0;
  done_.wait(lock, [this] { return active_ == 0; });
  job_ = nullptr;
  count_ = 0;
}

void ThreadPool::workerLoop() {
  uint64_t seen = 0;
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait(lock,
               [&] { return stop_ || (slots_ > 0 && generation_ != seen); });
    if (stop_) {
      return;
    }
    seen = generation_;
    --slots_;
    ++active_;
    const std::function<void(int64_t)> *job = job_;
    int64_t count = count_;
    lock.unlock();

    runIndices(*job, count);

    lock.lock();
    if (--active_ == 0) {
      done_.notify_one();
    }
  }
}

} // namespace kt
