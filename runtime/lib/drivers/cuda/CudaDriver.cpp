#include "ktune/drivers/cuda/CudaDriver.h"

#include "CudaApi.h"
#include "ktune/base/DynamicLibrary.h"

#include <fmt/format.h>

#include <mutex>
#include <type_traits>

namespace kt::cuda {

namespace {

/// Resolves every entry point of the table.
void bindApi(DynamicLibrary &dl, Driver::Api &a) {
  auto need = [&](const char *name, auto &fn) { dl.need(name, fn); };
  need("cuInit", a.cuInit);
  need("cuDriverGetVersion", a.cuDriverGetVersion);
  need("cuDeviceGetCount", a.cuDeviceGetCount);
  need("cuDeviceGet", a.cuDeviceGet);
  need("cuDeviceGetName", a.cuDeviceGetName);
  need("cuDeviceGetAttribute", a.cuDeviceGetAttribute);
  need("cuDeviceTotalMem_v2", a.cuDeviceTotalMem);
  need("cuGetErrorName", a.cuGetErrorName);
  need("cuGetErrorString", a.cuGetErrorString);
  need("cuDevicePrimaryCtxRetain", a.cuDevicePrimaryCtxRetain);
  need("cuDevicePrimaryCtxRelease_v2", a.cuDevicePrimaryCtxRelease);
  need("cuCtxSetCurrent", a.cuCtxSetCurrent);
  need("cuCtxSynchronize", a.cuCtxSynchronize);
  need("cuMemAlloc_v2", a.cuMemAlloc);
  need("cuMemFree_v2", a.cuMemFree);
  need("cuMemcpyHtoD_v2", a.cuMemcpyHtoD);
  need("cuMemcpyDtoH_v2", a.cuMemcpyDtoH);
  need("cuModuleLoadData", a.cuModuleLoadData);
  need("cuModuleUnload", a.cuModuleUnload);
  need("cuModuleGetFunction", a.cuModuleGetFunction);
  need("cuLaunchKernel", a.cuLaunchKernel);
  need("cuEventCreate", a.cuEventCreate);
  need("cuEventDestroy_v2", a.cuEventDestroy);
  need("cuEventRecord", a.cuEventRecord);
  need("cuEventSynchronize", a.cuEventSynchronize);
  // _v2 exists from driver 12.8 on; older drivers have the original.
  a.cuEventElapsedTime = reinterpret_cast<decltype(a.cuEventElapsedTime)>(
      dl.symbol("cuEventElapsedTime_v2"));
  if (!a.cuEventElapsedTime) {
    need("cuEventElapsedTime", a.cuEventElapsedTime);
  }
  need("cuMemsetD32_v2", a.cuMemsetD32);
  need("cuMemcpyDtoD_v2", a.cuMemcpyDtoD);
  need("cuStreamCreate", a.cuStreamCreate);
  need("cuStreamDestroy_v2", a.cuStreamDestroy);
  need("cuStreamSynchronize", a.cuStreamSynchronize);
  need("cuFuncSetAttribute", a.cuFuncSetAttribute);
  need("cuFuncGetAttribute", a.cuFuncGetAttribute);
  need("cuLaunchKernelEx", a.cuLaunchKernelEx);
  need("cuTensorMapEncodeTiled", a.cuTensorMapEncodeTiled);
}

Result<Driver::Api *> loadApi() {
  KT_ASSIGN_OR_RETURN(DynamicLibrary dl,
                      DynamicLibrary::openFirst(
                          {"libcuda.so.1"}, "no CUDA driver: libcuda.so.1",
                          "install the NVIDIA driver to use CUDA targets"));
  auto *api = new Driver::Api();
  api->handle = dl.handle();
  bindApi(dl, *api);
  if (Status s = dl.finish("CUDA driver (libcuda.so.1)",
                           "it is too old or not a driver (a link stub?)");
      !s.isOk()) {
    delete api;
    return s;
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
