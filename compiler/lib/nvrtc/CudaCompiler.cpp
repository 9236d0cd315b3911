#include "ktune/compiler/CudaCompiler.h"

#include "ktune/base/Hash.h"
#include "ktune/compiler/BinaryCache.h"
#include "ktune/compiler/NvrtcCompiler.h"

#include <fmt/format.h>

#include <chrono>
#include <regex>
#include <sstream>

namespace kt {

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
    if (line.find("arning") != std::string::npos &&
        (line.find(entry) != std::string::npos || inEntry)) {
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
                                          std::string cacheDir) {
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
  return c;
}

Result<CudaKernelBinary>
CudaCompiler::compile(const KernelSource &src,
                      const std::string &identity) const {
  if (src.language != "cuda") {
    return invalidArgument(fmt::format(
        "CudaCompiler compiles CUDA C++, not '{}' source", src.language));
  }
  KT_ASSIGN_OR_RETURN(const NvrtcCompiler *nvrtc, NvrtcCompiler::get());
  BinaryCache cache(cacheDir_);
  const std::string key =
      sha256Hex(fingerprint_ + "\n" + identity + "\n" + src.text);
  CudaKernelBinary out;
  auto cubin = cache.get(key);
  auto log = cache.get(key + "-log");
  if (cubin && log) {
    out.cubin = std::move(*cubin);
    out.log = std::move(*log);
    out.fromCache = true;
  } else {
    auto start = std::chrono::steady_clock::now();
    const std::string name = src.entry + ".cu";
    KT_ASSIGN_OR_RETURN(
        NvrtcOutput o, nvrtc->compile(src.text, name, target_.arch, options()));
    out.compileMs = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    out.cubin = std::move(o.cubin);
    out.ptx = std::move(o.ptx);
    out.log = std::move(o.log);
    cache.put(key, out.cubin);
    cache.put(key + "-log", out.log.empty() ? std::string(" ") : out.log);
  }
  KT_ASSIGN_OR_RETURN(out.resources, parsePtxasReport(out.log, src.entry));
  out.hash = sha256Hex(out.cubin);
  return out;
}

} // namespace kt
