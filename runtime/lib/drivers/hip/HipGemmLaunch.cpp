#include "ktune/drivers/hip/HipGemmLaunch.h"

#include "../LaunchText.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>

namespace kt::hip {

using launchtext::launchFields;
using launchtext::parseInt;
using launchtext::parsePair;

std::string GemmLaunchSpec::toString() const {
  std::string s = fmt::format("threads={};lds={};tile={}x{};grid=tiles;args={}",
                              threads, ldsBytes, tileM, tileN,
                              args == Args::Dims ? "hip-pointers" : "pointers");
  if (split > 1) {
    s += fmt::format(";split={};sems={}", split, semaphoresPerTile);
  }
  return s;
}

Result<GemmLaunchSpec> parseGemmLaunchSpec(std::string_view text) {
  GemmLaunchSpec s;
  bool seen[4] = {};
  for (auto [key, val] : launchFields(text)) {
    bool ok = false;
    if (key == "threads") {
      ok = parseInt(val, s.threads) && s.threads > 0 && s.threads <= 1024;
      seen[0] = true;
    } else if (key == "lds") {
      ok = parseInt(val, s.ldsBytes);
    } else if (key == "tile") {
      ok = parsePair(val, s.tileM, s.tileN);
      seen[1] = true;
    } else if (key == "grid") {
      ok = val == "tiles";
      seen[2] = true;
    } else if (key == "args") {
      ok = val == "hip-pointers" || val == "pointers";
      s.args = val == "pointers" ? GemmLaunchSpec::Args::Static
                                 : GemmLaunchSpec::Args::Dims;
      seen[3] = true;
    } else if (key == "split") {
      ok = parseInt(val, s.split) && s.split >= 1;
    } else if (key == "sems") {
      ok = parseInt(val, s.semaphoresPerTile);
    }
    if (!ok) {
      return invalidArgument(fmt::format(
          "HIP GEMM launch description '{}': bad field '{}={}' (expected "
          "threads=N;lds=N;tile=MxN;grid=tiles;args=hip-pointers|pointers"
          "[;split=N;sems=N])",
          text, key, val));
    }
  }
  if (!std::all_of(std::begin(seen), std::end(seen),
                   [](bool b) { return b; })) {
    return invalidArgument(fmt::format(
        "HIP GEMM launch description '{}' lacks a field (threads, tile, grid "
        "and args are required)",
        text));
  }
  if (s.split > 1 && s.args == GemmLaunchSpec::Args::Static) {
    return invalidArgument(fmt::format(
        "HIP GEMM launch description '{}': split-K needs args=hip-pointers",
        text));
  }
  if (s.split > 1 && s.semaphoresPerTile < 1) {
    return invalidArgument(fmt::format(
        "HIP GEMM launch description '{}': split={} needs sems >= 1", text,
        s.split));
  }
  return s;
}

namespace {
int64_t tileCount(const GemmLaunchSpec &spec, const GemmProblem &p) {
  return ((p.m + spec.tileM - 1) / spec.tileM) *
         ((p.n + spec.tileN - 1) / spec.tileN);
}
} // namespace

unsigned gemmGridSize(const GemmLaunchSpec &spec, const GemmProblem &p) {
  return unsigned(tileCount(spec, p) * std::max(1, spec.split));
}

uint64_t gemmWorkspaceBytes(const GemmLaunchSpec &spec, const GemmProblem &p) {
  if (spec.split <= 1) {
    return 0;
  }
  return uint64_t(tileCount(spec, p)) * uint64_t(spec.split) *
         uint64_t(spec.tileM) * uint64_t(spec.tileN) * 4;
}

uint64_t gemmSemaphores(const GemmLaunchSpec &spec, const GemmProblem &p) {
  return spec.split <= 1
             ? 0
             : uint64_t(tileCount(spec, p)) * uint64_t(spec.semaphoresPerTile);
}

Status checkGemmOperands(const GemmLaunchSpec &spec, const GemmProblem &p,
                         const GemmOperands &ops) {
  if (p.dtype != DType::BF16 && p.dtype != DType::F16) {
    return invalidArgument(fmt::format(
        "{}: the HIP GEMM kernels take bf16 or f16 operands", p.key()));
  }
  if (ops.a % 16 != 0 || ops.b % 16 != 0 || ops.c % 16 != 0) {
    return invalidArgument(
        fmt::format("{}: A, B and C must be 16-byte aligned", p.key()));
  }
  for (int64_t v : {p.m, p.n, p.k, p.lda, p.ldb, p.ldc}) {
    if (v > INT_MAX) {
      return invalidArgument(fmt::format(
          "{}: sizes and leading dimensions must fit in int", p.key()));
    }
  }
  if (spec.split > 1 && (ops.workspace == 0 || ops.semaphores == 0)) {
    return invalidArgument(fmt::format(
        "{}: a split-K kernel (split={}) needs a workspace of {} bytes and "
        "{} zeroed semaphores",
        p.key(), spec.split, gemmWorkspaceBytes(spec, p),
        gemmSemaphores(spec, p)));
  }
  return Status::ok();
}

Status launchGemm(const Context &ctx, void *function,
                  const GemmLaunchSpec &spec, const GemmProblem &p,
                  const GemmOperands &ops, void *stream) {
  KT_RETURN_IF_ERROR(checkGemmOperands(spec, p, ops));
  LaunchConfig cfg;
  cfg.grid[0] = gemmGridSize(spec, p);
  cfg.block[0] = unsigned(spec.threads);
  cfg.stream = stream;
  // The runtime copies the arguments at launch.
  uint64_t a = ops.a, b = ops.b, c = ops.c;
  float alpha = ops.alpha, beta = ops.beta;
  if (spec.args == GemmLaunchSpec::Args::Static) {
    return ctx.launch(function, cfg, {&a, &b, &c, &alpha, &beta});
  }
  int m = int(p.m), n = int(p.n), k = int(p.k);
  int lda = int(p.lda), ldb = int(p.ldb), ldc = int(p.ldc);
  uint64_t workspace = ops.workspace, semaphores = ops.semaphores;
  return ctx.launch(function, cfg,
                    {&a, &b, &c, &m, &n, &k, &lda, &ldb, &ldc, &alpha, &beta,
                     &workspace, &semaphores});
}

} // namespace kt::hip
