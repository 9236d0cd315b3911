// `ktune lookup`: the tuned winner for one problem, and whether it is
// valid on this machine.
#include "Commands.h"

#include "ktune/cache/ResultsStore.h"
#include "ktune/compiler/CpuCompiler.h"
#include "ktune/device/CpuDevice.h"
#include "ktune/problem/AttentionProblem.h"
#include "ktune/tuner/Tuner.h"

#include <fmt/format.h>

#include <memory>

namespace kt::cli {

Runner addLookup(CLI::App &app) {
  struct Args {
    std::string db, target = "cpu", problem;
  };
  auto a = std::make_shared<Args>();
  CLI::App *c =
      app.add_subcommand("lookup", "Show the tuned winner for one problem");
  c->add_option("--db", a->db, "SQLite results file")->required();
  c->add_option("--target", a->target, "Target")->capture_default_str();
  c->add_option("--problem", a->problem,
                "ktune signature (gemm_f32_NN_1000x1000x1000 or attn_...) or "
                "a TunableOp pair in quotes: "
                "'GemmTunableOp_float_TN,tn_4096_16_4096'")
      ->required();
  return [a] {
    // The problem's key, its FLOPs per run and (GEMMs) its TunableOp name.
    std::string key, tunableOp = "(none: not a GEMM)";
    double flops = 0;
    if (isAttentionSignature(a->problem)) {
      auto p = parseAttentionProblem(a->problem);
      if (!p) {
        return fail(p.status().message());
      }
      key = p->key();
      flops = p->flops();
    } else {
      auto p = parseGemmProblem(a->problem);
      if (!p) {
        return fail(p.status().message());
      }
      key = p->key();
      flops = p->flops();
      tunableOp = p->hasTunableOpForm()
                      ? p->tunableOpSig() + "," + p->tunableOpParams()
                      : "(none: TunableOp has no f32-output GEMM)";
    }
    auto target = parseTarget(a->target);
    if (!target) {
      return fail(target.status().message());
    }
    auto store = openSqliteStore(a->db, /*readOnly=*/true);
    if (!store) {
      return fail(store.status().message());
    }
    // Prefer the result measured on this machine's model; else show the
    // fastest of any model (and say why it does not fit here).
    CpuDevice device(1);
    CpuCompiler compiler(device.target(), "");
    const Validators here = currentValidators(device, compiler);
    const bool cpu = target->toString() == here.target;
    auto w =
        (*store)->winner(key, target->toString(), cpu ? here.deviceModel : "");
    if (w && !w->has_value() && cpu) {
      w = (*store)->winner(key, target->toString(), "");
    }
    if (!w) {
      return fail(w.status().message());
    }
    if (!w->has_value()) {
      fmt::print("{} on {}: NOT_FOUND (not tuned; run `ktune tune`)\n", key,
                 target->toString());
      return 3;
    }
    const TuningRecord &r = **w;
    std::string why = checkRecord(r, here);
    fmt::print("problem     {}\ntunableop   {}\ntarget      {}\n"
               "template    {} (hash {})\nparams      {}\n"
               "time        {:.4f} ms ({:.1f} GFLOP/s, dispersion {:.1f}%, "
               "{} iterations)\nmax error   {:.3f} of tolerance\n"
               "device      {}\ncompiler    {}\nbinary      {}\n"
               "valid here  {}\n",
               r.problemKey, tunableOp, r.target, r.templateName,
               r.templateHash, r.params, r.timeMs, flops / (r.timeMs * 1e6),
               r.dispersion * 100, r.iterations, r.maxError, r.deviceModel,
               r.compilerFingerprint,
               r.binaryHash.empty() ? "(none)" : r.binaryHash,
               why.empty() ? "yes" : "no: " + why);
    return 0;
  };
}

} // namespace kt::cli
