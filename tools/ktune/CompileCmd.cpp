// `ktune compile`: print a template instance at any stage of the pipeline,
// for the CPU (MLIR) or a CUDA target (NVRTC).
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
#include <memory>
#include <optional>

namespace kt::cli {

namespace {

/// `ktune compile` for attention problems: the CPU family (MLIR stages or
/// the code object), the CUDA families (source, PTX, cubin, resources) and
/// the HIP families (source, LLVM IR, assembly, code object, resources).
int compileAttention(const std::string &sig, const std::string &targetName,
                     const std::string &emitArg, const std::string &config,
                     const std::string &tmpl, const std::string &output) {
  auto p = parseAttentionProblem(sig);
  if (!p) {
    return fail(p.status().message());
  }
  auto target = parseTarget(targetName);
  if (!target) {
    return fail(target.status().message());
  }
  const bool cuda = target->kind == TargetKind::Cuda;
  const bool hip = target->kind == TargetKind::Hip;
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
    auto made = HipCompiler::create(*target, "");
    if (!made) {
      return fail(made.status().message());
    }
    hipCompiler.emplace(std::move(*made));
  } else if (cuda) {
    if (Status s = checkCudaEmit(emit); !s.isOk()) {
      return fail(s.message());
    }
    auto made = CudaCompiler::create(*target, "", mlirPtxFrontend());
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
  if ((emit == "so" || emit == "cubin" || emit == "hsaco") && output.empty()) {
    return fail("--emit " + emit + " writes a binary: give -o FILE");
  }
  CpuCompiler compiler(*target, "");
  int served = 0;
  for (const AttentionTemplate *t : attentionTemplates()) {
    if ((!tmpl.empty() && t->name() != tmpl) || !t->supports(*p, *target)) {
      continue;
    }
    ++served;
    Config cfg = t->defaultConfig(*p, *target);
    if (!config.empty()) {
      auto parsed = parseConfig(config);
      if (!parsed) {
        return fail(parsed.status().message());
      }
      for (const auto &[k, v] : parsed->values()) {
        cfg.set(k, v);
      }
    }
    auto src = t->instantiate(cfg, *p, *target);
    if (!src) {
      return fail(fmt::format("{} with {}: {}", t->name(), cfg.toString(),
                              src.status().message()));
    }
    Result<std::string> text = internalError("not emitted");
    if (hip) {
      text = emitHip(*hipCompiler, *src, emit);
    } else if (cuda) {
      text = emitCuda(*cudaCompiler, *src, emit);
    } else if (emit == "so") {
      auto kernel =
          compiler.compile(*src, t->name() + "|" + t->sourceHash() + "|" +
                                     p->key() + "|" + cfg.toString());
      text = kernel ? Result<std::string>(std::move(kernel->bytes))
                    : Result<std::string>(kernel.status());
    } else {
      text = compiler.emit(*src, *stage);
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
      fmt::print("{} {} {}: wrote {} bytes to {}\n", t->name(), cfg.toString(),
                 p->key(), text->size(), output);
    } else {
      fmt::print("// {} {} {}\n{}\n", t->name(), cfg.toString(), p->key(),
                 *text);
    }
  }
  if (served == 0) {
    return fail(fmt::format("no attention family serves {} on {} (the CPU "
                            "family takes f32 and bf16, cuda:sm_90a bf16 "
                            "and f16 with head dim 64 or 128, hip:gfx950 and "
                            "hip:gfx942 bf16 and f16 with 64, 128 or 256)",
                            p->key(), target->toString()));
  }
  return 0;
}

} // namespace

Runner addCompile(CLI::App &app) {
  struct Args {
    std::string target = "cpu", problem, emit, config, tmpl, output;
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
  c->add_option("--problem", a->problem, "Problem signature")->required();
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
  return [a] {
    if (isAttentionSignature(a->problem)) {
      return compileAttention(a->problem, a->target, a->emit, a->config,
                              a->tmpl, a->output);
    }
    auto p = parseGemmProblem(a->problem);
    if (!p) {
      return fail(p.status().message());
    }
    auto target = parseTarget(a->target);
    if (!target) {
      return fail(target.status().message());
    }
    const bool cuda = target->kind == TargetKind::Cuda;
    const bool hip = target->kind == TargetKind::Hip;
    const std::string emit = !a->emit.empty() ? a->emit
                             : cuda           ? "cuda"
                             : hip            ? "hip"
                                              : "mlir";
    std::optional<CudaCompiler> cudaCompiler;
    std::optional<HipCompiler> hipCompiler;
    std::optional<CpuCompiler> cpuCompiler;
    if (hip) {
      if (Status s = checkHipEmit(emit); !s.isOk()) {
        return fail(s.message());
      }
      auto made = HipCompiler::create(*target, "");
      if (!made) {
        return fail(made.status().message());
      }
      hipCompiler.emplace(std::move(*made));
    } else if (cuda) {
      if (Status s = checkCudaEmit(emit); !s.isOk()) {
        return fail(s.message());
      }
      auto made = CudaCompiler::create(*target, "", mlirPtxFrontend());
      if (!made) {
        return fail(made.status().message());
      }
      cudaCompiler.emplace(std::move(*made));
    } else {
      if (auto stage = parseEmitStage(emit); !stage && emit != "so") {
        return fail(stage.status().message() + " (or so)");
      }
      cpuCompiler.emplace(*target, "");
    }
    if ((emit == "cubin" || emit == "hsaco" || emit == "so") &&
        a->output.empty()) {
      return fail("--emit " + emit + " writes a binary: give -o FILE");
    }
    std::vector<std::pair<const GemmTemplate *, Config>> chosen;
    for (const GemmTemplate *t : gemmTemplates()) {
      if ((!a->tmpl.empty() && t->name() != a->tmpl) ||
          !t->supports(*p, *target)) {
        continue;
      }
      Config cfg = t->defaultConfig(*p, *target);
      if (!a->config.empty()) {
        auto parsed = parseConfig(a->config);
        if (!parsed) {
          return fail(parsed.status().message());
        }
        for (const auto &[k, v] : parsed->values()) {
          cfg.set(k, v);
        }
      }
      chosen.emplace_back(t, cfg);
    }
    if (chosen.empty()) {
      return fail(fmt::format("no template family serves {} on {}", p->key(),
                              target->toString()));
    }
    if (!a->output.empty() && chosen.size() > 1) {
      return fail(fmt::format("{} families serve {}; pick one with "
                              "--template to write -o {}",
                              chosen.size(), p->key(), a->output));
    }
    for (const auto &[t, cfg] : chosen) {
      auto src = t->instantiate(cfg, *p, *target);
      if (!src) {
        return fail(fmt::format("{} with {}: {}", t->name(), cfg.toString(),
                                src.status().message()));
      }
      Result<std::string> text = internalError("not emitted");
      if (hip) {
        text = emitHip(*hipCompiler, *src, emit);
      } else if (cuda) {
        text = emitCuda(*cudaCompiler, *src, emit);
      } else if (emit == "so") {
        auto kernel =
            cpuCompiler->compile(*src, t->name() + "|" + t->sourceHash() + "|" +
                                           p->key() + "|" + cfg.toString());
        text = kernel ? Result<std::string>(std::move(kernel->bytes))
                      : Result<std::string>(kernel.status());
      } else {
        text = cpuCompiler->emit(*src, *parseEmitStage(emit));
      }
      if (!text) {
        return fail(text.status().message());
      }
      if (!a->output.empty()) {
        std::ofstream out(a->output, std::ios::binary);
        out.write(text->data(), std::streamsize(text->size()));
        if (!out) {
          return fail("cannot write " + a->output);
        }
        fmt::print("{} {} {}: wrote {} bytes to {}\n", t->name(),
                   cfg.toString(), p->key(), text->size(), a->output);
        continue;
      }
      fmt::print("// {} {} {}\n{}\n", t->name(), cfg.toString(), p->key(),
                 *text);
    }
    return 0;
  };
}

} // namespace kt::cli

namespace kt::cli {

Runner addCompileWorker(CLI::App &app) {
  struct Args {
    std::string source, entry = "kt_gemm", identity, cacheDir, out;
  };
  auto a = std::make_shared<Args>();
  CLI::App *c = app.add_subcommand(
      "compile-worker", "Internal: compile one candidate for `ktune tune`");
  c->group(""); // Hidden from --help.
  c->add_option("--source", a->source)->required();
  c->add_option("--entry", a->entry);
  c->add_option("--identity", a->identity);
  c->add_option("--cache-dir", a->cacheDir);
  c->add_option("--out", a->out)->required();
  return [a] {
    return runCompileWorker(a->source, a->entry, a->identity, a->cacheDir,
                            a->out);
  };
}

} // namespace kt::cli
