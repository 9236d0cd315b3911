#include "ktune/drivers/cuda/CudaDriver.h"

#include "CudaApi.h"

#include <fmt/format.h>

#include <dlfcn.h>

#include <mutex>

namespace kt::cuda {

namespace {

template <typename F> bool bind(void *h, const char *name, F &fn) {
  fn = reinterpret_cast<F>(::dlsym(h, name));
  return fn != nullptr;
}

Result<Driver::Api *> loadApi() {
  auto *api = new Driver::Api();
  api->handle = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!api->handle) {
    const char *why = ::dlerror();
    delete api;
    return unavailable(fmt::format(
        "no CUDA driver: cannot load libcuda.so.1 ({}); install the NVIDIA "
        "driver to use CUDA targets",
        why ? why : "unknown reason"));
  }
  void *h = api->handle;
  const char *missing = nullptr;
  if (!bind(h, "cuInit", api->cuInit)) {
    missing = "cuInit";
  } else if (!bind(h, "cuDriverGetVersion", api->cuDriverGetVersion)) {
    missing = "cuDriverGetVersion";
  } else if (!bind(h, "cuDeviceGetCount", api->cuDeviceGetCount)) {
    missing = "cuDeviceGetCount";
  } else if (!bind(h, "cuDeviceGet", api->cuDeviceGet)) {
    missing = "cuDeviceGet";
  } else if (!bind(h, "cuDeviceGetName", api->cuDeviceGetName)) {
    missing = "cuDeviceGetName";
  } else if (!bind(h, "cuDeviceGetAttribute", api->cuDeviceGetAttribute)) {
    missing = "cuDeviceGetAttribute";
  } else if (!bind(h, "cuDeviceTotalMem_v2", api->cuDeviceTotalMem)) {
    missing = "cuDeviceTotalMem_v2";
  } else if (!bind(h, "cuGetErrorName", api->cuGetErrorName)) {
    missing = "cuGetErrorName";
  } else if (!bind(h, "cuGetErrorString", api->cuGetErrorString)) {
    missing = "cuGetErrorString";
  } else if (!bindExecution(h, *api, missing)) {
    // `missing` names the symbol.
  }
  if (missing) {
    ::dlclose(h);
    delete api;
    return unavailable(fmt::format(
        "the CUDA driver (libcuda.so.1) lacks {}; it is too old or not a "
        "driver (a link stub?)",
        missing));
  }
  return api;
}

} // namespace

std::string DeviceInfo::arch() const {
  if (ccMajor == 9 || ccMajor == 10) {
    return fmt::format("sm_{}{}a", ccMajor, ccMinor);
  }
  return fmt::format("sm_{}{}", ccMajor, ccMinor);
}

std::string Driver::errorString(int result) const {
  const char *name = nullptr, *text = nullptr;
  api_->cuGetErrorName(result, &name);
  api_->cuGetErrorString(result, &text);
  return fmt::format("{}: {}", name ? name : "CUDA error",
                     text ? text : std::to_string(result));
}

Result<const Driver *> Driver::get() {
  static Result<const Driver *> loaded = []() -> Result<const Driver *> {
    KT_ASSIGN_OR_RETURN(Driver::Api * api, loadApi());
    auto *d = new Driver();
    d->api_ = api;
    if (CUresult r = api->cuInit(0); r != 0) {
      std::string why = d->errorString(r);
      delete d; // The Api table stays loaded: the library is process-wide.
      return unavailable("the CUDA driver is installed but cuInit failed (" +
                         why + ")");
    }
    api->cuDriverGetVersion(&d->version_);
    return d;
  }();
  return loaded;
}

Result<int> Driver::deviceCount() const {
  int n = 0;
  if (CUresult r = api_->cuDeviceGetCount(&n); r != 0) {
    return unavailable("cuDeviceGetCount: " + errorString(r));
  }
  return n;
}

Result<DeviceInfo> Driver::deviceInfo(int ordinal) const {
  CUdevice dev = 0;
  if (CUresult r = api_->cuDeviceGet(&dev, ordinal); r != 0) {
    return invalidArgument(
        fmt::format("no CUDA device {}: {}", ordinal, errorString(r)));
  }
  DeviceInfo info;
  info.ordinal = ordinal;
  char name[256] = {};
  api_->cuDeviceGetName(name, int(sizeof(name) - 1), dev);
  info.name = name;
  auto attr = [&](int a) {
    int v = 0;
    api_->cuDeviceGetAttribute(&v, a, dev);
    return v;
  };
  info.ccMajor = attr(kComputeCapabilityMajor);
  info.ccMinor = attr(kComputeCapabilityMinor);
  info.smCount = attr(kMultiprocessorCount);
  info.l2Bytes = attr(kL2CacheSize);
  info.clockKHz = attr(kClockRate);
  info.memoryClockKHz = attr(kMemoryClockRate);
  info.memoryBusBits = attr(kGlobalMemoryBusWidth);
  info.sharedPerBlockOptin = attr(kMaxSharedMemoryPerBlockOptin);
  info.sharedPerSm = attr(kMaxSharedMemoryPerMultiprocessor);
  size_t mem = 0;
  api_->cuDeviceTotalMem(&mem, dev);
  info.globalMemBytes = int64_t(mem);
  return info;
}

Result<std::vector<DeviceInfo>> listDevices() {
  KT_ASSIGN_OR_RETURN(const Driver *d, Driver::get());
  KT_ASSIGN_OR_RETURN(int n, d->deviceCount());
  std::vector<DeviceInfo> out;
  for (int i = 0; i < n; ++i) {
    KT_ASSIGN_OR_RETURN(DeviceInfo info, d->deviceInfo(i));
    out.push_back(std::move(info));
  }
  return out;
}

} // namespace kt::cuda
