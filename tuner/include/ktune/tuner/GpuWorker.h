// Measuring GPU candidates in a worker process. A candidate that faults
// (illegal address, misaligned access) poisons its context and one that
// hangs never returns; either costs one candidate: the client records it as
// failed, starts a fresh worker and carries on with the rest.
//
// Two workers speak the same protocol: `ktune-cuda-worker` compiles each
// configuration with NVRTC (or loads a prebuilt cubin), checks it against a
// reference and times it (CudaGemmBench, CudaAttentionBench);
// `ktune-hip-worker` loads code objects the tuner compiled (HipGemmBench).
// Each writes one tab-separated line per event to stdout:
//   ready  <gpu name> <arch> <SMs or CUs> <reference ms> <rotating sets>
//          <compiler>
//   start  <config>
//   result <config> <status> <ms> <dispersion> <iterations> <max error>
//          <binary sha256> <message>
// It exits 0 when done, 3 after a result that lost the context, 2 when it
// cannot start (the reason on an `error` line and stderr).
#pragma once

#include "ktune/base/Status.h"
#include "ktune/problem/Config.h"
#include "ktune/problem/GemmProblem.h"

#include <functional>
#include <string>
#include <vector>

namespace kt {

/// The vendor families: cuBLASLt's / hipBLASLt's heuristic algorithms,
/// configurations "algo=0" (its default choice), "algo=1", ...
inline constexpr const char *kCublasLtFamily = "cublaslt";
inline constexpr const char *kHipBlasLtFamily = "hipblaslt";

struct GpuWorkerOptions {
  std::string worker; ///< Path of ktune-cuda-worker or ktune-hip-worker.
  int device = 0;
  int64_t rotateBytes = 0; ///< 0: the bench's default (2x the caches).
  double maxMsPerCandidate = 300;
  /// A candidate (compile + check + timing) still running after this is
  /// killed and recorded as "timeout".
  double candidateTimeoutSeconds = 120;
  std::string cacheDir; ///< Binary cache ("" disables it).
  /// Testing aid: compile this CUDA file instead of each instance (with the
  /// instance's launch description).
  std::string overrideSource;
  /// Code objects compiled beforehand (CUDA MLIR families and every HIP
  /// family: the workers link no LLVM), named prebuiltBinaryName(config);
  /// the worker loads them instead of compiling. The HIP worker also finds
  /// its reference kernels there (kHipReferenceBinary).
  std::string prebuiltDir;
};

/// "<sha256 of the config text>.bin".
std::string prebuiltBinaryName(const Config &config);
/// The HIP reference kernels (kt_ref, kt_check) in the prebuilt folder.
inline constexpr const char *kHipReferenceBinary = "reference.bin";

struct GpuWorkerDevice {
  std::string name, arch, compilerFingerprint;
  int smCount = 0, rotatingSets = 0;
  double referenceMs = 0;
};

struct GpuCandidateResult {
  Config config;
  std::string status; ///< TuningRecord status names.
  std::string message;
  double ms = 0, dispersion = 0, maxError = 0;
  int64_t iterations = 0;
  std::string binaryHash;
  std::string binary; ///< The code object, for "ok" results.
};

/// Measures `configs` of family `templateName` for `problemKey` (a GEMM key or
/// an attention signature), in order, in as many worker processes as faults
/// require. `onResult` sees every configuration exactly once (failures
/// included) and may stop the run by returning an error. Returns the device the
/// worker reported, or the reason no worker could start.
Result<GpuWorkerDevice> measureInWorker(
    const GpuWorkerOptions &options, const std::string &problemKey,
    const std::string &templateName, const std::vector<Config> &configs,
    double bestMs,
    const std::function<Status(const GpuCandidateResult &)> &onResult);

/// The workers' mains: parse their arguments and run. Return the exit code.
int runCudaWorker(int argc, char **argv);
int runHipWorker(int argc, char **argv);

} // namespace kt
