// One AMD GPU through the dlopen'ed HIP runtime: device memory, copies,
// code-object loading, kernel launch and event timing, with the same names
// as kt::cuda::Context. The HIP runtime keeps a current device per thread,
// so every call selects this context's device (hipSetDevice) first.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/drivers/hip/HipDriver.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kt::hip {

class Context;

/// Device memory (hipMalloc), freed on destruction. Must not outlive its
/// Context.
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  DeviceBuffer(DeviceBuffer &&o) noexcept;
  DeviceBuffer &operator=(DeviceBuffer &&o) noexcept;
  ~DeviceBuffer();
  uint64_t ptr() const { return ptr_; } ///< The device address.
  size_t bytes() const { return bytes_; }

private:
  friend class Context;
  const Context *ctx_ = nullptr;
  uint64_t ptr_ = 0;
  size_t bytes_ = 0;
};

/// A loaded code object (HSACO), unloaded on destruction.
class LoadedModule {
public:
  LoadedModule() = default;
  LoadedModule(LoadedModule &&o) noexcept;
  LoadedModule &operator=(LoadedModule &&o) noexcept;
  ~LoadedModule();
  /// The kernel `name` (mangled or extern "C") as a hipFunction_t; NotFound
  /// if absent.
  Result<void *> function(const std::string &name) const;

private:
  friend class Context;
  const Context *ctx_ = nullptr;
  void *module_ = nullptr;
};

/// A non-blocking stream, destroyed on destruction. A null stream (the
/// default-constructed one) is the null stream.
class Stream {
public:
  Stream() = default;
  Stream(Stream &&o) noexcept;
  Stream &operator=(Stream &&o) noexcept;
  ~Stream();
  void *handle() const { return stream_; } ///< hipStream_t.

private:
  friend class Context;
  const Context *ctx_ = nullptr;
  void *stream_ = nullptr;
};

struct LaunchConfig {
  unsigned grid[3] = {1, 1, 1};  ///< Workgroups.
  unsigned block[3] = {1, 1, 1}; ///< Work-items per workgroup.
  unsigned sharedBytes = 0;      ///< Dynamic LDS.
  void *stream = nullptr;        ///< hipStream_t; null: the null stream.
};

/// Thread-safety: the methods may be called from many threads (each sets
/// the device on its own thread); buffers, modules and streams must not
/// outlive the Context.
class Context {
public:
  /// The types vendor-neutral code names through the context type.
  using Buffer = DeviceBuffer;
  using Launch = LaunchConfig;

  /// Device `ordinal`. Unavailable with the runtime's reason where there is
  /// no HIP runtime or no GPU; InvalidArgument for an ordinal out of range.
  static Result<std::unique_ptr<Context>> open(int ordinal);
  ~Context();
  Context(const Context &) = delete;
  Context &operator=(const Context &) = delete;

  const DeviceInfo &info() const { return info_; }
  int ordinal() const { return info_.ordinal; }

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
  /// Loads an AMDGPU code object (an ELF for this device's arch).
  Result<LoadedModule> loadModule(const std::string &codeObject) const;
  /// Launches on cfg.stream; `args` point at each kernel parameter.
  Status launch(void *function, const LaunchConfig &cfg,
                std::vector<void *> args) const;
  Status synchronize() const;
  Status synchronize(const Stream &stream) const;
  /// Milliseconds between two events recorded around `body` on `stream`
  /// (null: the null stream), waiting for the second one.
  Result<float> timeMs(const std::function<Status()> &body,
                       void *stream = nullptr) const;

  /// Makes this device current on the calling thread (for libraries that
  /// use the current device, such as hipBLASLt).
  Status makeCurrent() const;

private:
  friend class DeviceBuffer;
  friend class LoadedModule;
  friend class Stream;
  Context() = default;
  /// Ok for hipSuccess, else an error naming `what`, the runtime's message
  /// and what to do.
  Status check(int result, const std::string &what) const;
  DeviceInfo info_;
};

} // namespace kt::hip
