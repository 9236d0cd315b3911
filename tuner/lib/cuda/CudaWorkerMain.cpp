// The worker side of CudaWorker.h: one GPU context, one problem (a GEMM or
// an attention signature), a list of configurations; one line per event on
// stdout.
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
#include "ktune/tuner/CudaWorker.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

namespace kt {
namespace {

/// Tabs and newlines would break the line protocol.
std::string oneLine(std::string s) {
  for (char &c : s) {
    if (c == '\t' || c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  return s;
}

void emit(const std::string &line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

int startFailure(const std::string &why) {
  emit("error\t" + oneLine(why));
  std::fprintf(stderr, "ktune-cuda-worker: %s\n", why.c_str());
  return 2;
}

struct Args {
  int device = 0;
  std::string problem, tmpl, cacheDir, binaries, overrideSource, prebuilt;
  std::vector<std::string> configs;
  int64_t rotateBytes = 0;
  double maxMs = 300, bestMs = 0;
};

Result<Args> parseArgs(int argc, char **argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string key = argv[i];
    if (i + 1 >= argc) {
      return invalidArgument("option " + key + " needs a value");
    }
    std::string v = argv[++i];
    try {
      if (key == "--device") {
        a.device = std::stoi(v);
      } else if (key == "--problem") {
        a.problem = v;
      } else if (key == "--template") {
        a.tmpl = v;
      } else if (key == "--config") {
        a.configs.push_back(v);
      } else if (key == "--rotate-bytes") {
        a.rotateBytes = std::stoll(v);
      } else if (key == "--max-ms") {
        a.maxMs = std::stod(v);
      } else if (key == "--best-ms") {
        a.bestMs = std::stod(v);
      } else if (key == "--cache-dir") {
        a.cacheDir = v;
      } else if (key == "--binaries") {
        a.binaries = v;
      } else if (key == "--override-source") {
        a.overrideSource = v;
      } else if (key == "--prebuilt") {
        a.prebuilt = v;
      } else {
        return invalidArgument("unknown option " + key);
      }
    } catch (const std::exception &) {
      return invalidArgument("bad value '" + v + "' for " + key);
    }
  }
  if (a.problem.empty() || a.tmpl.empty()) {
    return invalidArgument("--problem and --template are required");
  }
  return a;
}

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

} // namespace

int runCudaWorker(int argc, char **argv) {
  auto args = parseArgs(argc, argv);
  if (!args) {
    return startFailure(args.status().message());
  }
  // The op comes with the problem: attention signatures start with attn_.
  const bool attention = isAttentionSignature(args->problem);
  Result<GemmProblem> gemm = internalError("not a GEMM");
  Result<AttentionProblem> attn = internalError("not attention");
  if (attention) {
    attn = parseAttentionProblem(args->problem);
    if (!attn) {
      return startFailure(attn.status().message());
    }
  } else {
    gemm = parseGemmProblem(args->problem);
    if (!gemm) {
      return startFailure(gemm.status().message());
    }
  }
  const bool vendor = args->tmpl == kCublasLtFamily;
  if (vendor && attention) {
    return startFailure("the cuBLASLt family measures GEMMs only");
  }
  Result<const GemmTemplate *> tmpl =
      vendor || attention ? nullptr : findGemmTemplate(args->tmpl);
  if (!tmpl) {
    return startFailure(tmpl.status().message());
  }
  Result<const AttentionTemplate *> attnTmpl =
      attention ? findAttentionTemplate(args->tmpl) : nullptr;
  if (!attnTmpl) {
    return startFailure(attnTmpl.status().message());
  }
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
  CudaBenchOptions bo;
  bo.rotateBytes = args->rotateBytes;
  bo.maxMs = args->maxMs;
  // One bench per op behind the three things the loop needs.
  std::unique_ptr<CudaGemmBench> gemmBench;
  std::unique_ptr<CudaAttentionBench> attnBench;
  if (attention) {
    auto made = CudaAttentionBench::create(**ctx, *info, *attn, bo);
    if (!made) {
      return startFailure(made.status().message());
    }
    attnBench = std::move(*made);
  } else {
    auto made = CudaGemmBench::create(**ctx, *info, *gemm, bo);
    if (!made) {
      return startFailure(made.status().message());
    }
    gemmBench = std::move(*made);
  }
  auto contextLost = [&] {
    return attention ? attnBench->contextLost() : gemmBench->contextLost();
  };
  const std::string problemKey = attention ? attn->key() : gemm->key();
  const std::string familyId =
      attention ? (*attnTmpl)->name() + "|" + (*attnTmpl)->sourceHash()
      : vendor  ? std::string()
                : (*tmpl)->name() + "|" + (*tmpl)->sourceHash();
  auto instantiate = [&](const Config &c) {
    return attention ? (*attnTmpl)->instantiate(c, *attn, *target)
                     : (*tmpl)->instantiate(c, *gemm, *target);
  };
  auto measure = [&](void *fn, const std::string &launch,
                     double abandon) -> Result<CudaMeasurement> {
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
    auto made = cuda::CublasLtGemm::create(**ctx, *gemm);
    if (!made) {
      return startFailure(made.status().message());
    }
    cublas = std::move(*made);
    fingerprint = (*cuda::CublasLt::get())->version();
  }
  emit(fmt::format(
      "ready\t{}\t{}\t{}\t{:.4f}\t{}\t{}", oneLine(info->name), info->arch(),
      info->smCount,
      attention ? attnBench->referenceMs() : gemmBench->referenceMs(),
      attention ? attnBench->sets() : gemmBench->sets(), fingerprint));
  const std::string override =
      args->overrideSource.empty() ? "" : readFile(args->overrideSource);

  for (const std::string &text : args->configs) {
    emit("start\t" + text);
    auto result = [&](const std::string &status, const std::string &msg,
                      const CudaMeasurement *m = nullptr,
                      const std::string &hash = "") {
      emit(fmt::format("result\t{}\t{}\t{:.6f}\t{:.4f}\t{}\t{:.4g}\t{}\t{}",
                       text, status, m ? m->medianMs : 0.0,
                       m ? m->dispersion : 0.0, m ? m->iterations : 0,
                       m ? m->maxError : 0.0, hash, oneLine(msg)));
    };
    auto config = parseConfig(text);
    if (!config) {
      result("compile-failed", config.status().message());
      continue;
    }
    const double abandon = args->bestMs > 0 ? 3 * args->bestMs : 0;
    if (vendor) {
      CudaMeasurement m = gemmBench->measureCublas(
          *cublas, int(config->get("algo", -1)), abandon);
      result(m.status, m.message, &m);
      if (contextLost()) {
        return 3;
      }
      continue;
    }
    auto src = instantiate(*config);
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
      pre.cubin = readFile(args->prebuilt + "/" + prebuiltCubinName(*config));
      pre.hash = sha256Hex(pre.cubin);
      bin = pre.cubin.empty()
                ? Result<CudaKernelBinary>(
                      notFound("no prebuilt cubin for this configuration in " +
                               args->prebuilt))
                : Result<CudaKernelBinary>(std::move(pre));
    } else {
      bin = compiler->compile(*src, familyId + "|" + problemKey + "|" + text);
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
    CudaMeasurement m = *measured;
    std::string msg = m.message;
    for (const std::string &w : bin->resources.warnings) {
      msg += (msg.empty() ? "" : "; ") + std::string("ptxas: ") + w;
    }
    if (m.status == "ok" && !args->binaries.empty()) {
      std::ofstream out(args->binaries + "/" + bin->hash + ".cubin",
                        std::ios::binary);
      out.write(bin->cubin.data(), std::streamsize(bin->cubin.size()));
    }
    result(m.status, msg, &m, bin->hash);
    if (contextLost()) {
      return 3; // The client starts a fresh worker for the rest.
    }
  }
  return 0;
}

} // namespace kt
