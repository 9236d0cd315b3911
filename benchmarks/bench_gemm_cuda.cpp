// bench_gemm_cuda: bf16 GEMM TFLOP/s of ktune's tuned CUDA kernels (the best
// of its own families; cuBLASLt excluded from the tuning) beside cuBLASLt's
// default algorithm, both timed in this process with the same cold-L2
// rotating-buffer method. Links no LLVM.
#include "GpuGemmTable.h"
#include "WorkerPath.h"
#include "ktune/cache/ResultsStore.h"
#include "ktune/compiler/CudaCompiler.h"
#include "ktune/drivers/cuda/CublasLt.h"
#include "ktune/drivers/cuda/CudaContext.h"
#include "ktune/drivers/cuda/CudaDriver.h"
#include "ktune/templates/GemmTemplate.h"
#include "ktune/tuner/CudaGemmBench.h"
#include "ktune/tuner/CudaTuner.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using namespace kt;
namespace fs = std::filesystem;

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"bench_gemm_cuda: tuned ktune CUDA GEMMs against cuBLASLt"};
  std::string json, db;
  bool quick = false;
  int maxCandidates = 24, device = 0;
  app.add_option("--json", json, "Write the rows to this JSON file");
  app.add_option("--db", db,
                 "Tune into (and reuse) this results file; default: a "
                 "temporary one");
  app.add_option("--max-candidates", maxCandidates,
                 "Configurations tuned per shape")
      ->capture_default_str();
  app.add_option("--device", device, "CUDA device")->capture_default_str();
  app.add_flag("--quick", quick, "Fewer shapes");
  CLI11_PARSE(app, argc, argv);

  auto driver = cuda::Driver::get();
  if (!driver) {
    fmt::print(stderr, "bench_gemm_cuda: {}\n", driver.status().message());
    return 2;
  }
  auto gpu = (*driver)->deviceInfo(device);
  if (!gpu) {
    fmt::print(stderr, "bench_gemm_cuda: {}\n", gpu.status().message());
    return 2;
  }
  auto lt = cuda::CublasLt::get();
  if (!lt) {
    fmt::print(stderr, "bench_gemm_cuda: {}\n", lt.status().message());
    return 2;
  }
  TargetDesc target;
  target.kind = TargetKind::Cuda;
  target.arch = gpu->arch();
  auto compiler = CudaCompiler::create(target, "");
  auto toolchain = cudaToolchainFingerprint(target);
  if (!compiler || !toolchain) {
    fmt::print(stderr, "bench_gemm_cuda: {}\n",
               (!compiler ? compiler.status() : toolchain.status()).message());
    return 2;
  }
  const bool tempDb = db.empty();
  if (tempDb) {
    db = (fs::temp_directory_path() /
          fmt::format("bench_gemm_cuda-{}.db", ::getpid()))
             .string();
  }
  auto store = openSqliteStore(db);
  if (!store) {
    fmt::print(stderr, "bench_gemm_cuda: {}\n", store.status().message());
    return 2;
  }
  auto ctx = cuda::Context::open(device);
  if (!ctx) {
    fmt::print(stderr, "bench_gemm_cuda: {}\n", ctx.status().message());
    return 2;
  }
  CudaTuneOptions topt;
  topt.maxCandidates = maxCandidates;
  topt.vendorAlgorithms = 0; // ktune's own kernels only.
  topt.worker.worker = bench::findWorker(
      "ktune-cuda-worker", "KTUNE_CUDA_WORKER", KT_CUDA_WORKER_PATH);
  topt.worker.device = device;
  topt.progress = false;
  CudaTuner tuner(*gpu, *toolchain, **store, topt);

  fmt::print("bench_gemm_cuda on {} ({}, {} SMs, L2 {} MiB), {}, {}\n",
             gpu->name, gpu->arch(), gpu->smCount, gpu->l2Bytes >> 20,
             compiler->fingerprint(), (*lt)->version());
  bench::printGemmHeader("cuBLASLt");
  std::vector<bench::GemmRow> rows;
  for (const GemmProblem &p : bench::gemmShapes(quick)) {
    bench::GemmRow row;
    row.problem = p;
    if (!tuner.serves(p)) {
      row.note = "no ktune family serves it on " + target.toString();
    } else if (auto o = tuner.tuneOne(p); !o) {
      row.note = "tuning failed: " + o.status().message();
    } else if (!o->winner) {
      row.note = "no correct ktune candidate";
    } else {
      row.family = o->winner->templateName;
      row.params = o->winner->params;
    }
    // Both timed here, on the same rotating sets.
    auto bench = CudaGemmBench::create(**ctx, *gpu, p, GpuBenchOptions{});
    if (!bench) {
      row.note = bench.status().message();
    } else {
      if (!row.family.empty()) {
        auto tmpl = findGemmTemplate(row.family);
        auto cfg = parseConfig(row.params);
        auto src = (*tmpl)->instantiate(*cfg, p, target);
        auto bin = src ? compiler->compile(*src, "bench")
                       : Result<CudaKernelBinary>(src.status());
        auto spec = src ? cuda::parseGemmLaunchSpec(src->launch)
                        : Result<cuda::GemmLaunchSpec>(src.status());
        if (bin && spec) {
          auto mod = (*ctx)->loadModule(bin->cubin);
          auto fn =
              mod ? mod->function(src->entry) : Result<void *>(mod.status());
          if (fn) {
            GpuMeasurement m = (*bench)->measure(*fn, *spec);
            row.ktuneTflops =
                m.status == "ok" ? bench::tflops(p, m.medianMs) : 0;
            if (m.status != "ok") {
              row.note = m.status + ": " + m.message;
            }
          }
        }
      }
      auto ref = cuda::CublasLtGemm::create(**ctx, p);
      if (ref) {
        GpuMeasurement m = (*bench)->measureCublas(**ref, 0);
        row.refTflops = m.status == "ok" ? bench::tflops(p, m.medianMs) : 0;
      }
    }
    row.ratio = row.refTflops > 0 ? row.ktuneTflops / row.refTflops : 0;
    bench::printGemmRow(row);
    rows.push_back(row);
  }
  bench::printGeomean(rows, "cuBLASLt");
  if (!json.empty() && !bench::writeGemmJson(json, rows, gpu->name)) {
    fmt::print(stderr, "bench_gemm_cuda: cannot write {}\n", json);
    return 1;
  }
  if (tempDb) {
    std::error_code ec;
    store->reset();
    for (const char *suffix : {"", "-wal", "-shm"}) {
      fs::remove(db + suffix, ec);
    }
  }
  return 0;
}
