// Measuring CUDA candidates in a worker process. A candidate that faults
// (illegal address, misaligned access) poisons its CUDA context and one that
// hangs never returns; either costs one candidate: the client records it as
// failed, starts a fresh worker and carries on with the rest.
//
// The worker (`ktune-cuda-worker`) compiles each configuration with NVRTC,
// checks it against a reference and times it (CudaGemmBench), writing one
// tab-separated line per event to stdout:
//   ready  <gpu name> <arch> <SMs> <reference ms> <rotating sets> <compiler>
//   start  <config>
//   result <config> <status> <ms> <dispersion> <iterations> <max error>
//          <binary sha256> <message>
// It exits 0 when done, 3 after a result that lost the context, 2 when it
// cannot start (the reason on an `error` line and stderr).
#pragma once

#include "ktune/base/Status.h"
#include "ktune/compiler/CudaCompiler.h"
#include "ktune/problem/Config.h"
#include "ktune/problem/GemmProblem.h"

#include <functional>
#include <string>
#include <vector>

namespace kt {

/// The vendor family: cuBLASLt's heuristic algorithms, configurations
/// "algo=0" (its default choice), "algo=1", ...
inline constexpr const char *kCublasLtFamily = "cublaslt";

struct CudaWorkerOptions {
  std::string worker; ///< Path of ktune-cuda-worker.
  int device = 0;
  int64_t rotateBytes = 0; ///< 0: the bench's default (2x L2).
  double maxMsPerCandidate = 300;
  /// A candidate (compile + check + timing) still running after this is
  /// killed and recorded as "timeout".
  double candidateTimeoutSeconds = 120;
  std::string cacheDir; ///< NVRTC binary cache ("" disables it).
  /// Testing aid: compile this CUDA file instead of each instance (with the
  /// instance's launch description).
  std::string overrideSource;
  /// Cubins compiled beforehand (MLIR families: the worker links no MLIR),
  /// named prebuiltCubinName(config); the worker loads them instead of
  /// compiling.
  std::string prebuiltDir;
};

/// "<sha256 of the config text>.cubin".
std::string prebuiltCubinName(const Config &config);

struct CudaWorkerDevice {
  std::string name, arch, compilerFingerprint;
  int smCount = 0, rotatingSets = 0;
  double referenceMs = 0;
};

struct CudaCandidateResult {
  Config config;
  std::string status; ///< TuningRecord status names.
  std::string message;
  double ms = 0, dispersion = 0, maxError = 0;
  int64_t iterations = 0;
  std::string binaryHash;
  std::string cubin; ///< For "ok" results.
};

/// Measures `configs` of family `templateName` for `problemKey` (a GEMM key or
/// an attention signature), in order, in as many worker processes as faults
/// require. `onResult` sees every configuration exactly once (failures
/// included) and may stop the run by returning an error. Returns the device the
/// worker reported, or the reason no worker could start.
Result<CudaWorkerDevice> measureInWorker(
    const CudaWorkerOptions &options, const std::string &problemKey,
    const std::string &templateName, const std::vector<Config> &configs,
    double bestMs,
    const std::function<Status(const CudaCandidateResult &)> &onResult);

/// The worker's main: parses its arguments and runs. Returns the exit code.
int runCudaWorker(int argc, char **argv);

} // namespace kt
