#include "ktune/compiler/NvJitLink.h"

#include "ktune/base/DynamicLibrary.h"

#include <fmt/format.h>

#include <type_traits>
#include <vector>

namespace kt {

using Handle = void *;

struct NvJitLink::Api {
  int (*Create)(Handle *, uint32_t, const char **) = nullptr;
  int (*Destroy)(Handle *) = nullptr;
  int (*AddData)(Handle, int, const void *, size_t, const char *) = nullptr;
  int (*Complete)(Handle) = nullptr;
  int (*GetLinkedCubinSize)(Handle, size_t *) = nullptr;
  int (*GetLinkedCubin)(Handle, void *) = nullptr;
  int (*GetErrorLogSize)(Handle, size_t *) = nullptr;
  int (*GetErrorLog)(Handle, char *) = nullptr;
  int (*GetInfoLogSize)(Handle, size_t *) = nullptr;
  int (*GetInfoLog)(Handle, char *) = nullptr;
  int (*Version)(unsigned *, unsigned *) = nullptr;
};

namespace {

constexpr int kInputPtx = 2; // NVJITLINK_INPUT_PTX

std::string readLog(Handle h, int (*size)(Handle, size_t *),
                    int (*get)(Handle, char *)) {
  size_t n = 0;
  if (size(h, &n) != 0 || n <= 1) {
    return "";
  }
  std::string s(n, '\0');
  get(h, s.data());
  s.resize(n - 1);
  return s;
}

} // namespace

Result<const NvJitLink *> NvJitLink::get() {
  static Result<const NvJitLink *> loaded = []() -> Result<const NvJitLink *> {
    KT_ASSIGN_OR_RETURN(
        DynamicLibrary lib,
        DynamicLibrary::openFirst(
            {"libnvJitLink.so.13", "libnvJitLink.so.12",
             "/usr/local/cuda/lib64/libnvJitLink.so.13",
             "/usr/local/cuda/lib64/libnvJitLink.so.12"},
            "nvJitLink",
            "install the CUDA toolkit (12.x or 13.x) to turn MLIR's PTX into "
            "cubins"));
    auto *a = new Api();
    auto need = [&](const char *name, auto &fn) { lib.need(name, fn); };
    need("nvJitLinkCreate", a->Create);
    need("nvJitLinkDestroy", a->Destroy);
    need("nvJitLinkAddData", a->AddData);
    need("nvJitLinkComplete", a->Complete);
    need("nvJitLinkGetLinkedCubinSize", a->GetLinkedCubinSize);
    need("nvJitLinkGetLinkedCubin", a->GetLinkedCubin);
    need("nvJitLinkGetErrorLogSize", a->GetErrorLogSize);
    need("nvJitLinkGetErrorLog", a->GetErrorLog);
    need("nvJitLinkGetInfoLogSize", a->GetInfoLogSize);
    need("nvJitLinkGetInfoLog", a->GetInfoLog);
    need("nvJitLinkVersion", a->Version);
    if (Status s = lib.finish("nvJitLink library", "CUDA 12.3 or newer needed");
        !s.isOk()) {
      delete a;
      return s;
    }
    auto *jit = new NvJitLink();
    jit->api_ = a;
    unsigned major = 0, minor = 0;
    a->Version(&major, &minor);
    jit->version_ = fmt::format("nvjitlink-{}.{}", major, minor);
    return jit;
  }();
  return loaded;
}

Result<NvJitLinkOutput> NvJitLink::link(const std::string &ptx,
                                        const std::string &name,
                                        const std::string &arch) const {
  const std::string archOpt = "-arch=" + arch;
  std::vector<const char *> opts = {archOpt.c_str(), "-Xptxas=-v"};
  Handle h = nullptr;
  if (int r = api_->Create(&h, uint32_t(opts.size()), opts.data()); r != 0) {
    return internalError(
        fmt::format("nvJitLinkCreate for {} failed (result {})", arch, r));
  }
  NvJitLinkOutput out;
  int r = api_->AddData(h, kInputPtx, ptx.data(), ptx.size(), name.c_str());
  if (r == 0) {
    r = api_->Complete(h);
  }
  out.log = readLog(h, api_->GetInfoLogSize, api_->GetInfoLog);
  if (r != 0) {
    std::string err = readLog(h, api_->GetErrorLogSize, api_->GetErrorLog);
    api_->Destroy(&h);
    return invalidArgument(fmt::format(
        "nvJitLink could not turn the PTX of {} into a cubin for {} (result "
        "{}):\n{}{}",
        name, arch, r, err, out.log));
  }
  size_t size = 0;
  api_->GetLinkedCubinSize(h, &size);
  out.cubin.resize(size);
  api_->GetLinkedCubin(h, out.cubin.data());
  api_->Destroy(&h);
  return out;
}

} // namespace kt
