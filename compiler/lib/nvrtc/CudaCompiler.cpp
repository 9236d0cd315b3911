#include "ktune/compiler/CudaCompiler.h"

#include "ktune/base/Hash.h"
#include "ktune/compiler/BinaryCache.h"
#include "ktune/compiler/NvJitLink.h"
#include "ktune/compiler/NvrtcCompiler.h"

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <unistd.h>

namespace kt {
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

} // namespace

Result<std::string> disassembleCubin(const std::string &cubin) {
  std::string tool = findDisassembler();
  if (tool.empty()) {
    return unavailable(
        "no SASS disassembler: nvdisasm is not on PATH nor in "
        "/usr/local/cuda/bin (this CUDA install lacks it); disassemble the "
        "cubin where nvdisasm exists, or read the PTX and ptxas' report");
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

std::vector<std::string> CudaCompiler::options() {
  // -v: ptxas reports registers, spills and shared memory per kernel.
  return {"-std=c++17", "--ptxas-options=-v", "-default-device"};
}

Result<CudaResources> parsePtxasReport(const std::string &log,
                                       const std::string &entry) {
  CudaResources r;
  bool inEntry = false, found = false;
  std::istringstream in(log);
  std::string line;
  static const std::regex kUsed(R"(Used (\d+) registers)");
  static const std::regex kSmem(R"((\d+) bytes smem)");
  static const std::regex kFrame(
      R"((\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (line.find("Compiling entry function") != std::string::npos ||
        line.find("Function properties for") != std::string::npos) {
      inEntry = line.find("'" + entry + "'") != std::string::npos ||
                line.find(" " + entry) != std::string::npos;
      continue;
    }
    // Warnings, and the notes that say the tensor-core pipeline stalls
    // (ptxas injecting a warpgroup wait, serialising wgmma).
    const bool notable = line.find("arning") != std::string::npos ||
                         line.find("is injected") != std::string::npos ||
                         line.find("serialized") != std::string::npos;
    if (notable && (line.find(entry) != std::string::npos || inEntry)) {
      r.warnings.push_back(line);
      continue;
    }
    if (!inEntry) {
      continue;
    }
    if (std::regex_search(line, m, kFrame)) {
      r.stackBytes = std::stoi(m[1]);
      r.spillStoreBytes = std::stoi(m[2]);
      r.spillLoadBytes = std::stoi(m[3]);
    }
    if (std::regex_search(line, m, kUsed)) {
      r.registers = std::stoi(m[1]);
      found = true;
      if (std::regex_search(line, m, kSmem)) {
        r.staticSharedBytes = std::stoi(m[1]);
      }
    }
  }
  if (!found) {
    return notFound(
        fmt::format("ptxas reported no resource usage for '{}'", entry));
  }
  return r;
}

Result<CudaCompiler> CudaCompiler::create(TargetDesc target,
                                          std::string cacheDir,
                                          PtxFrontend mlir) {
  if (target.kind != TargetKind::Cuda) {
    return invalidArgument("CudaCompiler needs a cuda target, got " +
                           target.toString());
  }
  KT_ASSIGN_OR_RETURN(const NvrtcCompiler *nvrtc, NvrtcCompiler::get());
  CudaCompiler c;
  c.target_ = std::move(target);
  c.cacheDir_ = std::move(cacheDir);
  std::string flags;
  for (const std::string &o : options()) {
    flags += (flags.empty() ? "" : " ") + o;
  }
  c.fingerprint_ = fmt::format("{};arch={};flags={}", nvrtc->version(),
                               c.target_.arch, flags);
  c.mlir_ = std::move(mlir);
  return c;
}

Result<CudaKernelBinary>
CudaCompiler::compile(const KernelSource &src,
                      const std::string &identity) const {
  if (src.language != "cuda" && src.language != "mlir") {
    return invalidArgument(
        fmt::format("CudaCompiler compiles CUDA C++ or MLIR, not '{}' source",
                    src.language));
  }
  const bool isMlir = src.language == "mlir";
  if (isMlir && !mlir_.toPtx) {
    return failedPrecondition(
        "MLIR kernel sources compile only where ktune's MLIR compiler is "
        "linked (the ktune program), not in this process");
  }
  BinaryCache cache(cacheDir_);
  const std::string key =
      sha256Hex(fingerprint_ + "\n" + (isMlir ? mlir_.fingerprint + "\n" : "") +
                identity + "\n" + src.text);
  CudaKernelBinary out;
  auto cubin = cache.get(key);
  auto log = cache.get(key + "-log");
  if (cubin && log) {
    out.cubin = std::move(*cubin);
    out.log = std::move(*log);
    out.fromCache = true;
  } else {
    auto start = std::chrono::steady_clock::now();
    if (isMlir) {
      KT_ASSIGN_OR_RETURN(out, compileMlir(src));
    } else {
      KT_ASSIGN_OR_RETURN(const NvrtcCompiler *nvrtc, NvrtcCompiler::get());
      KT_ASSIGN_OR_RETURN(
          NvrtcOutput o,
          nvrtc->compile(src.text, src.entry + ".cu", target_.arch, options()));
      out.cubin = std::move(o.cubin);
      out.ptx = std::move(o.ptx);
      out.log = std::move(o.log);
    }
    out.compileMs = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    cache.put(key, out.cubin);
    cache.put(key + "-log", out.log.empty() ? std::string(" ") : out.log);
  }
  KT_ASSIGN_OR_RETURN(out.resources, readCubinResources(out.cubin, src.entry));
  if (auto report = parsePtxasReport(out.log, src.entry); report.isOk()) {
    // What the cubin does not keep.
    out.resources.reported = true;
    out.resources.spillStoreBytes = report->spillStoreBytes;
    out.resources.spillLoadBytes = report->spillLoadBytes;
    out.resources.staticSharedBytes = report->staticSharedBytes;
    out.resources.warnings = std::move(report->warnings);
  }
  out.hash = sha256Hex(out.cubin);
  return out;
}

Result<CudaKernelBinary>
CudaCompiler::compileMlir(const KernelSource &src) const {
  KT_ASSIGN_OR_RETURN(const NvJitLink *jit, NvJitLink::get());
  CudaKernelBinary out;
  KT_ASSIGN_OR_RETURN(out.ptx, mlir_.toPtx(src.text, target_.arch));
  KT_ASSIGN_OR_RETURN(NvJitLinkOutput linked,
                      jit->link(out.ptx, src.entry + ".ptx", target_.arch));
  out.cubin = std::move(linked.cubin);
  out.log = std::move(linked.log);
  return out;
}

} // namespace kt
