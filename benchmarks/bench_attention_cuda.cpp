// bench_attention_cuda: tunes bf16 / fp16 attention problems with ktune's
// CUDA families into a results file and re-times each winner here with the
// same cold-L2 rotating-buffer method: TFLOP/s, and for decode (query rows
// <= 16) the time against the memory-bandwidth bound (K and V bytes over the
// device-to-device copy bandwidth measured in this run). The comparison
// with PyTorch's SDPA runs on the file it writes:
// benchmarks/attention_sdpa.py. Links no LLVM.
#include "WorkerPath.h"
#include "ktune/cache/ResultsStore.h"
#include "ktune/compiler/CudaCompiler.h"
#include "ktune/drivers/cuda/CudaContext.h"
#include "ktune/drivers/cuda/CudaDriver.h"
#include "ktune/problem/ProblemsFile.h"
#include "ktune/templates/AttentionTemplate.h"
#include "ktune/tuner/CudaAttentionBench.h"
#include "ktune/tuner/CudaTuner.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <vector>

namespace {

using namespace kt;

struct Row {
  AttentionProblem problem;
  std::string winner, note;
  double ms = 0, tflops = 0, boundRatio = 0;
};

/// Device-to-device copy bandwidth (bytes read + written per second) over
/// a 1 GiB buffer.
Result<double> copyBandwidth(const cuda::Context &ctx) {
  const size_t bytes = size_t(1) << 30;
  KT_ASSIGN_OR_RETURN(cuda::DeviceBuffer a, ctx.alloc(bytes));
  KT_ASSIGN_OR_RETURN(cuda::DeviceBuffer b, ctx.alloc(bytes));
  KT_RETURN_IF_ERROR(ctx.copyOnDevice(b, a, bytes)); // Warm up.
  double best = 0;
  for (int i = 0; i < 5; ++i) {
    KT_ASSIGN_OR_RETURN(
        float ms, ctx.timeMs([&] { return ctx.copyOnDevice(b, a, bytes); }));
    best = std::max(best, 2.0 * double(bytes) / (double(ms) * 1e-3));
  }
  return best;
}

/// Times the stored winner of `p` in this process.
Result<GpuMeasurement> retime(const cuda::Context &ctx,
                              const cuda::DeviceInfo &gpu,
                              const CudaCompiler &compiler,
                              const TuningRecord &w,
                              const AttentionProblem &p) {
  KT_ASSIGN_OR_RETURN(const AttentionTemplate *t,
                      findAttentionTemplate(w.templateName));
  KT_ASSIGN_OR_RETURN(Config cfg, parseConfig(w.params));
  KT_ASSIGN_OR_RETURN(KernelSource src,
                      t->instantiate(cfg, p, compiler.target()));
  KT_ASSIGN_OR_RETURN(CudaKernelBinary bin, compiler.compile(src, "bench"));
  KT_ASSIGN_OR_RETURN(cuda::AttentionLaunchSpec spec,
                      cuda::parseAttentionLaunchSpec(src.launch));
  KT_ASSIGN_OR_RETURN(cuda::LoadedModule mod, ctx.loadModule(bin.cubin));
  KT_ASSIGN_OR_RETURN(void *fn, mod.function(src.entry));
  KT_ASSIGN_OR_RETURN(
      auto bench, CudaAttentionBench::create(ctx, gpu, p, GpuBenchOptions{}));
  return bench->measure(fn, spec);
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"bench_attention_cuda: ktune's tuned CUDA attention, TFLOP/s "
               "and decode time against the memory-bandwidth bound"};
  // Relative to the repository root, where the benchmark is run.
  std::string json, db = "attention-cuda.db",
                    problems = "data/llm_attention_cuda_shapes.txt";
  int maxCandidates = 16, device = 0;
  app.add_option("--problems", problems, "Attention problems file")
      ->capture_default_str();
  app.add_option("--db", db,
                 "Tune into (and reuse) this results file; "
                 "benchmarks/attention_sdpa.py compares it with SDPA")
      ->capture_default_str();
  app.add_option("--json", json, "Write the rows to this JSON file");
  app.add_option("--max-candidates", maxCandidates,
                 "Configurations tuned per problem")
      ->capture_default_str();
  app.add_option("--device", device, "CUDA device")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto fail = [](const Status &s) {
    fmt::print(stderr, "bench_attention_cuda: {}\n", s.message());
    return 2;
  };
  auto file = readProblemsFile(problems);
  if (!file) {
    return fail(file.status());
  }
  auto driver = cuda::Driver::get();
  if (!driver) {
    return fail(driver.status());
  }
  auto gpu = (*driver)->deviceInfo(device);
  if (!gpu) {
    return fail(gpu.status());
  }
  TargetDesc target;
  target.kind = TargetKind::Cuda;
  target.arch = gpu->arch();
  auto compiler = CudaCompiler::create(target, "");
  if (!compiler) {
    return fail(compiler.status());
  }
  auto toolchain = cudaToolchainFingerprint(target);
  if (!toolchain) {
    return fail(toolchain.status());
  }
  auto store = openSqliteStore(db);
  if (!store) {
    return fail(store.status());
  }
  auto ctx = cuda::Context::open(device);
  if (!ctx) {
    return fail(ctx.status());
  }
  auto bw = copyBandwidth(**ctx);
  if (!bw) {
    return fail(bw.status());
  }
  CudaTuneOptions topt;
  topt.maxCandidates = maxCandidates;
  topt.worker.worker = bench::findWorker(
      "ktune-cuda-worker", "KTUNE_CUDA_WORKER", KT_CUDA_WORKER_PATH);
  topt.worker.device = device;
  topt.progress = false;
  CudaTuner tuner(*gpu, *toolchain, **store, topt);

  fmt::print("bench_attention_cuda on {} ({}, {} SMs), {}, copy bandwidth "
             "{:.0f} GB/s\n",
             gpu->name, gpu->arch(), gpu->smCount, compiler->fingerprint(),
             *bw / 1e9);
  fmt::print("{:<58} {:>9} {:>9} {:>7}  {}\n", "problem", "ms", "TF/s",
             "/bound", "winner");
  std::vector<Row> rows;
  for (const AttentionProblem &p : file->attention) {
    Row row;
    row.problem = p;
    if (!tuner.serves(p)) {
      row.note = "no ktune family serves it on " + target.toString();
    } else if (auto o = tuner.tuneAttention(p); !o) {
      row.note = "tuning failed: " + o.status().message();
    } else if (!o->winner) {
      row.note = "no correct candidate";
    } else {
      row.winner = o->winner->templateName + " " + o->winner->params;
      auto m = retime(**ctx, *gpu, *compiler, *o->winner, p);
      if (!m) {
        row.note = m.status().message();
      } else if (m->status != "ok") {
        row.note = m->status + ": " + m->message;
      } else {
        row.ms = m->medianMs;
        row.tflops = p.flops() / (m->medianMs * 1e9);
        if (p.sq <= 16) {
          const double kvBytes = 2.0 * double(p.kvElements()) * 2;
          row.boundRatio = row.ms / (kvBytes / *bw * 1e3);
        }
      }
    }
    fmt::print("{:<58} {:>9.4f} {:>9.1f} {:>7}  {}{}\n", p.key(), row.ms,
               row.tflops,
               row.boundRatio > 0 ? fmt::format("{:.2f}", row.boundRatio) : "-",
               row.winner, row.note.empty() ? "" : "  (" + row.note + ")");
    std::fflush(stdout);
    rows.push_back(row);
  }
  if (!json.empty()) {
    std::FILE *f = std::fopen(json.c_str(), "w");
    if (!f) {
      fmt::print(stderr, "bench_attention_cuda: cannot write {}\n", json);
      return 1;
    }
    fmt::print(f, "[\n");
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row &r = rows[i];
      const AttentionProblem &p = r.problem;
      fmt::print(f,
                 "  {{\"target\": \"{}\", \"b\": {}, \"hq\": {}, \"hkv\": {}, "
                 "\"sq\": {}, \"skv\": {}, \"d\": {}, \"causal\": {}, "
                 "\"ktune_tflops\": {:.3f}, \"ms\": {:.6f}, "
                 "\"bound_ratio\": {:.4f}, \"device\": \"{}\", "
                 "\"winner\": \"{}\"}}{}\n",
                 target.toString(), p.batch, p.hq, p.hkv, p.sq, p.skv, p.d,
                 p.causal ? "true" : "false", r.tflops, r.ms, r.boundRatio,
                 gpu->name, r.winner, i + 1 < rows.size() ? "," : "");
    }
    fmt::print(f, "]\n");
    std::fclose(f);
  }
  return 0;
}
