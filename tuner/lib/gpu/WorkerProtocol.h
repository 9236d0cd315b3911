// Internal: the worker side of the line protocol GpuWorker.h describes,
// shared by ktune-cuda-worker and ktune-hip-worker: arguments, and the
// ready / start / result / error lines on stdout.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/problem/AttentionProblem.h"
#include "ktune/problem/GemmProblem.h"
#include "ktune/templates/AttentionTemplate.h"
#include "ktune/templates/GemmTemplate.h"
#include "ktune/tuner/GpuMeasurement.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kt::worker {

struct Args {
  int device = 0;
  std::string problem, tmpl, cacheDir, binaries, overrideSource, prebuilt;
  std::vector<std::string> configs;
  int64_t rotateBytes = 0;
  double maxMs = 300, bestMs = 0;
};

/// The options measureInWorker passes; InvalidArgument naming a bad one.
Result<Args> parseArgs(int argc, char **argv);

/// What a worker was asked to measure: a GEMM or (for an attn_ signature)
/// an attention problem, and the family: a template, or the vendor
/// library's (GEMMs only).
struct Job {
  bool attention = false, vendor = false;
  GemmProblem gemm;
  AttentionProblem attn;
  const GemmTemplate *gemmTemplate = nullptr;
  const AttentionTemplate *attnTemplate = nullptr;

  std::string problemKey() const;
  /// "<family>|<source hash>" ("" for the vendor's).
  std::string familyId() const;
  Result<KernelSource> instantiate(const Config &c,
                                   const TargetDesc &target) const;
};

/// The job of `args`; `vendorFamily` names the vendor library's family
/// ("cublaslt", "hipblaslt"), `vendorName` the library in messages.
Result<Job> parseJob(const Args &args, const char *vendorFamily,
                     const char *vendorName);

/// Writes `line` and a newline to stdout, flushed.
void emit(const std::string &line);
/// The `error` line and a message on stderr naming `program`; returns 2,
/// the exit code of a worker that cannot start.
int startFailure(const char *program, const std::string &why);
/// ready <name> <arch> <units> <reference ms> <sets> <compiler>.
void emitReady(const std::string &name, const std::string &arch, int units,
               double referenceMs, int sets, const std::string &compiler);
/// start <config>.
void emitStart(const std::string &config);
/// result <config> <status> <ms> <dispersion> <iterations> <max error>
/// <binary sha256> <message>; `m` null for candidates never measured.
void emitResult(const std::string &config, const std::string &status,
                const std::string &message, const GpuMeasurement *m = nullptr,
                const std::string &hash = "");

/// The whole file (binary), or "" where it cannot be read.
std::string readFile(const std::string &path);
/// Writes `bytes` to `path`; false on failure.
bool writeFile(const std::string &path, const std::string &bytes);

} // namespace kt::worker
