// One GPU's primary context through the dlopen'ed driver: device memory,
// copies, code-object loading, kernel launch and event timing. Every call
// makes the context current on the calling thread first.
#pragma once

#include "ktune/base/Status.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kt::cuda {

class Context;

/// Device memory, freed on destruction.
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  DeviceBuffer(DeviceBuffer &&o) noexcept;
  DeviceBuffer &operator=(DeviceBuffer &&o) noexcept;
  ~DeviceBuffer();
  uint64_t ptr() const { return ptr_; } ///< CUdeviceptr.
  size_t bytes() const { return bytes_; }

private:
  friend class Context;
  const Context *ctx_ = nullptr;
  uint64_t ptr_ = 0;
  size_t bytes_ = 0;
};

/// A loaded cubin or PTX image, unloaded on destruction.
class LoadedModule {
public:
  LoadedModule() = default;
  LoadedModule(LoadedModule &&o) noexcept;
  LoadedModule &operator=(LoadedModule &&o) noexcept;
  ~LoadedModule();
  /// The kernel `name` (mangled or extern "C"); NotFound if absent.
  Result<void *> function(const std::string &name) const;

private:
  friend class Context;
  const Context *ctx_ = nullptr;
  void *module_ = nullptr;
};

/// A stream of the context, destroyed on destruction. A null stream (the
/// default-constructed one) is the legacy default stream.
class Stream {
public:
  Stream() = default;
  Stream(Stream &&o) noexcept;
  Stream &operator=(Stream &&o) noexcept;
  ~Stream();
  void *handle() const { return stream_; } ///< CUstream.

private:
  friend class Context;
  const Context *ctx_ = nullptr;
  void *stream_ = nullptr;
};

struct LaunchConfig {
  unsigned grid[3] = {1, 1, 1};
  unsigned block[3] = {1, 1, 1};
  unsigned sharedBytes = 0;
  /// Thread-block cluster shape; {1,1,1} launches without clusters.
  unsigned cluster[3] = {1, 1, 1};
  void *stream = nullptr; ///< CUstream; null: the default stream.
};

/// A TMA descriptor (CUtensorMap): 128 opaque bytes, passed by value to a
/// kernel as a __grid_constant__ parameter.
struct alignas(128) TensorMap {
  uint64_t opaque[16] = {};
};

/// A 2-D row-major tensor for cuTensorMapEncodeTiled: `rows` x `cols`
/// elements of `elementBytes` with a row pitch of `rowPitchBytes`, copied in
/// boxes of `boxRows` x `boxCols`.
struct TensorMap2d {
  enum class Type { F16, BF16, F32 };
  enum class Swizzle { None, B32, B64, B128 };
  uint64_t address = 0;
  Type type = Type::BF16;
  uint64_t rows = 0, cols = 0, rowPitchBytes = 0;
  unsigned boxRows = 0, boxCols = 0;
  Swizzle swizzle = Swizzle::B128;
};

class Context {
public:
  /// The types vendor-neutral code names through the context type.
  using Buffer = DeviceBuffer;
  using Launch = LaunchConfig;

  /// Retains device `ordinal`'s primary context.
  static Result<std::unique_ptr<Context>> open(int ordinal);
  ~Context();
  Context(const Context &) = delete;
  Context &operator=(const Context &) = delete;

  Result<DeviceBuffer> alloc(size_t bytes) const;
  Status copyToDevice(const DeviceBuffer &dst, const void *src,
                      size_t bytes) const;
  Status copyToHost(void *dst, const DeviceBuffer &src, size_t bytes) const;
  Status copyOnDevice(const DeviceBuffer &dst, const DeviceBuffer &src,
                      size_t bytes) const;
  /// Fills the first `words` 32-bit words of `dst` with `value` (e.g. a NaN
  /// pattern that shows outputs a kernel failed to write).
  Status fill32(const DeviceBuffer &dst, uint32_t value, size_t words) const;
  Result<Stream> createStream() const;
  /// Loads a cubin (ELF) or a NUL-terminated PTX image.
  Result<LoadedModule> loadModule(const std::string &image) const;
  /// Launches on cfg.stream; `args` point at each parameter. A cluster
  /// shape other than 1x1x1 launches through cuLaunchKernelEx.
  Status launch(void *function, const LaunchConfig &cfg,
                std::vector<void *> args) const;
  /// Lets `function` use `bytes` of dynamic shared memory (needed above
  /// 48 KiB).
  Status setMaxDynamicShared(void *function, int bytes) const;
  /// Registers per thread the loaded `function` uses.
  Result<int> registersPerThread(void *function) const;
  /// Encodes a TMA descriptor; InvalidArgument (naming the field) where the
  /// driver rejects the geometry.
  Result<TensorMap> encodeTensorMap(const TensorMap2d &t) const;
  Status synchronize() const;
  Status synchronize(const Stream &stream) const;
  /// Milliseconds between two events recorded around `body` on `stream`
  /// (null: the default stream), waiting for the second one.
  Result<float> timeMs(const std::function<Status()> &body,
                       void *stream = nullptr) const;

  int ordinal() const { return ordinal_; }
  /// Makes the context current on the calling thread (for libraries that
  /// use the current context, such as cuBLASLt).
  Status makeCurrent() const;

private:
  friend class DeviceBuffer;
  friend class LoadedModule;
  friend class Stream;
  Context() = default;
  Status check(int result, const char *what) const;
  int ordinal_ = 0;
  int device_ = 0;
  void *ctx_ = nullptr;
};

} // namespace kt::cuda
