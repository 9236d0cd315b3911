// The state behind kt.h's opaque context: a snapshot of a results file's
// winners for one device, indexed for lock-free lookups, plus the log of
// misses and the lookup counters.
#pragma once

#include "DeviceKernels.h"
#include "Fallback.h"
#include "KernelHandle.h"
#include "MissLog.h"
#include "ProblemIndex.h"

#include "kt/kt.h"
#include "ktune/base/Status.h"
#include "ktune/cache/ResultsStore.h"
#include "ktune/cache/TuningRecord.h"
#include "ktune/device/CpuDevice.h"
#include "ktune/problem/GemmProblem.h"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace kt::lookup {

/// Seconds a jit compile may take unless the options say otherwise
/// (kt_context_options.jit_timeout_s).
inline constexpr double kDefaultJitTimeoutSeconds = 300;

/// What kt_context_create() was asked for, in C++ types.
struct ContextOptions {
  std::string resultsPath;
  /// "cpu", "cuda" / "cuda:N", "hip" / "hip:N", or "" for the best
  /// available.
  std::string device;
  int numThreads = 0;
  bool checkValidators = true;
  bool recordMisses = true;
  std::string missesCsvPath; ///< "" = none.
  std::string reportPath;    ///< "" = none, "-" = stderr.
  bool loadOnFirstUse = false;
  bool fallback = true;
  bool jit = false;
  std::string jitCompiler; ///< "" = "ktune" on the PATH.
  double jitTimeoutSeconds = kDefaultJitTimeoutSeconds; ///< <= 0: no limit.
};

/// Lookup counters, summed over the per-thread shards.
struct LookupStats {
  int64_t entries = 0, skipped = 0, otherTargets = 0;
  int64_t lookups = 0, hits = 0, fallbacks = 0, misses = 0;
  int64_t missedProblems = 0;
  int64_t compiled = 0;
};

} // namespace kt::lookup

/// Thread-safety: lookupGemm() and launchGemm() may be called from many
/// threads at once. A hit reads the immutable index and one entry, with no
/// lock, allocation or I/O (with loadOnFirstUse, an entry's first lookup
/// loads its code object once under a lock). A miss takes one shard lock of
/// the miss log.
struct kt_context {
public:
  /// Reads the results file (SQLite, or a ktune / TunableOp CSV) and, unless
  /// loading on first use, loads every usable winner's code object.
  static kt::Result<std::unique_ptr<kt_context>>
  create(const kt::lookup::ContextOptions &options);
  /// Writes pending misses and the report if they were asked for.
  ~kt_context();

  /// The kernel for `problem` (filled-in leading dimensions, valid), a
  /// fallback kernel, or NotFound saying why there is none. The pointer
  /// lives as long as the context.
  kt::Result<const kt_kernel *> lookupGemm(const kt::GemmProblem &problem);

  /// The kernel for an attention problem (valid), or NotFound saying why.
  kt::Result<const kt_kernel *>
  lookupAttention(const kt::AttentionProblem &problem);
  kt::Status launchAttention(const kt_kernel &kernel, const void *q,
                             const void *k, const void *v, void *o,
                             float scale);

  /// Runs every block of a CPU `kernel` on the device's thread pool.
  kt::Status launchGemm(const kt_kernel &kernel, const void *a, const void *b,
                        void *c, float alpha, float beta);

  /// Prepares a CUDA `kernel` on device pointers (tensor maps encoded, no
  /// device synchronisation); `workspace` as cudaWorkspaceBytes() says.
  kt::Result<kt::cuda::PreparedGemm>
  prepareCuda(const kt_kernel &kernel, void *stream, uint64_t a, uint64_t b,
              uint64_t c, float alpha, float beta, uint64_t workspace) const;
  kt::Status launchCuda(const kt::cuda::PreparedGemm &prepared) const;
  /// The same for a CUDA attention kernel; `scale` <= 0: 1 / sqrt(d).
  kt::Result<kt::cuda::PreparedAttention>
  prepareCudaAttention(const kt_kernel &kernel, void *stream, uint64_t q,
                       uint64_t k, uint64_t v, uint64_t o, float scale,
                       uint64_t workspace) const;
  kt::Status launchCuda(const kt::cuda::PreparedAttention &prepared) const;

  /// Runs a HIP `kernel` on `stream` (hipStream_t) with device pointers;
  /// `workspace` as hipWorkspaceBytes() says. Asynchronous.
  kt::Status launchHip(const kt_kernel &kernel, void *stream, uint64_t a,
                       uint64_t b, uint64_t c, float alpha, float beta,
                       uint64_t workspace) const;

  /// The same for a HIP attention kernel; `scale` <= 0: 1 / sqrt(d).
  kt::Status launchHipAttention(const kt_kernel &kernel, void *stream,
                                uint64_t q, uint64_t k, uint64_t v, uint64_t o,
                                float scale, uint64_t workspace) const;

  /// "cuda", "hip" or "cpu".
  const char *deviceKind() const;
  /// Ok if `kernel` may run through kt_{gemm|attention}_launch_{kind}: it
  /// is on this context's device of that kind (`onDevice`) and of that op;
  /// else the error names the right launch function.
  kt::Status checkLaunchTarget(const kt_kernel &kernel, bool onDevice,
                               bool attention, const char *kind) const;

  /// The device kind: CUDA, HIP, or (neither) the CPU.
  bool isCuda() const { return cudaContextOf(*kernels_) != nullptr; }
  bool isHip() const { return hipContextOf(*kernels_) != nullptr; }

  /// Writes the misses counted since the last write: to the results file's
  /// misses table (SQLite files, if recordMisses) and appended to the
  /// misses CSV (if set). Counts that could not be written are kept.
  kt::Status flushMisses();

  kt::lookup::LookupStats stats() const;
  /// A human-readable account: what the file held, what was skipped and
  /// why, and the hits, fallbacks and misses so far.
  std::string report() const;

private:
  /// One tuned problem for this device: its record and, once loaded, its
  /// kernel or the reason it cannot be used.
  struct Entry {
    kt::TuningRecord record;
    std::unique_ptr<kt_kernel> kernel;
    kt::Status failure;
    std::atomic<bool> loaded{false};
    /// No code object in the file: compile it at first use (options jit).
    bool compile = false;
    kt::GemmProblem gemm;
    kt::AttentionProblem attention;
    bool isAttention = false;
  };
  struct AttentionHash {
    size_t operator()(const kt::AttentionProblem &p) const {
      return kt::lookup::AttentionProblemHasher()(p);
    }
  };
  struct alignas(64) Counters {
    std::atomic<int64_t> hits{0}, fallbacks{0}, misses{0};
  };

  kt_context() = default;
  kt::Status readResults();
  kt::Status readStore(kt::ResultsStore &store);
  /// Validates a new entry and, unless it loads later, loads it. True if
  /// it has a kernel now.
  bool prepareEntry(Entry &e);
  void load(Entry &entry);
  kt::Status loadNow(Entry &entry);
  /// Compiles `record`'s template and parameters for this target with the
  /// ktune executable; the code object's bytes.
  kt::Result<std::string> compileNow(const kt::TuningRecord &record);
  kt::lookup::MissOutcome resolveMiss(const kt::GemmProblem &problem,
                                      int64_t entry);
  Counters &counters();
  void countSkipped(const std::string &reason);

  kt::lookup::ContextOptions options_;
  bool sqliteFile_ = false;
  kt::Validators validators_;
  std::unique_ptr<kt::ResultsStore> store_; ///< Kept for loadOnFirstUse.
  std::unique_ptr<kt::CpuDevice> device_;   ///< CPU contexts only.
  std::unique_ptr<kt::lookup::DeviceKernels> kernels_;

  std::vector<kt::GemmProblem> problems_;
  std::unique_ptr<Entry[]> entries_;
  /// Attention entries: immutable after create(), read without locks.
  std::unordered_map<kt::AttentionProblem, int64_t, AttentionHash>
      attentionIndex_;
  std::unique_ptr<Entry[]> attentionEntries_;
  std::optional<kt::lookup::ProblemIndex> index_;
  std::map<std::string, std::shared_ptr<const void>> modules_;
  std::vector<kt::lookup::FallbackCandidate> fallbackCandidates_;
  std::mutex loadMutex_; // serialises loads on first use

  // What reading the file found (fixed after create()).
  int64_t usable_ = 0, otherTargets_ = 0, toCompile_ = 0;
  std::atomic<int64_t> compiled_{0};
  std::map<std::string, int64_t> skippedBy_;
  std::vector<std::string> fileErrors_;

  kt::lookup::MissLog misses_;
  kt::lookup::AttentionMissLog attentionMisses_;
  std::mutex flushMutex_;
  static constexpr size_t kCounterShards = 16;
  std::array<Counters, kCounterShards> counters_;
};
