#include "ktune/compiler/Hiprtc.h"

#include "ktune/base/DynamicLibrary.h"

#include <fmt/format.h>

namespace kt {

// hiprtc.h: hiprtcResult is an int enum with HIPRTC_SUCCESS = 0 and
// hiprtcProgram an opaque pointer.
using hiprtcResult = int;
using hiprtcProgram = struct _hiprtcProgram *;

struct Hiprtc::Api {
  const char *(*GetErrorString)(hiprtcResult) = nullptr;
  hiprtcResult (*Version)(int *, int *) = nullptr;
  hiprtcResult (*CreateProgram)(hiprtcProgram *, const char *, const char *,
                                int, const char **, const char **) = nullptr;
  hiprtcResult (*DestroyProgram)(hiprtcProgram *) = nullptr;
  hiprtcResult (*CompileProgram)(hiprtcProgram, int, const char **) = nullptr;
  hiprtcResult (*GetProgramLogSize)(hiprtcProgram, size_t *) = nullptr;
  hiprtcResult (*GetProgramLog)(hiprtcProgram, char *) = nullptr;
  hiprtcResult (*GetCodeSize)(hiprtcProgram, size_t *) = nullptr;
  hiprtcResult (*GetCode)(hiprtcProgram, char *) = nullptr;
};

namespace {

/// Destroys the program on every path.
struct Program {
  const Hiprtc::Api *api;
  hiprtcProgram p = nullptr;
  ~Program() {
    if (p) {
      api->DestroyProgram(&p);
    }
  }
};

std::string programLog(const Hiprtc::Api &api, hiprtcProgram p) {
  size_t size = 0;
  if (api.GetProgramLogSize(p, &size) != 0 || size <= 1) {
    return "";
  }
  std::string log(size, '\0');
  if (api.GetProgramLog(p, log.data()) != 0) {
    return "";
  }
  while (!log.empty() && (log.back() == '\0' || log.back() == '\n')) {
    log.pop_back();
  }
  return log;
}

} // namespace

Result<const Hiprtc *> Hiprtc::get() {
  static Result<const Hiprtc *> loaded = []() -> Result<const Hiprtc *> {
    KT_ASSIGN_OR_RETURN(DynamicLibrary dl,
                        DynamicLibrary::openFirst(
                            {"libhiprtc.so.7", "libhiprtc.so.6", "libhiprtc.so",
                             "/opt/rocm/lib/libhiprtc.so"},
                            "no hiprtc: libhiprtc",
                            "install ROCm (7 or newer for gfx950) to "
                            "compile with hiprtc; ktune compiles HIP "
                            "with clang-22 meanwhile"));
    auto *api = new Api();
    dl.need("hiprtcGetErrorString", api->GetErrorString);
    dl.need("hiprtcVersion", api->Version);
    dl.need("hiprtcCreateProgram", api->CreateProgram);
    dl.need("hiprtcDestroyProgram", api->DestroyProgram);
    dl.need("hiprtcCompileProgram", api->CompileProgram);
    dl.need("hiprtcGetProgramLogSize", api->GetProgramLogSize);
    dl.need("hiprtcGetProgramLog", api->GetProgramLog);
    dl.need("hiprtcGetCodeSize", api->GetCodeSize);
    dl.need("hiprtcGetCode", api->GetCode);
    if (Status s = dl.finish("hiprtc library", "ROCm 6 or newer is required");
        !s.isOk()) {
      delete api;
      return s;
    }
    auto *h = new Hiprtc();
    h->api_ = api;
    if (api->Version(&h->major_, &h->minor_) != 0) {
      h->major_ = h->minor_ = 0;
    }
    return h;
  }();
  return loaded;
}

int Hiprtc::minimumMajorFor(const std::string &arch) {
  return arch == "gfx950" ? 7 : 6;
}

Status Hiprtc::supports(const std::string &arch) const {
  if (major_ < minimumMajorFor(arch)) {
    return unavailable(fmt::format(
        "the hiprtc found belongs to ROCm {}.{}; {} needs ROCm {} or newer "
        "(upgrade ROCm, or compile with clang: --hip-compiler clang)",
        major_, minor_, arch, minimumMajorFor(arch)));
  }
  return Status::ok();
}

Result<std::string> Hiprtc::compile(const std::string &source,
                                    const std::string &name,
                                    const std::string &arch,
                                    const std::vector<std::string> &options,
                                    std::string *log) const {
  KT_RETURN_IF_ERROR(supports(arch));
  Program prog{api_};
  const std::string file = name + ".hip";
  if (int r = api_->CreateProgram(&prog.p, source.c_str(), file.c_str(), 0,
                                  nullptr, nullptr);
      r != 0) {
    return internalError(fmt::format("hiprtcCreateProgram({}): {}", name,
                                     api_->GetErrorString(r)));
  }
  std::vector<std::string> all = options;
  all.push_back("--offload-arch=" + arch);
  std::vector<const char *> argv;
  for (const std::string &o : all) {
    argv.push_back(o.c_str());
  }
  const int r = api_->CompileProgram(prog.p, int(argv.size()), argv.data());
  std::string messages = programLog(*api_, prog.p);
  if (r != 0) {
    return invalidArgument(fmt::format("hiprtc could not compile {} for {} "
                                       "({}):\n{}",
                                       name, arch, api_->GetErrorString(r),
                                       messages));
  }
  size_t size = 0;
  if (int e = api_->GetCodeSize(prog.p, &size); e != 0 || size == 0) {
    return internalError(fmt::format("hiprtcGetCodeSize({}): {}", name,
                                     e ? api_->GetErrorString(e) : "empty"));
  }
  std::string code(size, '\0');
  if (int e = api_->GetCode(prog.p, code.data()); e != 0) {
    return internalError(
        fmt::format("hiprtcGetCode({}): {}", name, api_->GetErrorString(e)));
  }
  if (log) {
    *log = std::move(messages);
  }
  return code;
}

} // namespace kt
