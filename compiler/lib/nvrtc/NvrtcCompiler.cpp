#include "ktune/compiler/NvrtcCompiler.h"

#include "ktune/base/DynamicLibrary.h"

#include <fmt/format.h>

namespace kt {

using nvrtcResult = int;
using nvrtcProgram = struct _nvrtcProgram *;

struct NvrtcCompiler::Api {
  void *handle = nullptr;
  const char *(*GetErrorString)(nvrtcResult) = nullptr;
  nvrtcResult (*Version)(int *, int *) = nullptr;
  nvrtcResult (*CreateProgram)(nvrtcProgram *, const char *, const char *, int,
                               const char *const *,
                               const char *const *) = nullptr;
  nvrtcResult (*DestroyProgram)(nvrtcProgram *) = nullptr;
  nvrtcResult (*CompileProgram)(nvrtcProgram, int,
                                const char *const *) = nullptr;
  nvrtcResult (*GetPTXSize)(nvrtcProgram, size_t *) = nullptr;
  nvrtcResult (*GetPTX)(nvrtcProgram, char *) = nullptr;
  nvrtcResult (*GetCUBINSize)(nvrtcProgram, size_t *) = nullptr;
  nvrtcResult (*GetCUBIN)(nvrtcProgram, char *) = nullptr;
  nvrtcResult (*GetProgramLogSize)(nvrtcProgram, size_t *) = nullptr;
  nvrtcResult (*GetProgramLog)(nvrtcProgram, char *) = nullptr;
  nvrtcResult (*AddNameExpression)(nvrtcProgram, const char *) = nullptr;
  nvrtcResult (*GetLoweredName)(nvrtcProgram, const char *,
                                const char **) = nullptr;
};

namespace {

Result<NvrtcCompiler::Api *> loadApi() {
  KT_ASSIGN_OR_RETURN(
      DynamicLibrary dl,
      DynamicLibrary::openFirst(
          {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so",
           "/usr/local/cuda/lib64/libnvrtc.so.13",
           "/usr/local/cuda/lib64/libnvrtc.so.12",
           "/usr/local/cuda/lib64/libnvrtc.so"},
          "NVRTC",
          "install the CUDA toolkit (13.x) to compile CUDA templates"));
  auto *a = new NvrtcCompiler::Api();
  a->handle = dl.handle();
  dl.need("nvrtcGetErrorString", a->GetErrorString);
  dl.need("nvrtcVersion", a->Version);
  dl.need("nvrtcCreateProgram", a->CreateProgram);
  dl.need("nvrtcDestroyProgram", a->DestroyProgram);
  dl.need("nvrtcCompileProgram", a->CompileProgram);
  dl.need("nvrtcGetPTXSize", a->GetPTXSize);
  dl.need("nvrtcGetPTX", a->GetPTX);
  dl.need("nvrtcGetCUBINSize", a->GetCUBINSize);
  dl.need("nvrtcGetCUBIN", a->GetCUBIN);
  dl.need("nvrtcGetProgramLogSize", a->GetProgramLogSize);
  dl.need("nvrtcGetProgramLog", a->GetProgramLog);
  dl.need("nvrtcAddNameExpression", a->AddNameExpression);
  dl.need("nvrtcGetLoweredName", a->GetLoweredName);
  if (Status s = dl.finish("NVRTC library", "CUDA 12 or newer is required");
      !s.isOk()) {
    delete a;
    return s;
  }
  return a;
}

/// Destroys the program on every path.
struct Program {
  const NvrtcCompiler::Api *api;
  nvrtcProgram p = nullptr;
  ~Program() {
    if (p) {
      api->DestroyProgram(&p);
    }
  }
};

} // namespace

Result<const NvrtcCompiler *> NvrtcCompiler::get() {
  static Result<const NvrtcCompiler *> loaded =
      []() -> Result<const NvrtcCompiler *> {
    KT_ASSIGN_OR_RETURN(NvrtcCompiler::Api * api, loadApi());
    auto *c = new NvrtcCompiler();
    c->api_ = api;
    int major = 0, minor = 0;
    api->Version(&major, &minor);
    c->version_ = fmt::format("nvrtc-{}.{}", major, minor);
    return c;
  }();
  return loaded;
}

Result<NvrtcOutput>
NvrtcCompiler::compile(const std::string &source, const std::string &name,
                       const std::string &arch,
                       const std::vector<std::string> &options,
                       const std::vector<std::string> &nameExpressions) const {
  Program prog{api_};
  if (nvrtcResult r = api_->CreateProgram(&prog.p, source.c_str(), name.c_str(),
                                          0, nullptr, nullptr);
      r != 0) {
    return internalError(fmt::format("nvrtcCreateProgram({}): {}", name,
                                     api_->GetErrorString(r)));
  }
  for (const std::string &e : nameExpressions) {
    api_->AddNameExpression(prog.p, e.c_str());
  }
  std::vector<std::string> opts = {"--gpu-architecture=" + arch, "-std=c++17"};
  opts.insert(opts.end(), options.begin(), options.end());
  std::vector<const char *> argv;
  for (const std::string &o : opts) {
    argv.push_back(o.c_str());
  }
  nvrtcResult r = api_->CompileProgram(prog.p, int(argv.size()), argv.data());
  NvrtcOutput out;
  size_t logSize = 0;
  api_->GetProgramLogSize(prog.p, &logSize);
  if (logSize > 1) {
    out.log.resize(logSize);
    api_->GetProgramLog(prog.p, out.log.data());
    out.log.resize(logSize - 1);
  }
  if (r != 0) {
    return invalidArgument(
        fmt::format("NVRTC could not compile {} for {} ({}):\n{}", name, arch,
                    api_->GetErrorString(r), out.log));
  }
  size_t ptxSize = 0;
  if (api_->GetPTXSize(prog.p, &ptxSize) == 0 && ptxSize > 1) {
    out.ptx.resize(ptxSize);
    api_->GetPTX(prog.p, out.ptx.data());
    out.ptx.resize(ptxSize - 1);
  }
  size_t cubinSize = 0;
  if (arch.rfind("sm_", 0) == 0 &&
      api_->GetCUBINSize(prog.p, &cubinSize) == 0 && cubinSize > 0) {
    out.cubin.resize(cubinSize);
    api_->GetCUBIN(prog.p, out.cubin.data());
  }
  for (const std::string &e : nameExpressions) {
    const char *lowered = nullptr;
    if (api_->GetLoweredName(prog.p, e.c_str(), &lowered) != 0 || !lowered) {
      return invalidArgument(
          fmt::format("NVRTC has no lowered name for '{}' in {}", e, name));
    }
    out.loweredNames.emplace_back(lowered);
  }
  return out;
}

} // namespace kt
