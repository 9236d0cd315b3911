#include "ktune/drivers/cuda/CudaContext.h"

#include "CudaApi.h"

#include <fmt/format.h>

namespace kt::cuda {

namespace {

const Driver::Api &api() { return (*Driver::get())->api(); }

} // namespace

Status Context::check(int r, const char *what) const {
  if (r == 0) {
    return Status::ok();
  }
  return internalError(fmt::format("{} on cuda:{}: {}", what, ordinal_,
                                   (*Driver::get())->errorString(r)));
}

Status Context::makeCurrent() const {
  return check(api().cuCtxSetCurrent(ctx_), "cuCtxSetCurrent");
}

Result<std::unique_ptr<Context>> Context::open(int ordinal) {
  KT_ASSIGN_OR_RETURN(const Driver *d, Driver::get());
  std::unique_ptr<Context> c(new Context());
  c->ordinal_ = ordinal;
  if (int r = d->api().cuDeviceGet(&c->device_, ordinal); r != 0) {
    return invalidArgument(
        fmt::format("no CUDA device {}: {}", ordinal, d->errorString(r)));
  }
  KT_RETURN_IF_ERROR(
      c->check(d->api().cuDevicePrimaryCtxRetain(&c->ctx_, c->device_),
               "cuDevicePrimaryCtxRetain"));
  return c;
}

Context::~Context() {
  if (ctx_) {
    api().cuDevicePrimaryCtxRelease(device_);
  }
}

Result<DeviceBuffer> Context::alloc(size_t bytes) const {
  KT_RETURN_IF_ERROR(makeCurrent());
  DeviceBuffer b;
  CUdeviceptr p = 0;
  KT_RETURN_IF_ERROR(check(api().cuMemAlloc(&p, bytes),
                           fmt::format("cuMemAlloc({} bytes)", bytes).c_str()));
  b.ctx_ = this;
  b.ptr_ = p;
  b.bytes_ = bytes;
  return b;
}

Status Context::copyToDevice(const DeviceBuffer &dst, const void *src,
                             size_t bytes) const {
  if (bytes > dst.bytes()) {
    return invalidArgument("copy larger than the device buffer");
  }
  KT_RETURN_IF_ERROR(makeCurrent());
  return check(api().cuMemcpyHtoD(dst.ptr(), src, bytes), "cuMemcpyHtoD");
}

Status Context::copyToHost(void *dst, const DeviceBuffer &src,
                           size_t bytes) const {
  if (bytes > src.bytes()) {
    return invalidArgument("copy larger than the device buffer");
  }
  KT_RETURN_IF_ERROR(makeCurrent());
  return check(api().cuMemcpyDtoH(dst, src.ptr(), bytes), "cuMemcpyDtoH");
}

Result<LoadedModule> Context::loadModule(const std::string &image) const {
  KT_RETURN_IF_ERROR(makeCurrent());
  LoadedModule m;
  KT_RETURN_IF_ERROR(check(api().cuModuleLoadData(&m.module_, image.c_str()),
                           "cuModuleLoadData"));
  m.ctx_ = this;
  return m;
}

Status Context::launch(void *function, const LaunchConfig &cfg,
                       std::vector<void *> args) const {
  KT_RETURN_IF_ERROR(makeCurrent());
  return check(api().cuLaunchKernel(function, cfg.grid[0], cfg.grid[1],
                                    cfg.grid[2], cfg.block[0], cfg.block[1],
                                    cfg.block[2], cfg.sharedBytes, nullptr,
                                    args.data(), nullptr),
               "cuLaunchKernel");
}

Status Context::synchronize() const {
  KT_RETURN_IF_ERROR(makeCurrent());
  return check(api().cuCtxSynchronize(), "cuCtxSynchronize");
}

Result<float> Context::timeMs(const std::function<Status()> &body) const {
  KT_RETURN_IF_ERROR(makeCurrent());
  CUevent start = nullptr, stop = nullptr;
  KT_RETURN_IF_ERROR(check(api().cuEventCreate(&start, 0), "cuEventCreate"));
  if (Status s = check(api().cuEventCreate(&stop, 0), "cuEventCreate");
      !s.isOk()) {
    api().cuEventDestroy(start);
    return s;
  }
  float ms = 0;
  Status s = check(api().cuEventRecord(start, nullptr), "cuEventRecord");
  if (s.isOk()) {
    s = body();
  }
  if (s.isOk()) {
    s = check(api().cuEventRecord(stop, nullptr), "cuEventRecord");
  }
  if (s.isOk()) {
    s = check(api().cuEventSynchronize(stop), "cuEventSynchronize");
  }
  if (s.isOk()) {
    s = check(api().cuEventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
  }
  api().cuEventDestroy(start);
  api().cuEventDestroy(stop);
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
    api().cuMemFree(ptr_);
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
    api().cuModuleUnload(module_);
  }
}

Result<void *> LoadedModule::function(const std::string &name) const {
  CUfunction f = nullptr;
  if (int r = api().cuModuleGetFunction(&f, module_, name.c_str()); r != 0) {
    return notFound(fmt::format("kernel '{}' not in the module: {}", name,
                                (*Driver::get())->errorString(r)));
  }
  return f;
}

} // namespace kt::cuda
