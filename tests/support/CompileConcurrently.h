// Shared test helper: compiles many kernel instances at once
// (CudaCompiler::compile is thread-safe), a few per core, so that a GPU test
// over hundreds of instances spends its time on the GPU rather than waiting
// for NVRTC one instance at a time. Results come back in input order; the
// caller checks them on its own thread (Catch2 assertions are not
// thread-safe).
#pragma once

#include "ktune/compiler/CudaCompiler.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace kt::test {

struct CompileJob {
  KernelSource source;
  std::string identity;
};

inline std::vector<Result<CudaKernelBinary>>
compileConcurrently(const CudaCompiler &compiler,
                    const std::vector<CompileJob> &jobs) {
  std::vector<Result<CudaKernelBinary>> out(jobs.size(),
                                            internalError("not compiled"));
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next++) < jobs.size();) {
      out[i] = compiler.compile(jobs[i].source, jobs[i].identity);
    }
  };
  const size_t n = std::min<size_t>(
      jobs.size(), std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> threads;
  for (size_t t = 1; t < n; ++t) {
    threads.emplace_back(work);
  }
  work();
  for (std::thread &t : threads) {
    t.join();
  }
  return out;
}

} // namespace kt::test
