#include "ktune/tuner/CompileWorker.h"

#include "CompileProcess.h"
#include "gpu/WorkerProtocol.h"

#include "ktune/base/Hash.h"
#include "ktune/compiler/CudaCompiler.h"
#include "ktune/compiler/HipCompiler.h"
#include "ktune/compiler/MlirGpu.h"
#include "ktune/device/TargetDesc.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>

namespace kt {

namespace fs = std::filesystem;
using worker::readFile;
using worker::writeFile;

Result<CompiledKernel> compileLimited(const CpuCompiler &compiler,
                                      const KernelSource &src,
                                      const std::string &identity,
                                      const CompileLimits &limits) {
  if (limits.worker.empty()) {
    return compiler.compile(src, identity);
  }
  const auto start = std::chrono::steady_clock::now();
  ScratchDir dir("ktune-compile");
  KT_RETURN_IF_ERROR(compileproc::writeSource(dir, src, "kernel.mlir"));
  const fs::path out = dir.path / "kernel.so";
  KT_ASSIGN_OR_RETURN(std::string bytes,
                      compileproc::runCompileProcess(
                          {limits.worker, "compile-worker", "--source",
                           (dir.path / "kernel.mlir").string(), "--entry",
                           src.entry, "--identity", identity, "--cache-dir",
                           compiler.cacheDir(), "--out", out.string()},
                          dir.path, out, limits));
  CompiledKernel k;
  k.bytes = std::move(bytes);
  k.hash = sha256Hex(k.bytes);
  k.compileMs = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - start)
                    .count();
  return k;
}

namespace {

/// The GPU compile of the worker: the code object of `src` for `target`.
Result<std::string> compileForGpu(const CompileWorkerArgs &a,
                                  const TargetDesc &target,
                                  const KernelSource &src) {
  if (target.kind == TargetKind::Cuda) {
    KT_ASSIGN_OR_RETURN(
        CudaCompiler compiler,
        CudaCompiler::create(target, a.cacheDir, mlirPtxFrontend()));
    KT_ASSIGN_OR_RETURN(CudaKernelBinary bin,
                        compiler.compile(src, a.identity));
    return std::move(bin.cubin);
  }
  KT_ASSIGN_OR_RETURN(HipFrontend frontend, parseHipFrontend(a.hipFrontend));
  KT_ASSIGN_OR_RETURN(HipCompiler compiler,
                      HipCompiler::create(target, a.cacheDir, frontend));
  KT_ASSIGN_OR_RETURN(HipKernelBinary bin, compiler.compile(src, a.identity));
  return std::move(bin.codeObject);
}

} // namespace

int runCompileWorker(const CompileWorkerArgs &a) {
  KernelSource src;
  src.language = a.language;
  src.entry = a.entry;
  src.text = readFile(a.sourcePath);
  if (src.text.empty()) {
    fmt::print(stderr, "compile worker: cannot read {}\n", a.sourcePath);
    return 2;
  }
  std::string bytes;
  if (a.target == "cpu") {
    CpuCompiler compiler(TargetDesc::host(), a.cacheDir);
    auto k = compiler.compile(src, a.identity);
    if (!k) {
      fmt::print(stderr, "{}\n", k.status().message());
      return 1;
    }
    bytes = std::move(k->bytes);
  } else {
    auto target = parseTarget(a.target);
    if (!target || target->kind == TargetKind::Cpu) {
      fmt::print(stderr,
                 "compile worker: target '{}' is not cpu, cuda:sm_XX "
                 "or hip:gfxNNN\n",
                 a.target);
      return 2;
    }
    auto code = compileForGpu(a, *target, src);
    if (!code) {
      fmt::print(stderr, "{}\n", code.status().message());
      return 1;
    }
    bytes = std::move(*code);
  }
  if (!writeFile(a.outPath, bytes)) {
    fmt::print(stderr, "compile worker: cannot write {}\n", a.outPath);
    return 2;
  }
  return 0;
}

} // namespace kt
