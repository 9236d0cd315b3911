// The CUDA worker side of GpuWorker.h: one GPU context, one problem (a GEMM or
// an attention signature), a list of configurations; one line per event on
// stdout.
#include "../gpu/WorkerProtocol.h"
#include "ktune/base/Hash.h"
#include "ktune/compiler/CudaCompiler.h"
#include "ktune/drivers/cuda/AttentionLaunch.h"
#include "ktune/drivers/cuda/CudaContext.h"
#include "ktune/drivers/cuda/CudaDriver.h"
#include "ktune/drivers/cuda/GemmLaunch.h"
#include "ktune/templates/AttentionTemplate.h"
#include "ktune/templates/GemmTemplate.h"
#include "ktune/tuner/CudaAttentionBench.h"
#include "ktune/tuner/CudaGemmBench.h"
#include "ktune/tuner/GpuWorker.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

namespace kt {

using worker::emitResult;
using worker::readFile;

namespace {
int startFailure(const std::string &why) {
  return worker::startFailure("ktune-cuda-worker", why);
}
} // namespace

int runCudaWorker(int argc, char **argv) {
  auto args = worker::parseArgs(argc, argv);
  if (!args) {
    return startFailure(args.status().message());
  }
  auto job = worker::parseJob(*args, kCublasLtFamily, "cuBLASLt");
  if (!job) {
    return startFailure(job.status().message());
  }
  const bool attention = job->attention, vendor = job->vendor;
  auto driver = cuda::Driver::get();
  if (!driver) {
    return startFailure(driver.status().message());
  }
  auto info = (*driver)->deviceInfo(args->device);
  if (!info) {
    return startFailure(info.status().message());
  }
  auto target = parseTarget("cuda:" + info->arch());
  if (!target) {
    return startFailure(target.status().message());
  }
  auto compiler = CudaCompiler::create(*target, args->cacheDir);
  if (!compiler) {
    return startFailure(compiler.status().message());
  }
  auto ctx = cuda::Context::open(args->device);
  if (!ctx) {
    return startFailure(ctx.status().message());
  }
  GpuBenchOptions bo;
  bo.rotateBytes = args->rotateBytes;
  bo.maxMs = args->maxMs;
  // One bench per op behind the three things the loop needs.
  std::unique_ptr<CudaGemmBench> gemmBench;
  std::unique_ptr<CudaAttentionBench> attnBench;
  if (attention) {
    auto made = CudaAttentionBench::create(**ctx, *info, job->attn, bo);
    if (!made) {
      return startFailure(made.status().message());
    }
    attnBench = std::move(*made);
  } else {
    auto made = CudaGemmBench::create(**ctx, *info, job->gemm, bo);
    if (!made) {
      return startFailure(made.status().message());
    }
    gemmBench = std::move(*made);
  }
  auto contextLost = [&] {
    return attention ? attnBench->contextLost() : gemmBench->contextLost();
  };
  auto measure = [&](void *fn, const std::string &launch,
                     double abandon) -> Result<GpuMeasurement> {
    if (attention) {
      KT_ASSIGN_OR_RETURN(auto spec, cuda::parseAttentionLaunchSpec(launch));
      return attnBench->measure(fn, spec, abandon);
    }
    KT_ASSIGN_OR_RETURN(auto spec, cuda::parseGemmLaunchSpec(launch));
    return gemmBench->measure(fn, spec, abandon);
  };
  std::unique_ptr<cuda::CublasLtGemm> cublas;
  std::string fingerprint = compiler->fingerprint();
  if (vendor) {
    auto made = cuda::CublasLtGemm::create(**ctx, job->gemm);
    if (!made) {
      return startFailure(made.status().message());
    }
    cublas = std::move(*made);
    fingerprint = (*cuda::CublasLt::get())->version();
  }
  worker::emitReady(
      info->name, info->arch(), info->smCount,
      attention ? attnBench->referenceMs() : gemmBench->referenceMs(),
      attention ? attnBench->sets() : gemmBench->sets(), fingerprint);
  const std::string override =
      args->overrideSource.empty() ? "" : readFile(args->overrideSource);

  for (const std::string &text : args->configs) {
    worker::emitStart(text);
    auto result = [&](const std::string &status, const std::string &msg,
                      const GpuMeasurement *m = nullptr,
                      const std::string &hash = "") {
      emitResult(text, status, msg, m, hash);
    };
    auto config = parseConfig(text);
    if (!config) {
      result("compile-failed", config.status().message());
      continue;
    }
    const double abandon = args->bestMs > 0 ? 3 * args->bestMs : 0;
    if (vendor) {
      GpuMeasurement m = gemmBench->measureCublas(
          *cublas, int(config->get("algo", -1)), abandon);
      result(m.status, m.message, &m);
      if (contextLost()) {
        return 3;
      }
      continue;
    }
    auto src = job->instantiate(*config, *target);
    if (!src) {
      result("compile-failed", src.status().message());
      continue;
    }
    if (!override.empty()) {
      src->text = override;
    }
    Result<CudaKernelBinary> bin = internalError("not compiled");
    if (!args->prebuilt.empty()) {
      // Compiled by the client (MLIR sources): load it as is.
      CudaKernelBinary pre;
      pre.cubin = readFile(args->prebuilt + "/" + prebuiltBinaryName(*config));
      pre.hash = sha256Hex(pre.cubin);
      bin = pre.cubin.empty()
                ? Result<CudaKernelBinary>(
                      notFound("no prebuilt cubin for this configuration in " +
                               args->prebuilt))
                : Result<CudaKernelBinary>(std::move(pre));
    } else {
      bin = compiler->compile(*src, job->familyId() + "|" + job->problemKey() +
                                        "|" + text);
    }
    if (!bin) {
      result("compile-failed", bin.status().message());
      continue;
    }
    auto module = (*ctx)->loadModule(bin->cubin);
    if (!module) {
      result("launch-failed", module.status().message());
      continue;
    }
    auto fn = module->function(src->entry);
    if (!fn) {
      result("launch-failed", fn.status().message());
      continue;
    }
    auto measured = measure(*fn, src->launch, abandon);
    if (!measured) {
      result("compile-failed", measured.status().message());
      continue;
    }
    GpuMeasurement m = *measured;
    std::string msg = m.message;
    for (const std::string &w : bin->resources.warnings) {
      msg += (msg.empty() ? "" : "; ") + std::string("ptxas: ") + w;
    }
    if (m.status == "ok" && !args->binaries.empty()) {
      worker::writeFile(args->binaries + "/" + bin->hash + ".bin", bin->cubin);
    }
    result(m.status, msg, &m, bin->hash);
    if (contextLost()) {
      return 3; // The client starts a fresh worker for the rest.
    }
  }
  return 0;
}

} // namespace kt
