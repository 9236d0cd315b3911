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

Status Context::copyOnDevice(const DeviceBuffer &dst, const DeviceBuffer &src,
                             size_t bytes) const {
  if (bytes > dst.bytes() || bytes > src.bytes()) {
    return invalidArgument("copy larger than a device buffer");
  }
  KT_RETURN_IF_ERROR(makeCurrent());
  return check(api().cuMemcpyDtoD(dst.ptr(), src.ptr(), bytes), "cuMemcpyDtoD");
}

Status Context::fill32(const DeviceBuffer &dst, uint32_t value,
                       size_t words) const {
  if (words * 4 > dst.bytes()) {
    return invalidArgument("fill larger than the device buffer");
  }
  KT_RETURN_IF_ERROR(makeCurrent());
  return check(api().cuMemsetD32(dst.ptr(), value, words), "cuMemsetD32");
}

Result<Stream> Context::createStream() const {
  KT_RETURN_IF_ERROR(makeCurrent());
  Stream s;
  // CU_STREAM_NON_BLOCKING: no implicit synchronisation with stream 0.
  KT_RETURN_IF_ERROR(
      check(api().cuStreamCreate(&s.stream_, 1), "cuStreamCreate"));
  s.ctx_ = this;
  return s;
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
  if (cfg.cluster[0] * cfg.cluster[1] * cfg.cluster[2] == 1) {
    return check(api().cuLaunchKernel(function, cfg.grid[0], cfg.grid[1],
                                      cfg.grid[2], cfg.block[0], cfg.block[1],
                                      cfg.block[2], cfg.sharedBytes, cfg.stream,
                                      args.data(), nullptr),
                 "cuLaunchKernel");
  }
  LaunchAttribute cluster;
  cluster.id = kLaunchAttributeClusterDimension;
  cluster.value.clusterDim = {cfg.cluster[0], cfg.cluster[1], cfg.cluster[2]};
  LaunchConfigEx ex{
      cfg.grid[0],  cfg.grid[1],     cfg.grid[2], cfg.block[0], cfg.block[1],
      cfg.block[2], cfg.sharedBytes, cfg.stream,  &cluster,     1};
  return check(api().cuLaunchKernelEx(&ex, function, args.data(), nullptr),
               fmt::format("cuLaunchKernelEx (cluster {}x{}x{})",
                           cfg.cluster[0], cfg.cluster[1], cfg.cluster[2])
                   .c_str());
}

Status Context::setMaxDynamicShared(void *function, int bytes) const {
  KT_RETURN_IF_ERROR(makeCurrent());
  return check(api().cuFuncSetAttribute(
                   function, kFuncAttributeMaxDynamicSharedBytes, bytes),
               fmt::format("cuFuncSetAttribute(max dynamic shared = {})", bytes)
                   .c_str());
}

Result<int> Context::registersPerThread(void *function) const {
  KT_RETURN_IF_ERROR(makeCurrent());
  int regs = 0;
  KT_RETURN_IF_ERROR(
      check(api().cuFuncGetAttribute(&regs, kFuncAttributeNumRegs, function),
            "cuFuncGetAttribute(NUM_REGS)"));
  return regs;
}

Result<TensorMap> Context::encodeTensorMap(const TensorMap2d &t) const {
  // cuda.h's CUtensorMapDataType / CUtensorMapSwizzle values.
  int type = t.type == TensorMap2d::Type::F16    ? 6
             : t.type == TensorMap2d::Type::BF16 ? 9
                                                 : 7;
  int swizzle = int(t.swizzle); // None, 32B, 64B, 128B = 0..3.
  std::string what = fmt::format(
      "TMA descriptor for a {}x{} tensor (pitch {} B, address 0x{:x}) in "
      "{}x{} boxes",
      t.rows, t.cols, t.rowPitchBytes, t.address, t.boxRows, t.boxCols);
  if (t.address % 16 != 0 || t.rowPitchBytes % 16 != 0) {
    return invalidArgument(what + ": the address and the row pitch must be "
                                  "multiples of 16 bytes");
  }
  if (t.boxRows == 0 || t.boxCols == 0 || t.boxRows > 256 || t.boxCols > 256) {
    return invalidArgument(what + ": box sides must be 1..256 elements");
  }
  TensorMap map;
  uint64_t dims[2] = {t.cols, t.rows};
  uint64_t strides[1] = {t.rowPitchBytes};
  unsigned box[2] = {t.boxCols, t.boxRows};
  unsigned elementStrides[2] = {1, 1};
  KT_RETURN_IF_ERROR(makeCurrent());
  // Interleave none, L2 promotion 256B, out-of-bounds elements read as zero.
  int r = api().cuTensorMapEncodeTiled(
      map.opaque, type, 2, reinterpret_cast<void *>(t.address), dims, strides,
      box, elementStrides, 0, swizzle, 3, 0);
  if (r != 0) {
    return invalidArgument(
        what + ": cuTensorMapEncodeTiled: " + (*Driver::get())->errorString(r));
  }
  return map;
}

Status Context::synchronize() const {
  KT_RETURN_IF_ERROR(makeCurrent());
  return check(api().cuCtxSynchronize(), "cuCtxSynchronize");
}

Status Context::synchronize(const Stream &stream) const {
  KT_RETURN_IF_ERROR(makeCurrent());
  return check(api().cuStreamSynchronize(stream.handle()),
               "cuStreamSynchronize");
}

Result<float> Context::timeMs(const std::function<Status()> &body,
                              void *stream) const {
  KT_RETURN_IF_ERROR(makeCurrent());
  CUevent start = nullptr, stop = nullptr;
  KT_RETURN_IF_ERROR(check(api().cuEventCreate(&start, 0), "cuEventCreate"));
  if (Status s = check(api().cuEventCreate(&stop, 0), "cuEventCreate");
      !s.isOk()) {
    api().cuEventDestroy(start);
    return s;
  }
  float ms = 0;
  Status s = check(api().cuEventRecord(start, stream), "cuEventRecord");
  if (s.isOk()) {
    s = body();
  }
  if (s.isOk()) {
    s = check(api().cuEventRecord(stop, stream), "cuEventRecord");
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
    api().cuStreamDestroy(stream_);
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
