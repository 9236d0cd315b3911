// Shared test helper: compiles many kernel instances at once
// (CudaCompiler::compile is thread-safe), a few per core, so that a GPU test
// over hundreds of instances spends its time on the GPU rather than waiting
// for NVRTC one instance at a time. Results come back in input order; the
// caller checks them on its own thread (Catch2 assertions are not
// thread-safe).
#pragma once

#include "ktune/compiler/CudaCompiler.h"

#include <catch2/catch.hpp>

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

/// One configuration of a family for a problem, with its source and its
/// compile result.
struct CompiledInstance {
  Config config;
  KernelSource source;
  Result<CudaKernelBinary> binary;
};

/// Every configuration of `configs` that template `t` accepts for `p` on the
/// compiler's target, instantiated (which must succeed) and compiled
/// concurrently; in the order of `configs`.
template <class Template, class Problem>
std::vector<CompiledInstance>
compileAccepted(const Template &t, const CudaCompiler &compiler,
                const std::vector<Config> &configs, const Problem &p) {
  std::vector<Config> accepted;
  std::vector<CompileJob> jobs;
  for (const Config &c : configs) {
    if (!t.validate(c, p, compiler.target()).isOk()) {
      continue;
    }
    INFO(p.key() << " " << c.toString());
    auto src = t.instantiate(c, p, compiler.target());
    REQUIRE(src.isOk());
    accepted.push_back(c);
    jobs.push_back({std::move(*src), c.toString() + p.key()});
  }
  auto bins = compileConcurrently(compiler, jobs);
  std::vector<CompiledInstance> out;
  for (size_t i = 0; i < jobs.size(); ++i) {
    out.push_back({accepted[i], std::move(jobs[i].source), std::move(bins[i])});
  }
  return out;
}

} // namespace kt::test
