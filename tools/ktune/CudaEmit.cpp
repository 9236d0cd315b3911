#include "CudaEmit.h"

#include <fmt/format.h>

namespace kt::cli {
namespace {

std::string resourceReport(const CudaKernelBinary &bin,
                           const KernelSource &src) {
  const CudaResources &r = bin.resources;
  auto reported = [&](int bytes) {
    return r.reported ? fmt::format("{} B", bytes)
                      : std::string("unknown (no ptxas report in the log)");
  };
  std::string o = fmt::format(
      "registers/thread: {}\nstack frame: {} B\nspill stores: {}\nspill "
      "loads: {}\nstatic shared: {}\nlaunch: {}\ncubin: {} B, sha256 {}\n",
      r.registers, r.stackBytes, reported(r.spillStoreBytes),
      reported(r.spillLoadBytes), reported(r.staticSharedBytes),
      src.launch.empty() ? "-" : src.launch, bin.cubin.size(), bin.hash);
  for (const std::string &w : r.warnings) {
    o += "warning: " + w + "\n";
  }
  return o;
}

} // namespace

Status checkCudaEmit(const std::string &emit) {
  for (const char *e : {"cuda", "mlir", "ptx", "cubin", "resources", "sass"}) {
    if (emit == e) {
      return Status::ok();
    }
  }
  return invalidArgument(fmt::format(
      "unknown --emit '{}' for a cuda target; expected cuda or mlir (the "
      "instance's source), ptx, cubin, resources or sass",
      emit));
}

Result<std::string> emitCuda(const CudaCompiler &compiler,
                             const KernelSource &src, const std::string &emit) {
  KT_RETURN_IF_ERROR(checkCudaEmit(emit));
  if (emit == "cuda" || emit == "mlir") {
    return src.text;
  }
  KT_ASSIGN_OR_RETURN(CudaKernelBinary bin, compiler.compile(src, ""));
  if (emit == "ptx") {
    return bin.ptx;
  }
  if (emit == "cubin") {
    return bin.cubin;
  }
  if (emit == "resources") {
    return resourceReport(bin, src);
  }
  return disassembleCubin(bin.cubin);
}

} // namespace kt::cli
