// Internal: the HIP runtime symbol table shared by HipDriver.cpp (which binds
// it) and HipContext.cpp, with the types, constants and the one struct ktune
// reads, declared here so no ROCm header is needed to build. Every value is
// hip_runtime_api.h's (ROCm 6.0 to 7.x, which agree on all of them).
#pragma once

#include "ktune/drivers/hip/HipDriver.h"

#include <cstddef>
#include <cstdint>

namespace kt::hip {

using hipError_t = int; // An enum; 0 is hipSuccess.
using hipStream_t = void *;
using hipEvent_t = void *;
using hipModule_t = void *;
using hipFunction_t = void *;

/// hip_runtime_api.h's hipError_t values ktune treats specially. After a
/// kernel faults (illegal address, assert, launch failure) the device is
/// left unusable for the rest of the process.
enum ErrorCode : int {
  kErrorOutOfMemory = 2,            // hipErrorOutOfMemory
  kErrorNoDevice = 100,             // hipErrorNoDevice
  kErrorInvalidImage = 200,         // hipErrorInvalidImage
  kErrorNoBinaryForGpu = 209,       // hipErrorNoBinaryForGpu
  kErrorIllegalAddress = 700,       // hipErrorIllegalAddress
  kErrorLaunchOutOfResources = 701, // hipErrorLaunchOutOfResources
  kErrorAssert = 710,               // hipErrorAssert
  kErrorLaunchFailure = 719,        // hipErrorLaunchFailure
};

/// hipDeviceAttribute_t values. The CUDA-compatible block (0..9999) has
/// kept its order since ROCm 5: ROCm 6 renamed retired entries
/// (hipDeviceAttributeName, Uuid, ...) to hipDeviceAttributeUnusedN in place
/// instead of removing them, so these numbers are the same in ROCm 6 and 7.
enum Attribute : int {
  kClockRate = 5,                // hipDeviceAttributeClockRate, kHz
  kL2CacheSize = 19,             // hipDeviceAttributeL2CacheSize, bytes
  kMultiprocessorCount = 63,     // hipDeviceAttributeMultiprocessorCount
  kMaxSharedMemoryPerBlock = 74, // hipDeviceAttributeMaxSharedMemoryPerBlock
  kWarpSize = 87,                // hipDeviceAttributeWarpSize
};

/// hipStreamCreateWithFlags: no implicit synchronisation with stream 0.
constexpr unsigned kStreamNonBlocking = 0x01;

/// hipDeviceArch_t: 17 one-bit feature flags in one 32-bit word.
struct DeviceArch {
  unsigned bits;
};

/// hipDeviceProp_tR0600, field for field, as hipGetDevicePropertiesR0600
/// fills it (the struct ROCm 6.0 introduced and ROCm 7 still exports under
/// that name). ktune reads only gcnArchName from it (no attribute gives the
/// arch string: hipDeviceAttributeGcnArchName became Unused5 in ROCm 6) and
/// cross-checks name, totalGlobalMem and multiProcessorCount against the
/// attribute queries, so a layout change shows as an error, not as a wrong
/// arch.
struct DevicePropR0600 {
  char name[256];
  char uuid[16]; // hipUUID
  char luid[8];
  unsigned luidDeviceNodeMask;
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  int regsPerBlock;
  int warpSize;
  size_t memPitch;
  int maxThreadsPerBlock;
  int maxThreadsDim[3];
  int maxGridSize[3];
  int clockRate;
  size_t totalConstMem;
  int major;
  int minor;
  size_t textureAlignment;
  size_t texturePitchAlignment;
  int deviceOverlap;
  int multiProcessorCount;
  int kernelExecTimeoutEnabled;
  int integrated;
  int canMapHostMemory;
  int computeMode;
  int maxTexture1D;
  int maxTexture1DMipmap;
  int maxTexture1DLinear;
  int maxTexture2D[2];
  int maxTexture2DMipmap[2];
  int maxTexture2DLinear[3];
  int maxTexture2DGather[2];
  int maxTexture3D[3];
  int maxTexture3DAlt[3];
  int maxTextureCubemap;
  int maxTexture1DLayered[2];
  int maxTexture2DLayered[3];
  int maxTextureCubemapLayered[2];
  int maxSurface1D;
  int maxSurface2D[2];
  int maxSurface3D[3];
  int maxSurface1DLayered[2];
  int maxSurface2DLayered[3];
  int maxSurfaceCubemap;
  int maxSurfaceCubemapLayered[2];
  size_t surfaceAlignment;
  int concurrentKernels;
  int ECCEnabled;
  int pciBusID;
  int pciDeviceID;
  int pciDomainID;
  int tccDriver;
  int asyncEngineCount;
  int unifiedAddressing;
  int memoryClockRate;
  int memoryBusWidth;
  int l2CacheSize;
  int persistingL2CacheMaxSize;
  int maxThreadsPerMultiProcessor;
  int streamPrioritiesSupported;
  int globalL1CacheSupported;
  int localL1CacheSupported;
  size_t sharedMemPerMultiprocessor;
  int regsPerMultiprocessor;
  int managedMemory;
  int isMultiGpuBoard;
  int multiGpuBoardGroupID;
  int hostNativeAtomicSupported;
  int singleToDoublePrecisionPerfRatio;
  int pageableMemoryAccess;
  int concurrentManagedAccess;
  int computePreemptionSupported;
  int canUseHostPointerForRegisteredMem;
  int cooperativeLaunch;
  int cooperativeMultiDeviceLaunch;
  size_t sharedMemPerBlockOptin;
  int pageableMemoryAccessUsesHostPageTables;
  int directManagedMemAccessFromHost;
  int maxBlocksPerMultiProcessor;
  int accessPolicyMaxWindowSize;
  size_t reservedSharedMemPerBlock;
  int hostRegisterSupported;
  int sparseHipArraySupported;
  int hostRegisterReadOnlySupported;
  int timelineSemaphoreInteropSupported;
  int memoryPoolsSupported;
  int gpuDirectRDMASupported;
  unsigned gpuDirectRDMAFlushWritesOptions;
  int gpuDirectRDMAWritesOrdering;
  unsigned memoryPoolSupportedHandleTypes;
  int deferredMappingHipArraySupported;
  int ipcEventSupported;
  int clusterLaunch;
  int unifiedFunctionPointers;
  int reserved[63];
  int hipReserved[32];
  char gcnArchName[256];
  size_t maxSharedMemoryPerMultiProcessor;
  int clockInstructionRate;
  DeviceArch arch;
  unsigned *hdpMemFlushCntl;
  unsigned *hdpRegFlushCntl;
  int cooperativeMultiDeviceUnmatchedFunc;
  int cooperativeMultiDeviceUnmatchedGridDim;
  int cooperativeMultiDeviceUnmatchedBlockDim;
  int cooperativeMultiDeviceUnmatchedSharedMem;
  int isLargeBar;
  int asicRevision;
};
// The offsets of the x86-64 layout of hipDeviceProp_tR0600, as a
// clang-generated binding of hip_runtime_api.h lists them.
static_assert(offsetof(DevicePropR0600, totalGlobalMem) == 288);
static_assert(offsetof(DevicePropR0600, clockRate) == 348);
static_assert(offsetof(DevicePropR0600, multiProcessorCount) == 388);
static_assert(offsetof(DevicePropR0600, surfaceAlignment) == 568);
static_assert(offsetof(DevicePropR0600, l2CacheSize) == 616);
static_assert(offsetof(DevicePropR0600, sharedMemPerBlockOptin) == 696);
static_assert(offsetof(DevicePropR0600, reservedSharedMemPerBlock) == 720);
static_assert(offsetof(DevicePropR0600, reserved) == 780);
static_assert(offsetof(DevicePropR0600, hipReserved) == 1032);
static_assert(offsetof(DevicePropR0600, gcnArchName) == 1160);
static_assert(offsetof(DevicePropR0600, maxSharedMemoryPerMultiProcessor) ==
              1416);
static_assert(offsetof(DevicePropR0600, arch) == 1428);
static_assert(offsetof(DevicePropR0600, hdpMemFlushCntl) == 1432);
static_assert(offsetof(DevicePropR0600, asicRevision) == 1468);
static_assert(sizeof(DevicePropR0600) == 1472);

/// The entry points, with hip_runtime_api.h's signatures (hipDevice_t is an
/// int; hipDeviceptr_t is a void *).
struct Driver::Api {
  void *handle = nullptr;
  hipError_t (*hipInit)(unsigned) = nullptr;
  hipError_t (*hipRuntimeGetVersion)(int *) = nullptr;
  hipError_t (*hipGetDeviceCount)(int *) = nullptr;
  hipError_t (*hipDeviceGetName)(char *, int, int) = nullptr;
  hipError_t (*hipDeviceGetAttribute)(int *, int, int) = nullptr;
  hipError_t (*hipDeviceTotalMem)(size_t *, int) = nullptr;
  hipError_t (*hipGetDevicePropertiesR0600)(DevicePropR0600 *, int) = nullptr;
  const char *(*hipGetErrorName)(hipError_t) = nullptr;
  const char *(*hipGetErrorString)(hipError_t) = nullptr;
  // Execution (HipContext).
  hipError_t (*hipSetDevice)(int) = nullptr;
  hipError_t (*hipDeviceSynchronize)() = nullptr;
  hipError_t (*hipMalloc)(void **, size_t) = nullptr;
  hipError_t (*hipFree)(void *) = nullptr;
  hipError_t (*hipMemcpyHtoD)(void *, const void *, size_t) = nullptr;
  hipError_t (*hipMemcpyDtoH)(void *, void *, size_t) = nullptr;
  hipError_t (*hipMemcpyDtoD)(void *, void *, size_t) = nullptr;
  hipError_t (*hipMemsetD32)(void *, int, size_t) = nullptr;
  hipError_t (*hipStreamCreateWithFlags)(hipStream_t *, unsigned) = nullptr;
  hipError_t (*hipStreamDestroy)(hipStream_t) = nullptr;
  hipError_t (*hipStreamSynchronize)(hipStream_t) = nullptr;
  hipError_t (*hipModuleLoadData)(hipModule_t *, const void *) = nullptr;
  hipError_t (*hipModuleUnload)(hipModule_t) = nullptr;
  hipError_t (*hipModuleGetFunction)(hipFunction_t *, hipModule_t,
                                     const char *) = nullptr;
  hipError_t (*hipModuleLaunchKernel)(hipFunction_t, unsigned, unsigned,
                                      unsigned, unsigned, unsigned, unsigned,
                                      unsigned, hipStream_t, void **,
                                      void **) = nullptr;
  hipError_t (*hipEventCreate)(hipEvent_t *) = nullptr;
  hipError_t (*hipEventDestroy)(hipEvent_t) = nullptr;
  hipError_t (*hipEventRecord)(hipEvent_t, hipStream_t) = nullptr;
  hipError_t (*hipEventSynchronize)(hipEvent_t) = nullptr;
  hipError_t (*hipEventElapsedTime)(float *, hipEvent_t, hipEvent_t) = nullptr;
};

} // namespace kt::hip
