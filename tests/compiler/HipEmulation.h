// Test helper: runs the HIP C++ text of the AMD MFMA families (and of the
// tuner's AMD reference kernels) on the host CPU, emulating the wave64
// execution model and the MFMA instructions.
//
// This verifies the same template on another target: the kernel's indexing,
// fragment layouts, LDS staging, boundary handling, split merging and
// softmax logic, given our reading of the documented MFMA operand and result
// layouts (HipEmulation.cpp cites them); not the hardware, its memory model
// or its timing.
//
// The text is compiled by clang++-22 as host C++ after HipEmulationShim.h,
// which maps the AMDGPU builtins to the hooks here. Every work-item is a
// fiber (ucontext); the fibers of a workgroup run on the calling thread and
// switch at barriers and at cross-lane operations (MFMA, ds_bpermute, the
// ballot), where the 64 lanes of a wave exchange values. Workgroups run one
// after another in a given order, so LDS is static storage poisoned before
// each one, and split-K / split-KV semaphores see whole workgroups in
// sequence (no races can show). The lanes of a wave do not run in lockstep
// between cross-lane operations, so values exchanged through LDS within a
// wave without a barrier are not modelled (neither family does that). Not
// thread-safe: one launch at a time per process.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/device/Device.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace kt::test::hipemu {

/// Host memory standing in for one device allocation, 16-byte aligned. Its
/// end (rounded up to 16 bytes) abuts an inaccessible page, so a kernel that
/// reads or writes past it faults at once, and the fault report names the
/// buffer and the work-item. Move-only.
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  DeviceBuffer(std::string name, size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer &&other) noexcept;
  DeviceBuffer &operator=(DeviceBuffer &&other) noexcept;
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;

  /// Null for an empty buffer.
  void *data() const { return data_; }
  template <class T> T *as() const { return static_cast<T *>(data_); }
  size_t bytes() const { return bytes_; }
  /// Inputs are made read-only while a kernel runs: a store faults.
  void setReadOnly(bool readOnly);

private:
  void release();
  std::string name_;
  char *map_ = nullptr;
  size_t mapBytes_ = 0;
  void *data_ = nullptr;
  size_t bytes_ = 0;
  int slot_ = -1;
};

/// The extents of a launch in x and y: work-items per workgroup, or
/// workgroups in the grid.
struct Dims {
  unsigned x = 1, y = 1;
};

/// A kernel text compiled for the host with HipEmulationShim.h and loaded.
class HostKernel {
public:
  /// Compiles `text` (with its `#define __shared__` line pointed at the
  /// shim's static LDS) into a shared object and loads it; `entry` is the
  /// kernel's extern "C" name. The error carries clang's messages.
  static Result<std::unique_ptr<HostKernel>> build(const std::string &text,
                                                   const std::string &entry);
  ~HostKernel();
  HostKernel(const HostKernel &) = delete;
  HostKernel &operator=(const HostKernel &) = delete;

  void *entry() const { return entry_; }
  /// The text's KT_THREADS: the workgroup size it was generated for.
  int threads() const { return threads_; }

private:
  HostKernel() = default;
  friend Status launch(const HostKernel &, Dims, Dims,
                       const std::vector<unsigned> &, bool,
                       const std::function<void()> &);
  std::unique_ptr<Module> module_;
  void *entry_ = nullptr;
  int threads_ = 0;
  void (*bind_)(const void *) = nullptr;
  char *ldsBegin_ = nullptr, *ldsEnd_ = nullptr;
};

/// Compiles kernels in the background, `jobs` at a time, in the order
/// given (pairs of text and entry), so that the emulation of one overlaps
/// the compiles of the next. The destructor waits for the compiles.
class KernelBuilder {
public:
  KernelBuilder(std::vector<std::pair<std::string, std::string>> texts,
                int jobs);
  ~KernelBuilder();
  KernelBuilder(const KernelBuilder &) = delete;
  KernelBuilder &operator=(const KernelBuilder &) = delete;

  /// Waits for the i-th kernel; each is taken once.
  Result<std::unique_ptr<HostKernel>> take(size_t i);

private:
  std::vector<std::pair<std::string, std::string>> texts_;
  std::vector<std::promise<Result<std::unique_ptr<HostKernel>>>> done_;
  std::vector<std::future<Result<std::unique_ptr<HostKernel>>>> results_;
  std::vector<std::thread> workers_;
  std::atomic<size_t> next_{0};
};

/// Runs the workgroups `order` lists, one after another, each as `threads`
/// work-items (a multiple of 64, the kernel's KT_THREADS) that all execute
/// `call`, which calls the kernel's entry with its arguments. With
/// `reverseLanes` the fibers of a workgroup are scheduled from the last to
/// the first (a kernel that communicates through LDS without a barrier then
/// reads stale values in one of the two orders). Fails on a divergent
/// barrier or cross-lane operation, or a deadlock, naming the workgroup and
/// the work-items. A 1-D launch: its grid is taken to be workgroups 0 to the
/// largest in `order`.
Status launch(const HostKernel &kernel, unsigned threads,
              const std::vector<unsigned> &order, bool reverseLanes,
              const std::function<void()> &call);

/// The same for workgroups of block.x * block.y work-items in a grid of
/// grid.x * grid.y workgroups. As on the GPU, work-item w of a workgroup has
/// ids (w % block.x, w / block.x) and is lane w % 64 of wave w / 64;
/// `order` lists workgroups by linear index g, of ids (g % grid.x,
/// g / grid.x); __builtin_amdgcn_grid_size_x is grid.x * block.x.
Status launch(const HostKernel &kernel, Dims block, Dims grid,
              const std::vector<unsigned> &order, bool reverseLanes,
              const std::function<void()> &call);

/// 0 .. n-1, or n-1 .. 0.
std::vector<unsigned> gridOrder(unsigned workgroups, bool reversed);

} // namespace kt::test::hipemu
