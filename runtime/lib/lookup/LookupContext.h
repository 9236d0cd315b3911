// The state behind kt.h's opaque handles: a results store, a device and the
// per-context cache of looked-up kernels.
#pragma once

#include "kt/kt.h"
#include "ktune/base/Status.h"
#include "ktune/cache/ResultsStore.h"
#include "ktune/cache/TuningRecord.h"
#include "ktune/device/CpuDevice.h"
#include "ktune/device/CpuGemmAbi.h"
#include "ktune/problem/GemmProblem.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

/// A loaded GEMM code object with its resolved entry points. Owned by the
/// context that looked it up; immutable once published in its cache.
struct kt_kernel {
  const kt_context *owner = nullptr;
  std::unique_ptr<kt::Module> module;
  kt::CpuGemmBlockFn blockFn = nullptr;
  int64_t gridM = 0;
  int64_t gridN = 0;
  std::string problemKey;
  std::string templateName;
  std::string params;
  double timeMs = 0;
};

namespace kt::lookup {

/// Hashes every field of a GemmProblem (the fields its key is made of).
struct GemmProblemHash {
  size_t operator()(const GemmProblem &p) const;
};

/// What kt_context_create() was asked for, in C++ types.
struct ContextOptions {
  std::string resultsPath;
  int numThreads = 0;
  bool checkValidators = true;
};

} // namespace kt::lookup

/// Thread-safety: lookupGemm() and launchGemm() may be called from many
/// threads at once. Lookup results, found or not, are cached per problem:
/// the hit path takes a shared lock only; misses are resolved one at a time.
struct kt_context {
public:
  /// Opens the results file read-only and creates the CPU device.
  static kt::Result<std::unique_ptr<kt_context>>
  create(const kt::lookup::ContextOptions &options);

  /// The cached or newly loaded kernel for `problem`, whose leading
  /// dimensions must be filled in and which must be valid. NotFound means
  /// nothing usable is recorded; the returned pointer lives as long as the
  /// context.
  kt::Result<kt_kernel *> lookupGemm(const kt::GemmProblem &problem);

  /// Runs every block of `kernel` on the device's thread pool.
  void launchGemm(const kt_kernel &kernel, const void *a, const void *b,
                  void *c, float alpha, float beta);

private:
  /// A cached lookup outcome: a kernel, or the failure to report again.
  struct CacheEntry {
    std::unique_ptr<kt_kernel> kernel;
    kt::Status failure;
  };

  kt_context() = default;

  /// The cached outcome for `problem`, or nullptr if none.
  const CacheEntry *findCached(const kt::GemmProblem &problem) const;
  static kt::Result<kt_kernel *> outcome(const CacheEntry &entry);
  /// Reads the store and loads the winner. An error result is transient
  /// (the store could not be read) and is not cached; a CacheEntry holding a
  /// failure is definitive and is cached.
  kt::Result<CacheEntry> loadGemm(const kt::GemmProblem &problem);
  /// Loads a code object and resolves the GEMM ABI symbols.
  kt::Result<std::unique_ptr<kt_kernel>>
  loadKernel(const kt::TuningRecord &record, const std::string &bytes);

  std::string resultsPath_;
  bool checkValidators_ = true;
  kt::Validators validators_;
  std::unique_ptr<kt::ResultsStore> store_;
  std::unique_ptr<kt::CpuDevice> device_;

  mutable std::shared_mutex cacheMutex_; // guards cache_
  std::mutex loadMutex_;                 // serialises misses
  std::unordered_map<kt::GemmProblem, CacheEntry, kt::lookup::GemmProblemHash>
      cache_;
};
