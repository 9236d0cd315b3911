// CompilePool: compiles a batch of candidate configurations on a few
// threads (each compile possibly in a worker process) and hands them to the
// measuring thread in completion order.
#pragma once

#include "ktune/compiler/CpuCompiler.h"
#include "ktune/problem/Config.h"
#include "ktune/templates/GemmTemplate.h"
#include "ktune/tuner/CompileWorker.h"

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace kt {

struct Compiled {
  Config config;
  Result<CompiledKernel> kernel = internalError("not compiled");
};

/// Compiles a batch on `jobs` threads; hands results to the consumer in
/// completion order. Without overlap the consumer waits for the batch.
class CompilePool {
public:
  /// `instantiate` gives a configuration's source; `identity` prefixes
  /// the configuration in the binary cache key (family, hash, problem).
  CompilePool(const CpuCompiler &compiler, const CompileLimits &limits,
              std::function<Result<KernelSource>(const Config &)> instantiate,
              std::string identity, std::vector<Config> batch, int jobs)
      : compiler_(compiler), limits_(limits),
        instantiate_(std::move(instantiate)), identity_(std::move(identity)),
        batch_(std::move(batch)) {
    for (int i = 0; i < std::max(1, jobs); ++i) {
      workers_.emplace_back([this] { work(); });
    }
  }
  ~CompilePool() {
    for (std::thread &t : workers_) {
      t.join();
    }
  }
  /// Next finished compile, or nullopt when the batch is exhausted.
  std::optional<Compiled> pop(bool waitForAll) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] {
      return finished_ == batch_.size() || (!waitForAll && !done_.empty());
    });
    if (done_.empty()) {
      return std::nullopt;
    }
    Compiled c = std::move(done_.front());
    done_.pop_front();
    return c;
  }

private:
  void work() {
    for (;;) {
      size_t i;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (next_ == batch_.size()) {
          return;
        }
        i = next_++;
      }
      Compiled c{batch_[i]};
      auto src = instantiate_(batch_[i]);
      if (!src) {
        c.kernel = src.status();
      } else {
        c.kernel = compileLimited(
            compiler_, *src, identity_ + "|" + batch_[i].toString(), limits_);
      }
      std::lock_guard<std::mutex> lock(mutex_);
      done_.push_back(std::move(c));
      ++finished_;
      cv_.notify_all();
    }
  }

  const CpuCompiler &compiler_;
  const CompileLimits &limits_;
  std::function<Result<KernelSource>(const Config &)> instantiate_;
  std::string identity_;
  std::vector<Config> batch_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Compiled> done_;
  size_t next_ = 0, finished_ = 0;
};

} // namespace kt
