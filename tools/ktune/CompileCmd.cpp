// `ktune compile`: print a GEMM or attention template instance at any stage
// of the pipeline, for the CPU (MLIR), a CUDA target (NVRTC or MLIR through
// NVVM) or a HIP target (clang or MLIR through ROCDL).
#include "Commands.h"

#include "ktune/problem/AttentionProblem.h"
#include "ktune/templates/AttentionTemplate.h"

#include "CudaEmit.h"
#include "HipEmit.h"

#include "ktune/compiler/CpuCompiler.h"
#include "ktune/compiler/CudaCompiler.h"
#include "ktune/compiler/MlirGpu.h"
#include "ktune/templates/GemmTemplate.h"
#include "ktune/tuner/CompileWorker.h"

#include <fmt/format.h>

#include <fstream>
#include <functional>
#include <memory>
#include <optional>

namespace kt::cli {

namespace {

/// One family chosen to emit: its name and hash, the configuration, and
/// how to instantiate it for the problem.
struct Chosen {
  std::string name, hash;
  Config config;
  std::function<Result<KernelSource>(const Config &)> instantiate;
};

/// Emits every chosen family's instance of the problem `key` on `target` at
/// the `emitArg` stage (default: the source), printed or written to
/// `output`.
int emitChosen(const TargetDesc &target, const std::string &emitArg,
               const std::string &key, const std::vector<Chosen> &chosen,
               const std::string &output, HipFrontend hipFrontend) {
  const bool cuda = target.kind == TargetKind::Cuda;
  const bool hip = target.kind == TargetKind::Hip;
  const std::string emit = !emitArg.empty() ? emitArg
                           : cuda           ? "cuda"
                           : hip            ? "hip"
                                            : "mlir";
  std::optional<CudaCompiler> cudaCompiler;
  std::optional<HipCompiler> hipCompiler;
  std::optional<EmitStage> stage;
  if (hip) {
    if (Status s = checkHipEmit(emit); !s.isOk()) {
      return fail(s.message());
    }
    auto made = HipCompiler::create(target, "", hipFrontend);
    if (!made) {
      return fail(made.status().message());
    }
    hipCompiler.emplace(std::move(*made));
  } else if (cuda) {
    if (Status s = checkCudaEmit(emit); !s.isOk()) {
      return fail(s.message());
    }
    auto made = CudaCompiler::create(target, "", mlirPtxFrontend());
    if (!made) {
      return fail(made.status().message());
    }
    cudaCompiler.emplace(std::move(*made));
  } else if (emit != "so") {
    auto parsed = parseEmitStage(emit);
    if (!parsed) {
      return fail(parsed.status().message() + " (or so)");
    }
    stage = *parsed;
  }
  if ((emit == "cubin" || emit == "hsaco" || emit == "so") && output.empty()) {
    return fail("--emit " + emit + " writes a binary: give -o FILE");
  }
  if (!output.empty() && chosen.size() > 1) {
    return fail(fmt::format("{} families serve {}; pick one with --template "
                            "to write -o {}",
                            chosen.size(), key, output));
  }
  CpuCompiler cpuCompiler(target, "");
  for (const Chosen &f : chosen) {
    auto src = f.instantiate(f.config);
    if (!src) {
      return fail(fmt::format("{} with {}: {}", f.name, f.config.toString(),
                              src.status().message()));
    }
    Result<std::string> text = internalError("not emitted");
    if (hip) {
      text = emitHip(*hipCompiler, *src, emit);
    } else if (cuda) {
      text = emitCuda(*cudaCompiler, *src, emit);
    } else if (emit == "so") {
      auto kernel = cpuCompiler.compile(
          *src, f.name + "|" + f.hash + "|" + key + "|" + f.config.toString());
      text = kernel ? Result<std::string>(std::move(kernel->bytes))
                    : Result<std::string>(kernel.status());
    } else {
      text = cpuCompiler.emit(*src, *stage);
    }
    if (!text) {
      return fail(text.status().message());
    }
    if (!output.empty()) {
      std::ofstream out(output, std::ios::binary);
      out.write(text->data(), std::streamsize(text->size()));
      if (!out) {
        return fail("cannot write " + output);
      }
      fmt::print("{} {} {}: wrote {} bytes to {}\n", f.name,
                 f.config.toString(), key, text->size(), output);
      continue;
    }
    fmt::print("// {} {} {}\n{}\n", f.name, f.config.toString(), key, *text);
  }
  return 0;
}

/// The families of `all` (GEMM or attention templates) that serve `p` on
/// `target` (only `tmpl` if given), each at its default configuration with
/// `config` applied.
template <typename Template, typename Problem>
Result<std::vector<Chosen>>
chooseFamilies(const std::vector<const Template *> &all, const Problem &p,
               const TargetDesc &target, const std::string &tmpl,
               const std::string &config) {
  std::vector<Chosen> chosen;
  for (const Template *t : all) {
    if ((!tmpl.empty() && t->name() != tmpl) || !t->supports(p, target)) {
      continue;
    }
    KT_ASSIGN_OR_RETURN(Config cfg,
                        applyConfig(t->defaultConfig(p, target), config));
    chosen.push_back(
        {t->name(), t->sourceHash(), cfg, [t, p, target](const Config &c) {
           return t->instantiate(c, p, target);
         }});
  }
  return chosen;
}

} // namespace

Runner addCompile(CLI::App &app) {
  struct Args {
    std::string target = "cpu", problem, emit, config, tmpl, output;
    std::string hipCompiler = defaultHipCompiler();
  };
  auto a = std::make_shared<Args>();
  CLI::App *c = app.add_subcommand(
      "compile",
      "Specialise a template for a problem and print it at any stage: for "
      "cpu the MLIR, scheduled MLIR, LLVM dialect, LLVM IR or assembly; for "
      "cuda:sm_XX the source, PTX, cubin, ptxas resources or SASS; for "
      "hip:gfxNNN the HIP C++, LLVM IR, assembly, code object, resources or "
      "disassembly");
  c->add_option("--target", a->target, "Target (cpu, cuda:sm_90a, ...)")
      ->capture_default_str();
  c->add_option("--problem", a->problem, "Problem signature (GEMM or attn_...)")
      ->required();
  c->add_option("--emit", a->emit,
                "cpu: mlir (default) | scheduled | llvm-dialect | llvm | asm | "
                "so (the loadable code object, as the tuner stores it); "
                "cuda: cuda (default; the source, also mlir) | ptx | cubin | "
                "resources | sass; hip: hip (default) | llvm | asm | hsaco | "
                "resources | disasm");
  c->add_option("--config", a->config,
                "Parameters 'mr=6;nv=2;...' (default: each family's default "
                "configuration for the problem)");
  c->add_option("--template", a->tmpl, "Only this family (e.g. cpu.gemm.mlir)");
  c->add_option("-o,--output", a->output,
                "Write to this file instead of stdout (required for cubin "
                "and hsaco; one family only)");
  addHipCompilerOption(c, a->hipCompiler);
  return [a] {
    auto target = parseTarget(a->target);
    if (!target) {
      return fail(target.status().message());
    }
    auto hipFrontend = parseHipFrontend(a->hipCompiler);
    if (!hipFrontend) {
      return fail(hipFrontend.status().message());
    }
    if (isAttentionSignature(a->problem)) {
      auto p = parseAttentionProblem(a->problem);
      if (!p) {
        return fail(p.status().message());
      }
      auto chosen =
          chooseFamilies(attentionTemplates(), *p, *target, a->tmpl, a->config);
      if (!chosen) {
        return fail(chosen.status().message());
      }
      if (chosen->empty()) {
        return fail(fmt::format(
            "no attention family serves {} on {} (the CPU family takes f32 "
            "and bf16; cuda:sm_90a bf16 and f16 with head dim 64 or 128, "
            "sm_100a up to 256; hip:gfx950 and hip:gfx942 bf16 and f16 with "
            "64, 128 or 256)",
            p->key(), target->toString()));
      }
      return emitChosen(*target, a->emit, p->key(), *chosen, a->output,
                        *hipFrontend);
    }
    auto p = parseGemmProblem(a->problem);
    if (!p) {
      return fail(p.status().message());
    }
    auto chosen =
        chooseFamilies(gemmTemplates(), *p, *target, a->tmpl, a->config);
    if (!chosen) {
      return fail(chosen.status().message());
    }
    if (chosen->empty()) {
      return fail(fmt::format("no template family serves {} on {}", p->key(),
                              target->toString()));
    }
    return emitChosen(*target, a->emit, p->key(), *chosen, a->output,
                      *hipFrontend);
  };
}

} // namespace kt::cli

namespace kt::cli {

Runner addCompileWorker(CLI::App &app) {
  auto a = std::make_shared<CompileWorkerArgs>();
  CLI::App *c = app.add_subcommand(
      "compile-worker", "Internal: compile one candidate for `ktune tune`");
  c->group(""); // Hidden from --help.
  c->add_option("--source", a->sourcePath)->required();
  c->add_option("--entry", a->entry);
  c->add_option("--identity", a->identity);
  c->add_option("--cache-dir", a->cacheDir);
  c->add_option("--out", a->outPath)->required();
  c->add_option("--target", a->target);
  c->add_option("--language", a->language);
  c->add_option("--hip-compiler", a->hipFrontend);
  return [a] { return runCompileWorker(*a); };
}

} // namespace kt::cli
