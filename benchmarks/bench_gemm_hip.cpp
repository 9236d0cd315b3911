// bench_gemm_hip: bf16 GEMM TFLOP/s of ktune's tuned AMD kernels (the best
// of its own families; hipBLASLt excluded from the tuning) beside
// hipBLASLt's default algorithm, both timed in this process with the same
// rotating-buffer method (sets covering twice L2 plus the Infinity Cache).
#include "GpuGemmTable.h"
#include "WorkerPath.h"
#include "ktune/cache/ResultsStore.h"
#include "ktune/compiler/HipCompiler.h"
#include "ktune/drivers/hip/HipBlasLt.h"
#include "ktune/drivers/hip/HipContext.h"
#include "ktune/templates/GemmTemplate.h"
#include "ktune/tuner/HipGemmBench.h"
#include "ktune/tuner/HipTuner.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using namespace kt;
namespace fs = std::filesystem;

/// Times the stored winner of `row` on `bench` (compiled again here, from
/// the binary cache).
void timeWinner(bench::GemmRow &row, const HipCompiler &compiler,
                const hip::Context &ctx, HipGemmBench &bench) {
  const GemmProblem &p = row.problem;
  auto tmpl = findGemmTemplate(row.family);
  auto cfg = parseConfig(row.params);
  if (!tmpl || !cfg) {
    row.note = "the winner's family or parameters are unknown here";
    return;
  }
  auto src = (*tmpl)->instantiate(*cfg, p, compiler.target());
  auto bin = src ? compiler.compile(*src, "bench")
                 : Result<HipKernelBinary>(src.status());
  auto spec = src ? hip::parseGemmLaunchSpec(src->launch)
                  : Result<hip::GemmLaunchSpec>(src.status());
  auto mod = bin ? ctx.loadModule(bin->codeObject)
                 : Result<hip::LoadedModule>(bin.status());
  auto fn = mod ? mod->function(src->entry) : Result<void *>(mod.status());
  if (!spec || !fn) {
    row.note = (!spec ? spec.status() : fn.status()).message();
    return;
  }
  GpuMeasurement m = bench.measure(*fn, *spec);
  row.ktuneTflops = m.status == "ok" ? bench::tflops(p, m.medianMs) : 0;
  if (m.status != "ok") {
    row.note = m.status + ": " + m.message;
  }
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"bench_gemm_hip: tuned ktune AMD GEMMs against hipBLASLt"};
  std::string json, db, hipCompiler = "auto";
  bool quick = false;
  int maxCandidates = 24, device = 0;
  app.add_option("--json", json, "Write the rows to this JSON file");
  app.add_option("--db", db,
                 "Tune into (and reuse) this results file; default: a "
                 "temporary one");
  app.add_option("--max-candidates", maxCandidates,
                 "Configurations tuned per shape")
      ->capture_default_str();
  app.add_option("--device", device, "HIP device")->capture_default_str();
  app.add_option("--hip-compiler", hipCompiler, "auto | hiprtc | clang")
      ->capture_default_str();
  app.add_flag("--quick", quick, "Fewer shapes");
  CLI11_PARSE(app, argc, argv);

  auto fail = [](const Status &s) {
    fmt::print(stderr, "bench_gemm_hip: {}\n", s.message());
    return 2;
  };
  auto ctx = hip::Context::open(device);
  if (!ctx) {
    return fail(ctx.status());
  }
  const hip::DeviceInfo &gpu = (*ctx)->info();
  auto lt = hip::HipBlasLt::get();
  if (!lt) {
    return fail(lt.status());
  }
  auto frontend = parseHipFrontend(hipCompiler);
  auto target = parseTarget("hip:" + gpu.arch);
  if (!frontend || !target) {
    return fail(!frontend ? frontend.status() : target.status());
  }
  auto compiler = HipCompiler::create(*target, "", *frontend);
  auto toolchain = hipToolchainFingerprint(*target, *frontend);
  if (!compiler || !toolchain) {
    return fail(!compiler ? compiler.status() : toolchain.status());
  }
  const bool tempDb = db.empty();
  if (tempDb) {
    db = (fs::temp_directory_path() /
          fmt::format("bench_gemm_hip-{}.db", ::getpid()))
             .string();
  }
  auto store = openSqliteStore(db);
  if (!store) {
    return fail(store.status());
  }
  HipTuneOptions topt;
  topt.maxCandidates = maxCandidates;
  topt.vendorAlgorithms = 0; // ktune's own kernels only.
  topt.worker.worker = bench::findWorker("ktune-hip-worker", "KTUNE_HIP_WORKER",
                                         KT_HIP_WORKER_PATH);
  topt.worker.device = device;
  topt.frontend = *frontend;
  topt.progress = false;
  HipTuner tuner(gpu, *toolchain, **store, topt);
  auto reference = compiler->compile(
      {"hip", hipReferenceSource(), "kt_check", ""}, "ktune-hip-reference");
  if (!reference) {
    return fail(reference.status());
  }

  fmt::print("bench_gemm_hip on {} ({}, {} CUs, L2 {} MiB, Infinity Cache {} "
             "MiB), {}, {}\n",
             gpu.name, gpu.arch, gpu.computeUnits, gpu.l2Bytes >> 20,
             gpu.lastLevelCacheBytes >> 20, compiler->fingerprint(),
             (*lt)->version());
  bench::printGemmHeader("hipBLASLt");
  std::vector<bench::GemmRow> rows;
  for (const GemmProblem &p : bench::gemmShapes(quick)) {
    bench::GemmRow row;
    row.problem = p;
    if (!tuner.serves(p)) {
      row.note = "no ktune family serves it on " + target->toString();
    } else if (auto o = tuner.tuneOne(p); !o) {
      row.note = "tuning failed: " + o.status().message();
    } else if (!o->winner) {
      row.note = "no correct ktune candidate";
    } else {
      row.family = o->winner->templateName;
      row.params = o->winner->params;
    }
    // Both timed here, on the same rotating sets.
    auto bench = HipGemmBench::create(**ctx, p, reference->codeObject,
                                      GpuBenchOptions{});
    if (!bench) {
      row.note = bench.status().message();
    } else {
      if (!row.family.empty()) {
        timeWinner(row, *compiler, **ctx, **bench);
      }
      if (auto ref = hip::HipBlasLtGemm::create(**ctx, p)) {
        GpuMeasurement m = (*bench)->measureHipBlasLt(**ref, 0);
        row.refTflops = m.status == "ok" ? bench::tflops(p, m.medianMs) : 0;
      }
    }
    row.ratio = row.refTflops > 0 ? row.ktuneTflops / row.refTflops : 0;
    bench::printGemmRow(row);
    rows.push_back(row);
  }
  bench::printGeomean(rows, "hipBLASLt");
  if (!json.empty() && !bench::writeGemmJson(json, rows, gpu.name)) {
    fmt::print(stderr, "bench_gemm_hip: cannot write {}\n", json);
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
