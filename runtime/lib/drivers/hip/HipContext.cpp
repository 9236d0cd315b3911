#include "ktune/drivers/hip/HipContext.h"

#include "HipApi.h"

#include <fmt/format.h>

#include <new>

namespace kt::hip {

namespace {

const Driver::Api &api() { return (*Driver::get())->api(); }

void *devicePtr(uint64_t p) { return reinterpret_cast<void *>(p); }

/// What to do about a failed call, by error.
const char *advice(int r) {
  switch (r) {
  case kErrorIllegalAddress:
  case kErrorAssert:
  case kErrorLaunchFailure:
    return "a kernel faulted and the device is unusable for the rest of this "
           "process: restart it (the tuner measures in worker processes for "
           "this reason); run with AMD_LOG_LEVEL=1 to see the faulting "
           "address";
  case kErrorOutOfMemory:
    return "free device memory or use a smaller problem";
  case kErrorInvalidImage:
  case kErrorNoBinaryForGpu:
    return "the code object is not for this GPU: compile it for the device's "
           "arch (ktune devices lists it)";
  case kErrorLaunchOutOfResources:
    return "the kernel asks for more registers, LDS or work-items than the "
           "device has: pick a smaller configuration";
  default:
    return "check the arguments; AMD_LOG_LEVEL=3 makes the runtime log why";
  }
}

} // namespace

Status Context::check(int r, const std::string &what) const {
  if (r == 0) {
    return Status::ok();
  }
  return internalError(
      fmt::format("{} on hip:{} failed: {}; {}", what, info_.ordinal,
                  (*Driver::get())->errorString(r), advice(r)));
}

Status Context::makeCurrent() const {
  return check(api().hipSetDevice(info_.ordinal),
               fmt::format("hipSetDevice({})", info_.ordinal));
}

Result<std::unique_ptr<Context>> Context::open(int ordinal) {
  KT_ASSIGN_OR_RETURN(const Driver *d, Driver::get());
  std::unique_ptr<Context> c(new Context());
  KT_ASSIGN_OR_RETURN(c->info_, d->deviceInfo(ordinal));
  KT_RETURN_IF_ERROR(c->makeCurrent());
  return c;
}

// The runtime owns the device's primary context; a Context holds nothing
// to release.
Context::~Context() = default;

Result<DeviceBuffer> Context::alloc(size_t bytes) const {
  KT_RETURN_IF_ERROR(makeCurrent());
  void *p = nullptr;
  KT_RETURN_IF_ERROR(check(api().hipMalloc(&p, bytes),
                           fmt::format("hipMalloc({} bytes)", bytes)));
  DeviceBuffer b;
  b.ctx_ = this;
  b.ptr_ = reinterpret_cast<uint64_t>(p);
  b.bytes_ = bytes;
  return b;
}

Status Context::copyToDevice(const DeviceBuffer &dst, const void *src,
                             size_t bytes) const {
  if (bytes > dst.bytes()) {
    return invalidArgument(fmt::format(
        "copy of {} bytes into a {}-byte device buffer", bytes, dst.bytes()));
  }
  KT_RETURN_IF_ERROR(makeCurrent());
  return check(api().hipMemcpyHtoD(devicePtr(dst.ptr()), src, bytes),
               fmt::format("hipMemcpyHtoD({} bytes)", bytes));
}

Status Context::copyToHost(void *dst, const DeviceBuffer &src,
                           size_t bytes) const {
  if (bytes > src.bytes()) {
    return invalidArgument(fmt::format(
        "copy of {} bytes out of a {}-byte device buffer", bytes, src.bytes()));
  }
  KT_RETURN_IF_ERROR(makeCurrent());
  return check(api().hipMemcpyDtoH(dst, devicePtr(src.ptr()), bytes),
               fmt::format("hipMemcpyDtoH({} bytes)", bytes));
}

Status Context::copyOnDevice(const DeviceBuffer &dst, const DeviceBuffer &src,
                             size_t bytes) const {
  if (bytes > dst.bytes() || bytes > src.bytes()) {
    return invalidArgument(
        fmt::format("device copy of {} bytes between buffers of {} and {}",
                    bytes, src.bytes(), dst.bytes()));
  }
  KT_RETURN_IF_ERROR(makeCurrent());
  return check(
      api().hipMemcpyDtoD(devicePtr(dst.ptr()), devicePtr(src.ptr()), bytes),
      fmt::format("hipMemcpyDtoD({} bytes)", bytes));
}

Status Context::fill32(const DeviceBuffer &dst, uint32_t value,
                       size_t words) const {
  if (words * 4 > dst.bytes()) {
    return invalidArgument(fmt::format(
        "fill of {} words into a {}-byte device buffer", words, dst.bytes()));
  }
  KT_RETURN_IF_ERROR(makeCurrent());
  // hipMemsetD32 takes the pattern as an int; the bits are what is stored.
  return check(api().hipMemsetD32(devicePtr(dst.ptr()), int(value), words),
               fmt::format("hipMemsetD32({} words)", words));
}

Result<Stream> Context::createStream() const {
  KT_RETURN_IF_ERROR(makeCurrent());
  Stream s;
  KT_RETURN_IF_ERROR(
      check(api().hipStreamCreateWithFlags(&s.stream_, kStreamNonBlocking),
            "hipStreamCreateWithFlags(hipStreamNonBlocking)"));
  s.ctx_ = this;
  return s;
}

Result<LoadedModule> Context::loadModule(const std::string &codeObject) const {
  if (codeObject.empty()) {
    return invalidArgument("an empty code object cannot be loaded");
  }
  KT_RETURN_IF_ERROR(makeCurrent());
  LoadedModule m;
  KT_RETURN_IF_ERROR(
      check(api().hipModuleLoadData(&m.module_, codeObject.data()),
            fmt::format("hipModuleLoadData ({}-byte code object for {})",
                        codeObject.size(), info_.gcnArchName)));
  m.ctx_ = this;
  return m;
}

Status Context::launch(void *function, const LaunchConfig &cfg,
                       std::vector<void *> args) const {
  KT_RETURN_IF_ERROR(makeCurrent());
  return check(
      api().hipModuleLaunchKernel(function, cfg.grid[0], cfg.grid[1],
                                  cfg.grid[2], cfg.block[0], cfg.block[1],
                                  cfg.block[2], cfg.sharedBytes, cfg.stream,
                                  args.data(), nullptr),
      fmt::format("hipModuleLaunchKernel (grid {}x{}x{}, block {}x{}x{}, {} "
                  "bytes of dynamic LDS)",
                  cfg.grid[0], cfg.grid[1], cfg.grid[2], cfg.block[0],
                  cfg.block[1], cfg.block[2], cfg.sharedBytes));
}

Status Context::synchronize() const {
  KT_RETURN_IF_ERROR(makeCurrent());
  return check(api().hipDeviceSynchronize(), "hipDeviceSynchronize");
}

Status Context::synchronize(const Stream &stream) const {
  KT_RETURN_IF_ERROR(makeCurrent());
  return check(api().hipStreamSynchronize(stream.handle()),
               "hipStreamSynchronize");
}

Result<float> Context::timeMs(const std::function<Status()> &body,
                              void *stream) const {
  KT_RETURN_IF_ERROR(makeCurrent());
  hipEvent_t start = nullptr, stop = nullptr;
  KT_RETURN_IF_ERROR(check(api().hipEventCreate(&start), "hipEventCreate"));
  if (Status s = check(api().hipEventCreate(&stop), "hipEventCreate");
      !s.isOk()) {
    api().hipEventDestroy(start);
    return s;
  }
  float ms = 0;
  Status s = check(api().hipEventRecord(start, stream), "hipEventRecord");
  if (s.isOk()) {
    s = body();
  }
  if (s.isOk()) {
    // body() may have used other devices; the events belong to this one.
    s = makeCurrent();
  }
  if (s.isOk()) {
    s = check(api().hipEventRecord(stop, stream), "hipEventRecord");
  }
  if (s.isOk()) {
    s = check(api().hipEventSynchronize(stop), "hipEventSynchronize");
  }
  if (s.isOk()) {
    s = check(api().hipEventElapsedTime(&ms, start, stop),
              "hipEventElapsedTime");
  }
  api().hipEventDestroy(start);
  api().hipEventDestroy(stop);
  if (!s.isOk()) {
    return s;
  }
  return ms;
}

DeviceBuffer::DeviceBuffer(DeviceBuffer &&o) noexcept
    : ctx_(o.ctx_), ptr_(o.ptr_), bytes_(o.bytes_) {
  o.ctx_ = nullptr;
  o.ptr_ = 0;
  o.bytes_ = 0;
}

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&o) noexcept {
  if (this != &o) {
    this->~DeviceBuffer();
    new (this) DeviceBuffer(std::move(o));
  }
  return *this;
}

DeviceBuffer::~DeviceBuffer() {
  if (ctx_ && ptr_) {
    (void)ctx_->makeCurrent();
    api().hipFree(devicePtr(ptr_));
  }
}

Stream::Stream(Stream &&o) noexcept : ctx_(o.ctx_), stream_(o.stream_) {
  o.ctx_ = nullptr;
  o.stream_ = nullptr;
}

Stream &Stream::operator=(Stream &&o) noexcept {
  if (this != &o) {
    this->~Stream();
    new (this) Stream(std::move(o));
  }
  return *this;
}

Stream::~Stream() {
  if (ctx_ && stream_) {
    (void)ctx_->makeCurrent();
    api().hipStreamDestroy(stream_);
  }
}

LoadedModule::LoadedModule(LoadedModule &&o) noexcept
    : ctx_(o.ctx_), module_(o.module_) {
  o.ctx_ = nullptr;
  o.module_ = nullptr;
}

LoadedModule &LoadedModule::operator=(LoadedModule &&o) noexcept {
  if (this != &o) {
    this->~LoadedModule();
    new (this) LoadedModule(std::move(o));
  }
  return *this;
}

LoadedModule::~LoadedModule() {
  if (ctx_ && module_) {
    (void)ctx_->makeCurrent();
    api().hipModuleUnload(module_);
  }
}

Result<void *> LoadedModule::function(const std::string &name) const {
  if (!module_) {
    return failedPrecondition("function() on an empty LoadedModule");
  }
  KT_RETURN_IF_ERROR(ctx_->makeCurrent());
  hipFunction_t f = nullptr;
  if (int r = api().hipModuleGetFunction(&f, module_, name.c_str()); r != 0) {
    return notFound(fmt::format(
        "kernel '{}' is not in the code object (hipModuleGetFunction: {}); "
        "check the entry name (extern \"C\" or the mangled name)",
        name, (*Driver::get())->errorString(r)));
  }
  return f;
}

} // namespace kt::hip
