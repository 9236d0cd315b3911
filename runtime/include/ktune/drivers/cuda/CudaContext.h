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

struct LaunchConfig {
  unsigned grid[3] = {1, 1, 1};
  unsigned block[3] = {1, 1, 1};
  unsigned sharedBytes = 0;
};

class Context {
public:
  /// Retains device `ordinal`'s primary context.
  static Result<std::unique_ptr<Context>> open(int ordinal);
  ~Context();
  Context(const Context &) = delete;
  Context &operator=(const Context &) = delete;

  Result<DeviceBuffer> alloc(size_t bytes) const;
  Status copyToDevice(const DeviceBuffer &dst, const void *src,
                      size_t bytes) const;
  Status copyToHost(void *dst, const DeviceBuffer &src, size_t bytes) const;
  /// Loads a cubin (ELF) or a NUL-terminated PTX image.
  Result<LoadedModule> loadModule(const std::string &image) const;
  /// Launches on the default stream; `args` point at each parameter.
  Status launch(void *function, const LaunchConfig &cfg,
                std::vector<void *> args) const;
  Status synchronize() const;
  /// Milliseconds between two events recorded around `body` on the default
  /// stream, waiting for the second one.
  Result<float> timeMs(const std::function<Status()> &body) const;

  int ordinal() const { return ordinal_; }

private:
  friend class DeviceBuffer;
  friend class LoadedModule;
  Context() = default;
  Status check(int result, const char *what) const;
  Status makeCurrent() const;
  int ordinal_ = 0;
  int device_ = 0;
  void *ctx_ = nullptr;
};

} // namespace kt::cuda
