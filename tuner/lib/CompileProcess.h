// Internal: running one compile worker process, for the CPU and the GPU
// compile paths (CompileWorker.h, CompileLimits.h).
#pragma once

#include "ktune/base/ScratchDir.h"
#include "ktune/tuner/CompileLimits.h"

#include <filesystem>
#include <string>
#include <vector>

namespace kt::compileproc {

/// Writes the source a worker compiles into its scratch folder `dir`
/// (failing where the folder could not be made).
Status writeSource(const ScratchDir &dir, const KernelSource &src,
                   const std::filesystem::path &name);

/// Runs `args` (the worker first) in a process group of its own, its output
/// in `dir`/stderr.txt, under `limits`; returns the bytes it wrote to
/// `out`. At the timeout the whole group is killed (a clang the worker
/// started included). Failures name the cause: the timeout, a signal (with
/// the memory cap), the worker's own message, a worker that cannot run.
Result<std::string> runCompileProcess(std::vector<std::string> args,
                                      const std::filesystem::path &dir,
                                      const std::filesystem::path &out,
                                      const CompileLimits &limits);

} // namespace kt::compileproc
