// Internal: the worker side of the line protocol GpuWorker.h describes,
// shared by ktune-cuda-worker and ktune-hip-worker: arguments, and the
// ready / start / result / error lines on stdout.
#pragma once

#include "ktune/base/Status.h"
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
