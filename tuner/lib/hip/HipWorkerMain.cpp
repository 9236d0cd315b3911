// The HIP worker side of GpuWorker.h: one AMD GPU, one GEMM problem, a list
// of configurations whose code objects the tuner compiled into the prebuilt
// folder (with the reference kernels); one line per event on stdout.
#include "../gpu/WorkerProtocol.h"
#include "ktune/base/Hash.h"
#include "ktune/drivers/hip/HipBlasLt.h"
#include "ktune/drivers/hip/HipContext.h"
#include "ktune/drivers/hip/HipDriver.h"
#include "ktune/drivers/hip/HipGemmLaunch.h"
#include "ktune/problem/AttentionProblem.h"
#include "ktune/templates/GemmTemplate.h"
#include "ktune/tuner/GpuWorker.h"
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
  if (isAttentionSignature(args->problem)) {
    return startFailure("the HIP worker measures GEMMs; HIP attention kernels "
                        "compile (ktune compile --target hip:gfx950) but have "
                        "no launch path yet");
  }
  if (args->prebuilt.empty()) {
    return startFailure("the HIP worker loads code objects the tuner "
                        "compiled: --prebuilt DIR is required");
  }
  auto gemm = parseGemmProblem(args->problem);
  if (!gemm) {
    return startFailure(gemm.status().message());
  }
  const bool vendor = args->tmpl == kHipBlasLtFamily;
  Result<const GemmTemplate *> tmpl =
      vendor ? nullptr : findGemmTemplate(args->tmpl);
  if (!tmpl) {
    return startFailure(tmpl.status().message());
  }
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
  auto bench = HipGemmBench::create(**ctx, *gemm, reference, bo);
  if (!bench) {
    return startFailure(bench.status().message());
  }
  std::unique_ptr<hip::HipBlasLtGemm> blas;
  std::string fingerprint = "prebuilt";
  if (vendor) {
    auto made = hip::HipBlasLtGemm::create(**ctx, *gemm);
    if (!made) {
      return startFailure(made.status().message());
    }
    blas = std::move(*made);
    fingerprint = (*hip::HipBlasLt::get())->version();
  }
  worker::emitReady(info.name, info.arch, info.computeUnits,
                    (*bench)->referenceMs(), (*bench)->sets(), fingerprint);

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
      m = (*bench)->measureHipBlasLt(*blas, int(config->get("algo", -1)),
                                     abandon);
    } else {
      auto src = (*tmpl)->instantiate(*config, *gemm, *target);
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
      auto spec = hip::parseGemmLaunchSpec(src->launch);
      if (!spec) {
        result("compile-failed", spec.status().message());
        continue;
      }
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
      m = (*bench)->measure(*fn, *spec, abandon);
    }
    if (m.status == "ok" && !codeObject.empty() && !args->binaries.empty()) {
      worker::writeFile(args->binaries + "/" + hash + ".bin", codeObject);
    }
    result(m.status, m.message, &m, hash);
    if ((*bench)->contextLost()) {
      return 3; // The client starts a fresh worker for the rest.
    }
  }
  return 0;
}

} // namespace kt
