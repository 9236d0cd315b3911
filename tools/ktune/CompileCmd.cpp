// `ktune compile`: print a template instance at any stage of the pipeline.
#include "Commands.h"

#include "ktune/compiler/CpuCompiler.h"
#include "ktune/templates/GemmTemplate.h"
#include "ktune/tuner/CompileWorker.h"

#include <fmt/format.h>

#include <memory>

namespace kt::cli {

Runner addCompile(CLI::App &app) {
  struct Args {
    std::string target = "cpu", problem, emit = "mlir", config, tmpl;
  };
  auto a = std::make_shared<Args>();
  CLI::App *c = app.add_subcommand(
      "compile", "Specialise a template for a problem and print the MLIR, "
                 "scheduled MLIR, LLVM dialect, LLVM IR or assembly");
  c->add_option("--target", a->target, "Target")->capture_default_str();
  c->add_option("--problem", a->problem, "Problem signature")->required();
  c->add_option("--emit", a->emit,
                "mlir | scheduled | llvm-dialect | llvm | asm")
      ->capture_default_str();
  c->add_option("--config", a->config,
                "Parameters 'mr=6;nv=2;...' (default: each family's default "
                "configuration for the problem)");
  c->add_option("--template", a->tmpl, "Only this family (e.g. cpu.gemm.mlir)");
  return [a] {
    auto p = parseGemmProblem(a->problem);
    if (!p) {
      return fail(p.status().message());
    }
    auto target = parseTarget(a->target);
    if (!target) {
      return fail(target.status().message());
    }
    auto stage = parseEmitStage(a->emit);
    if (!stage) {
      return fail(stage.status().message());
    }
    CpuCompiler compiler(*target, "");
    int printed = 0;
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
      auto src = t->instantiate(cfg, *p, *target);
      if (!src) {
        return fail(fmt::format("{} with {}: {}", t->name(), cfg.toString(),
                                src.status().message()));
      }
      auto text = compiler.emit(*src, *stage);
      if (!text) {
        return fail(text.status().message());
      }
      fmt::print("// {} {} {}\n{}\n", t->name(), cfg.toString(), p->key(),
                 *text);
      ++printed;
    }
    if (printed == 0) {
      return fail(fmt::format("no template family serves {} on {}", p->key(),
                              target->toString()));
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
