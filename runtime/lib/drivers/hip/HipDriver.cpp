#include "ktune/drivers/hip/HipDriver.h"

#include "HipApi.h"
#include "ktune/base/DynamicLibrary.h"

#include <fmt/format.h>

#include <cstring>

namespace kt::hip {

namespace {

/// Resolves every entry point of the table.
void bindApi(DynamicLibrary &dl, Driver::Api &a) {
  auto need = [&](const char *name, auto &fn) { dl.need(name, fn); };
  need("hipInit", a.hipInit);
  need("hipRuntimeGetVersion", a.hipRuntimeGetVersion);
  need("hipGetDeviceCount", a.hipGetDeviceCount);
  need("hipDeviceGetName", a.hipDeviceGetName);
  need("hipDeviceGetAttribute", a.hipDeviceGetAttribute);
  need("hipDeviceTotalMem", a.hipDeviceTotalMem);
  // The versioned export: hip_runtime_api.h maps hipGetDeviceProperties to
  // it with a macro since ROCm 6.0. The plain "hipGetDeviceProperties"
  // symbol still exists but fills the older R0000 layout.
  need("hipGetDevicePropertiesR0600", a.hipGetDevicePropertiesR0600);
  need("hipGetErrorName", a.hipGetErrorName);
  need("hipGetErrorString", a.hipGetErrorString);
  need("hipSetDevice", a.hipSetDevice);
  need("hipDeviceSynchronize", a.hipDeviceSynchronize);
  need("hipMalloc", a.hipMalloc);
  need("hipFree", a.hipFree);
  need("hipMemcpyHtoD", a.hipMemcpyHtoD);
  need("hipMemcpyDtoH", a.hipMemcpyDtoH);
  need("hipMemcpyDtoD", a.hipMemcpyDtoD);
  need("hipMemsetD32", a.hipMemsetD32);
  need("hipStreamCreateWithFlags", a.hipStreamCreateWithFlags);
  need("hipStreamDestroy", a.hipStreamDestroy);
  need("hipStreamSynchronize", a.hipStreamSynchronize);
  need("hipModuleLoadData", a.hipModuleLoadData);
  need("hipModuleUnload", a.hipModuleUnload);
  need("hipModuleGetFunction", a.hipModuleGetFunction);
  need("hipModuleLaunchKernel", a.hipModuleLaunchKernel);
  need("hipEventCreate", a.hipEventCreate);
  need("hipEventDestroy", a.hipEventDestroy);
  need("hipEventRecord", a.hipEventRecord);
  need("hipEventSynchronize", a.hipEventSynchronize);
  need("hipEventElapsedTime", a.hipEventElapsedTime);
}

Result<Driver::Api *> loadApi() {
  KT_ASSIGN_OR_RETURN(
      DynamicLibrary dl,
      DynamicLibrary::openFirst(
          {"libamdhip64.so.7", "libamdhip64.so.6", "libamdhip64.so",
           "/opt/rocm/lib/libamdhip64.so"},
          "no HIP runtime: libamdhip64",
          "install ROCm (7 or newer for gfx950) to run on AMD GPUs; "
          "`ktune compile --target hip:gfx950` works without it"));
  auto *api = new Driver::Api();
  api->handle = dl.handle();
  bindApi(dl, *api);
  if (Status s = dl.finish("HIP runtime (libamdhip64)", "ROCm 6 or newer");
      !s.isOk()) {
    delete api;
    return s;
  }
  return api;
}

/// L2 per XCD where the runtime reports none: 4 MiB on MI300 and MI350.
int64_t l2Fallback(const std::string &arch) {
  return arch == "gfx942" || arch == "gfx950" ? int64_t(4) << 20 : 0;
}

} // namespace

std::string archFromGcnArchName(const std::string &gcnArchName) {
  return gcnArchName.substr(0, gcnArchName.find(':'));
}

int64_t infinityCacheBytes(const std::string &arch) {
  // AMD's published Infinity Cache sizes. In a compute-partitioned mode a
  // device sees its share of it; the full size only makes the rotating
  // buffer larger, never too small.
  if (arch == "gfx942" || arch == "gfx950") {
    return int64_t(256) << 20;
  }
  return 0;
}

int64_t defaultRotateBytes(const DeviceInfo &info) {
  return 2 * (info.l2Bytes + info.lastLevelCacheBytes);
}

int64_t Driver::rotateBytesHint(const DeviceInfo &info) {
  return defaultRotateBytes(info);
}

std::string Driver::errorString(int result) const {
  const char *name = api_->hipGetErrorName(result);
  const char *text = api_->hipGetErrorString(result);
  return fmt::format("{}: {}", name ? name : "hipError",
                     text ? text : std::to_string(result));
}

Result<const Driver *> Driver::get() {
  static Result<const Driver *> loaded = []() -> Result<const Driver *> {
    KT_ASSIGN_OR_RETURN(Driver::Api * api, loadApi());
    auto *d = new Driver();
    d->api_ = api;
    if (int r = api->hipInit(0); r != 0) {
      std::string why = d->errorString(r);
      delete d; // The Api table stays loaded: the library is process-wide.
      return unavailable("the HIP runtime (ROCm) is installed but hipInit "
                         "failed (" +
                         why +
                         "); check that the amdgpu driver is loaded and "
                         "that this user may open /dev/kfd");
    }
    api->hipRuntimeGetVersion(&d->version_);
    return d;
  }();
  return loaded;
}

Result<int> Driver::deviceCount() const {
  int n = 0;
  // Without a GPU the runtime answers hipErrorNoDevice rather than 0.
  if (int r = api_->hipGetDeviceCount(&n); r == kErrorNoDevice) {
    return 0;
  } else if (r != 0) {
    return unavailable("hipGetDeviceCount: " + errorString(r) +
                       "; no AMD GPU is usable by this process");
  }
  return n;
}

Result<DeviceInfo> Driver::deviceInfo(int ordinal) const {
  KT_ASSIGN_OR_RETURN(int count, deviceCount());
  if (count == 0) {
    return unavailable("the HIP runtime (ROCm) reports no GPU; check that "
                       "the amdgpu driver sees the device (rocminfo)");
  }
  if (ordinal < 0 || ordinal >= count) {
    return invalidArgument(fmt::format(
        "no HIP device {} (the runtime reports {}); use --device 0..{}",
        ordinal, count, count - 1));
  }
  DeviceInfo info;
  info.ordinal = ordinal;
  char name[256] = {};
  api_->hipDeviceGetName(name, int(sizeof(name) - 1), ordinal);
  info.name = name;
  auto attr = [&](int a, const char *what) -> Result<int> {
    int v = 0;
    if (int r = api_->hipDeviceGetAttribute(&v, a, ordinal); r != 0) {
      return internalError(fmt::format("hipDeviceGetAttribute({}) on hip:{}: "
                                       "{}",
                                       what, ordinal, errorString(r)));
    }
    return v;
  };
  KT_ASSIGN_OR_RETURN(info.computeUnits,
                      attr(kMultiprocessorCount, "MultiprocessorCount"));
  KT_ASSIGN_OR_RETURN(int l2, attr(kL2CacheSize, "L2CacheSize"));
  KT_ASSIGN_OR_RETURN(info.clockKHz, attr(kClockRate, "ClockRate"));
  KT_ASSIGN_OR_RETURN(info.maxLdsPerWorkgroup, attr(kMaxSharedMemoryPerBlock,
                                                    "MaxSharedMemoryPerBlock"));
  KT_ASSIGN_OR_RETURN(info.wavefrontSize, attr(kWarpSize, "WarpSize"));
  size_t mem = 0;
  if (int r = api_->hipDeviceTotalMem(&mem, ordinal); r != 0) {
    return internalError(fmt::format("hipDeviceTotalMem on hip:{}: {}", ordinal,
                                     errorString(r)));
  }
  info.totalMemoryBytes = int64_t(mem);

  // The arch string exists only in the property struct (no attribute has
  // carried it since ROCm 6). Read it into a buffer larger than the R0600
  // layout, and check two fields the attribute queries also gave (the
  // runtime fills both from the same device info): a runtime whose struct
  // moved would otherwise hand back a plausible-looking wrong arch.
  struct alignas(8) {
    DevicePropR0600 p;
    char slack[4096];
  } props;
  std::memset(&props, 0, sizeof(props));
  if (int r = api_->hipGetDevicePropertiesR0600(&props.p, ordinal); r != 0) {
    return internalError(fmt::format("hipGetDevicePropertiesR0600 on hip:{}: "
                                     "{}",
                                     ordinal, errorString(r)));
  }
  props.p.name[sizeof(props.p.name) - 1] = '\0';
  props.p.gcnArchName[sizeof(props.p.gcnArchName) - 1] = '\0';
  if (props.p.totalGlobalMem != mem ||
      props.p.multiProcessorCount != info.computeUnits ||
      std::strncmp(props.p.gcnArchName, "gfx", 3) != 0) {
    return internalError(fmt::format(
        "hip:{}: hipGetDevicePropertiesR0600 filled a layout ktune does not "
        "know (HIP runtime {}: name '{}', {} CUs, arch '{}'); this ktune "
        "needs updating for this ROCm",
        ordinal, version_, props.p.name, props.p.multiProcessorCount,
        props.p.gcnArchName));
  }
  info.gcnArchName = props.p.gcnArchName;
  info.arch = archFromGcnArchName(info.gcnArchName);
  info.l2Bytes = l2 > 0 ? int64_t(l2) : l2Fallback(info.arch);
  info.lastLevelCacheBytes = infinityCacheBytes(info.arch);
  return info;
}

Result<std::vector<DeviceInfo>> Driver::devices() const {
  KT_ASSIGN_OR_RETURN(int n, deviceCount());
  std::vector<DeviceInfo> out;
  for (int i = 0; i < n; ++i) {
    KT_ASSIGN_OR_RETURN(DeviceInfo info, deviceInfo(i));
    out.push_back(std::move(info));
  }
  return out;
}

Result<std::vector<DeviceInfo>> listDevices() {
  KT_ASSIGN_OR_RETURN(const Driver *d, Driver::get());
  return d->devices();
}

} // namespace kt::hip
