// Lookup contexts: finding tuned GEMM winners, loading them and caching them.
#include "LookupContext.h"

#include "ktune/device/HostInfo.h"

#include <fmt/format.h>

#include <functional>
#include <utility>

namespace kt::lookup {

size_t GemmProblemHash::operator()(const GemmProblem &p) const {
  size_t h = std::hash<int>()(static_cast<int>(p.dtype));
  auto mix = [&h](uint64_t v) {
    h ^= std::hash<uint64_t>()(v) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  };
  mix(uint64_t(p.transA) | (uint64_t(p.transB) << 1));
  for (int64_t v : {p.m, p.n, p.k, p.lda, p.ldb, p.ldc}) {
    mix(uint64_t(v));
  }
  return h;
}

} // namespace kt::lookup

using namespace kt;

Result<std::unique_ptr<kt_context>>
kt_context::create(const lookup::ContextOptions &options) {
  KT_ASSIGN_OR_RETURN(std::unique_ptr<ResultsStore> store,
                      openSqliteStore(options.resultsPath, /*readOnly=*/true));
  std::unique_ptr<kt_context> ctx(new kt_context());
  ctx->resultsPath_ = options.resultsPath;
  ctx->checkValidators_ = options.checkValidators;
  ctx->store_ = std::move(store);
  ctx->device_ = std::make_unique<CpuDevice>(options.numThreads);
  const TargetDesc &target = ctx->device_->target();
  ctx->validators_ = Validators{target.toString(), hostInfo().cpuModel,
                                target.featureString(), ""};
  return ctx;
}

const kt_context::CacheEntry *
kt_context::findCached(const GemmProblem &problem) const {
  std::shared_lock<std::shared_mutex> lock(cacheMutex_);
  auto it = cache_.find(problem);
  return it == cache_.end() ? nullptr : &it->second;
}

Result<kt_kernel *> kt_context::outcome(const CacheEntry &entry) {
  if (entry.kernel) {
    return entry.kernel.get();
  }
  return entry.failure;
}

Result<kt_kernel *> kt_context::lookupGemm(const GemmProblem &problem) {
  // Entries are never erased or modified once inserted, so a found entry
  // stays valid after the lock is released.
  if (const CacheEntry *hit = findCached(problem)) {
    return outcome(*hit);
  }
  std::lock_guard<std::mutex> load(loadMutex_);
  // Another thread may have resolved the same problem while this one waited.
  if (const CacheEntry *hit = findCached(problem)) {
    return outcome(*hit);
  }
  KT_ASSIGN_OR_RETURN(CacheEntry entry, loadGemm(problem));
  std::unique_lock<std::shared_mutex> lock(cacheMutex_);
  auto inserted = cache_.emplace(problem, std::move(entry));
  return outcome(inserted.first->second);
}

Result<kt_context::CacheEntry>
kt_context::loadGemm(const GemmProblem &problem) {
  std::string key = problem.key();
  const std::string &target = validators_.target;
  KT_ASSIGN_OR_RETURN(std::optional<TuningRecord> winner,
                      store_->winner(key, target));
  if (!winner) {
    return CacheEntry{nullptr, notFound(fmt::format(
                                   "no tuned result for {} on target '{}' in "
                                   "'{}'; use the default kernel",
                                   key, target, resultsPath_))};
  }
  const TuningRecord &record = *winner;
  if (checkValidators_) {
    std::string why = checkRecord(record, validators_);
    if (!why.empty()) {
      return CacheEntry{
          nullptr,
          notFound(fmt::format("the tuned result for {} in '{}' ({} {}) does "
                               "not fit this machine: {}",
                               key, resultsPath_, record.templateName,
                               record.params, why))};
    }
  }
  if (record.binaryHash.empty()) {
    return CacheEntry{
        nullptr, notFound(fmt::format(
                     "the tuned result for {} in '{}' ({} {}) has no "
                     "stored code object; re-tune keeping code objects",
                     key, resultsPath_, record.templateName, record.params))};
  }
  KT_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                      store_->getBinary(record.binaryHash));
  if (!bytes) {
    return CacheEntry{
        nullptr,
        notFound(fmt::format("the code object {} of the tuned result for {} is "
                             "missing from '{}'; re-tune or copy the complete "
                             "results file",
                             record.binaryHash, key, resultsPath_))};
  }
  Result<std::unique_ptr<kt_kernel>> kernel = loadKernel(record, *bytes);
  if (!kernel.isOk()) {
    return CacheEntry{
        nullptr, kernel.status().withContext(fmt::format(
                     "loading the tuned kernel for {} ({} {}) "
                     "from '{}'",
                     key, record.templateName, record.params, resultsPath_))};
  }
  return CacheEntry{std::move(kernel).value(), Status::ok()};
}

Result<std::unique_ptr<kt_kernel>>
kt_context::loadKernel(const TuningRecord &record, const std::string &bytes) {
  Result<std::unique_ptr<Module>> module = device_->loadModule(bytes);
  if (!module.isOk()) {
    return internalError(module.status().toString());
  }
  const Module &mod = **module;
  Result<void *> block = mod.function(kCpuGemmSymbol);
  Result<void *> gridM = mod.function(kCpuGridMSymbol);
  Result<void *> gridN = mod.function(kCpuGridNSymbol);
  for (const Result<void *> *sym : {&block, &gridM, &gridN}) {
    if (!sym->isOk()) {
      return internalError(
          "the code object does not follow the CPU GEMM ABI: " +
          sym->status().toString());
    }
  }
  auto kernel = std::make_unique<kt_kernel>();
  kernel->owner = this;
  kernel->blockFn = reinterpret_cast<CpuGemmBlockFn>(*block);
  kernel->gridM = reinterpret_cast<CpuGridFn>(*gridM)();
  kernel->gridN = reinterpret_cast<CpuGridFn>(*gridN)();
  if (kernel->gridM <= 0 || kernel->gridN <= 0) {
    return internalError(fmt::format("the code object reports an empty "
                                     "grid of {} x {} blocks",
                                     kernel->gridM, kernel->gridN));
  }
  kernel->module = std::move(module).value();
  kernel->problemKey = record.problemKey;
  kernel->templateName = record.templateName;
  kernel->params = record.params;
  kernel->timeMs = record.timeMs;
  return kernel;
}

void kt_context::launchGemm(const kt_kernel &kernel, const void *a,
                            const void *b, void *c, float alpha, float beta) {
  CpuGemmBlockFn fn = kernel.blockFn;
  int64_t gridN = kernel.gridN;
  auto *fa = static_cast<const float *>(a);
  auto *fb = static_cast<const float *>(b);
  auto *fc = static_cast<float *>(c);
  // A pool of one thread runs this on the caller without locking, so
  // single-threaded contexts launch concurrently.
  device_->pool().parallelFor(kernel.gridM * gridN, [&](int64_t i) {
    fn(fa, fb, fc, alpha, beta, i / gridN, i % gridN);
  });
}
