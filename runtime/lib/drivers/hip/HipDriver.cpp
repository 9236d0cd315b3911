#include "ktune/drivers/hip/HipDriver.h"

#include "ktune/base/DynamicLibrary.h"

#include <fmt/format.h>

namespace kt::hip {

// The entry points used, with hip_runtime_api.h's signatures (hipError_t is
// an int enum; 0 is hipSuccess).
struct Driver::Api {
  int (*hipInit)(unsigned) = nullptr;
  int (*hipGetDeviceCount)(int *) = nullptr;
  int (*hipDeviceGetName)(char *, int, int) = nullptr;
  int (*hipRuntimeGetVersion)(int *) = nullptr;
  const char *(*hipGetErrorString)(int) = nullptr;
};

Result<const Driver *> Driver::get() {
  static Result<const Driver *> loaded = []() -> Result<const Driver *> {
    KT_ASSIGN_OR_RETURN(
        DynamicLibrary dl,
        DynamicLibrary::openFirst(
            {"libamdhip64.so.7", "libamdhip64.so.6", "libamdhip64.so",
             "/opt/rocm/lib/libamdhip64.so"},
            "no HIP runtime: libamdhip64",
            "install ROCm (7 or newer for gfx950) to run on AMD GPUs; "
            "`ktune compile --target hip:gfx950` works without it"));
    auto *api = new Api();
    dl.need("hipInit", api->hipInit);
    dl.need("hipGetDeviceCount", api->hipGetDeviceCount);
    dl.need("hipDeviceGetName", api->hipDeviceGetName);
    dl.need("hipRuntimeGetVersion", api->hipRuntimeGetVersion);
    dl.need("hipGetErrorString", api->hipGetErrorString);
    if (Status s = dl.finish("HIP runtime (libamdhip64)", "ROCm 6 or newer");
        !s.isOk()) {
      delete api;
      return s;
    }
    if (int r = api->hipInit(0); r != 0) {
      const char *why = api->hipGetErrorString(r);
      delete api;
      return unavailable(
          fmt::format("the HIP runtime is installed but hipInit failed ({})",
                      why ? why : std::to_string(r)));
    }
    auto *d = new Driver();
    d->api_ = api;
    api->hipRuntimeGetVersion(&d->version_);
    return d;
  }();
  return loaded;
}

Result<std::vector<DeviceInfo>> Driver::devices() const {
  int n = 0;
  if (int r = api_->hipGetDeviceCount(&n); r != 0) {
    const char *why = api_->hipGetErrorString(r);
    return unavailable(
        fmt::format("hipGetDeviceCount: {}", why ? why : std::to_string(r)));
  }
  std::vector<DeviceInfo> out;
  for (int i = 0; i < n; ++i) {
    DeviceInfo info;
    info.ordinal = i;
    char name[256] = {};
    api_->hipDeviceGetName(name, int(sizeof(name) - 1), i);
    info.name = name;
    out.push_back(std::move(info));
  }
  return out;
}

} // namespace kt::hip
