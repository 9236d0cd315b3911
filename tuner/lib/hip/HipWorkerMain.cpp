// The HIP worker side of GpuWorker.h: one AMD GPU, one problem (a GEMM or an
// attention signature), a list of configurations whose code objects the
// tuner compiled into the prebuilt folder (with the reference kernels); one
// line per event on stdout.
#include "../gpu/WorkerProtocol.h"
#include "ktune/base/Hash.h"
#include "ktune/drivers/hip/HipBlasLt.h"
#include "ktune/drivers/hip/HipContext.h"
#include "ktune/drivers/hip/HipDriver.h"
#include "ktune/drivers/hip/HipGemmLaunch.h"
#include "ktune/problem/AttentionProblem.h"
#include "ktune/templates/AttentionTemplate.h"
#include "ktune/templates/GemmTemplate.h"
#include "ktune/tuner/GpuWorker.h"
#include "ktune/tuner/HipAttentionBench.h"
#include "ktune/tuner/HipGemmBench.h"

namespace kt {
namespace {

int startFailure(const std::string &why) {
  return worker::startFailure("ktune-hip-worker", why);
}

} // namespace

int runHipWorker(int argc, char **argv) {
  auto args = worker::parseArgs(argc, argv);
  if (!args) {
    return startFailure(args.status().message());
  }
  if (args->prebuilt.empty()) {
    return startFailure("the HIP worker loads code objects the tuner "
                        "compiled: --prebuilt DIR is required");
  }
  auto job = worker::parseJob(*args, kHipBlasLtFamily, "hipBLASLt");
  if (!job) {
    return startFailure(job.status().message());
  }
  const bool attention = job->attention, vendor = job->vendor;
  auto ctx = hip::Context::open(args->device);
  if (!ctx) {
    return startFailure(ctx.status().message());
  }
  const hip::DeviceInfo &info = (*ctx)->info();
  auto target = parseTarget("hip:" + info.arch);
  if (!target) {
    return startFailure(target.status().message());
  }
  const std::string reference =
      worker::readFile(args->prebuilt + "/" + kHipReferenceBinary);
  if (reference.empty()) {
    return startFailure("no reference code object in " + args->prebuilt);
  }
  GpuBenchOptions bo;
  bo.rotateBytes = args->rotateBytes;
  bo.maxMs = args->maxMs;
  // One bench per op behind the three things the loop needs.
  std::unique_ptr<HipGemmBench> gemmBench;
  std::unique_ptr<HipAttentionBench> attnBench;
  if (attention) {
    auto made = HipAttentionBench::create(**ctx, job->attn, reference, bo);
    if (!made) {
      return startFailure(made.status().message());
    }
    attnBench = std::move(*made);
  } else {
    auto made = HipGemmBench::create(**ctx, job->gemm, reference, bo);
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
    KT_ASSIGN_OR_RETURN(auto spec, hip::parseGemmLaunchSpec(launch));
    return gemmBench->measure(fn, spec, abandon);
  };
  std::unique_ptr<hip::HipBlasLtGemm> blas;
  std::string fingerprint = "prebuilt";
  if (vendor) {
    auto made = hip::HipBlasLtGemm::create(**ctx, job->gemm);
    if (!made) {
      return startFailure(made.status().message());
    }
    blas = std::move(*made);
    fingerprint = (*hip::HipBlasLt::get())->version();
  }
  worker::emitReady(
      info.name, info.arch, info.computeUnits,
      attention ? attnBench->referenceMs() : gemmBench->referenceMs(),
      attention ? attnBench->sets() : gemmBench->sets(), fingerprint);

  for (const std::string &text : args->configs) {
    worker::emitStart(text);
    auto result = [&](const std::string &status, const std::string &msg,
                      const GpuMeasurement *m = nullptr,
                      const std::string &hash = "") {
      worker::emitResult(text, status, msg, m, hash);
    };
    auto config = parseConfig(text);
    if (!config) {
      result("compile-failed", config.status().message());
      continue;
    }
    const double abandon = args->bestMs > 0 ? 3 * args->bestMs : 0;
    GpuMeasurement m;
    std::string hash, codeObject;
    if (vendor) {
      m = gemmBench->measureHipBlasLt(*blas, int(config->get("algo", -1)),
                                      abandon);
    } else {
      auto src = job->instantiate(*config, *target);
      if (!src) {
        result("compile-failed", src.status().message());
        continue;
      }
      codeObject =
          worker::readFile(args->prebuilt + "/" + prebuiltBinaryName(*config));
      if (codeObject.empty()) {
        result("compile-failed",
               "no prebuilt code object for this configuration in " +
                   args->prebuilt);
        continue;
      }
      hash = sha256Hex(codeObject);
      auto module = (*ctx)->loadModule(codeObject);
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
      m = *measured;
    }
    if (m.status == "ok" && !codeObject.empty() && !args->binaries.empty()) {
      worker::writeFile(args->binaries + "/" + hash + ".bin", codeObject);
    }
    result(m.status, m.message, &m, hash);
    if (contextLost()) {
      return 3; // The client starts a fresh worker for the rest.
    }
  }
  return 0;
}

} // namespace kt
