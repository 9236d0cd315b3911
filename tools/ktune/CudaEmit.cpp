#include "CudaEmit.h"

#include <fmt/format.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace kt::cli {
namespace {

namespace fs = std::filesystem;

/// nvdisasm from PATH or the CUDA install; empty if there is none.
std::string findDisassembler() {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/local/cuda/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    std::string dir = path.substr(
        start, end == std::string::npos ? std::string::npos : end - start);
    if (!dir.empty() && ::access((dir + "/nvdisasm").c_str(), X_OK) == 0) {
      return dir + "/nvdisasm";
    }
    start = end == std::string::npos ? path.size() + 1 : end + 1;
  }
  return "";
}

Result<std::string> disassemble(const std::string &cubin) {
  std::string tool = findDisassembler();
  if (tool.empty()) {
    return unavailable(
        "no SASS disassembler: nvdisasm is not on PATH nor in "
        "/usr/local/cuda/bin (this CUDA install lacks it); write the cubin "
        "with `--emit cubin -o kernel.cubin` and disassemble it where "
        "nvdisasm exists, or use --emit ptx / --emit resources");
  }
  fs::path file = fs::temp_directory_path() /
                  fmt::format("ktune-sass-{}.cubin", ::getpid());
  {
    std::ofstream out(file, std::ios::binary);
    out.write(cubin.data(), std::streamsize(cubin.size()));
  }
  std::string cmd = fmt::format("'{}' -c '{}' 2>&1", tool, file.string());
  std::string text;
  if (FILE *p = ::popen(cmd.c_str(), "r")) {
    std::array<char, 4096> buf;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) {
      text.append(buf.data(), n);
    }
    int rc = ::pclose(p);
    std::error_code ec;
    fs::remove(file, ec);
    if (rc != 0) {
      return internalError(fmt::format("{} failed:\n{}", tool, text));
    }
    return text;
  }
  return internalError("cannot run " + tool);
}

std::string resourceReport(const CudaKernelBinary &bin,
                           const KernelSource &src) {
  const CudaResources &r = bin.resources;
  std::string o = fmt::format(
      "registers/thread: {}\nstack frame: {} B\nspill stores: {} B\nspill "
      "loads: {} B\nstatic shared: {} B\nlaunch: {}\ncubin: {} B, sha256 "
      "{}\n",
      r.registers, r.stackBytes, r.spillStoreBytes, r.spillLoadBytes,
      r.staticSharedBytes, src.launch.empty() ? "-" : src.launch,
      bin.cubin.size(), bin.hash);
  for (const std::string &w : r.warnings) {
    o += "warning: " + w + "\n";
  }
  return o;
}

} // namespace

Status checkCudaEmit(const std::string &emit) {
  for (const char *e : {"cuda", "ptx", "cubin", "resources", "sass"}) {
    if (emit == e) {
      return Status::ok();
    }
  }
  return invalidArgument(fmt::format(
      "unknown --emit '{}' for a cuda target; expected cuda, ptx, cubin, "
      "resources or sass",
      emit));
}

Result<std::string> emitCuda(const CudaCompiler &compiler,
                             const KernelSource &src, const std::string &emit) {
  KT_RETURN_IF_ERROR(checkCudaEmit(emit));
  if (emit == "cuda") {
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
  return disassemble(bin.cubin);
}

} // namespace kt::cli
