#include "ktune/drivers/cuda/GemmLaunch.h"

#include "../LaunchText.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <vector>

namespace kt::cuda {

using launchtext::launchFields;
using launchtext::parseInt;
using launchtext::parsePair;
namespace {

/// The largest portable thread-block cluster.
constexpr int kMaxClusterSize = 8;

TensorMap2d::Type mapType(DType t) {
  return t == DType::F16 ? TensorMap2d::Type::F16 : TensorMap2d::Type::BF16;
}

} // namespace

std::string GemmLaunchSpec::toString() const {
  // Absent means 1x1, so descriptions without clusters read as before.
  const std::string cluster =
      clusterSize() > 1 ? fmt::format(";cluster={}x{}", clusterM, clusterN)
                        : "";
  if (pointers) {
    return fmt::format("threads={};smem={};tile={}x{};grid={}{};args=pointers",
                       threads, sharedBytes, tileM, tileN,
                       persistent ? "persistent" : "tiles", cluster);
  }
  std::string s = fmt::format(
      "threads={};smem={};tile={}x{};box_a={}x{};box_b={}x{};grid={}{}",
      threads, sharedBytes, tileM, tileN, boxARows, boxACols, boxBRows,
      boxBCols, persistent ? "persistent" : "tiles", cluster);
  if (split > 1) {
    s += fmt::format(";split={};sems={}", split, semaphoresPerTile);
  }
  return s;
}

Result<GemmLaunchSpec> parseGemmLaunchSpec(std::string_view text) {
  GemmLaunchSpec s;
  bool seen[6] = {};
  for (auto [key, val] : launchFields(text)) {
    bool ok = false;
    if (key == "threads") {
      ok = parseInt(val, s.threads) && s.threads > 0;
      seen[0] = true;
    } else if (key == "smem") {
      ok = parseInt(val, s.sharedBytes);
      seen[1] = true;
    } else if (key == "tile") {
      ok = parsePair(val, s.tileM, s.tileN);
      seen[2] = true;
    } else if (key == "box_a") {
      ok = parsePair(val, s.boxARows, s.boxACols);
      seen[3] = true;
    } else if (key == "box_b") {
      ok = parsePair(val, s.boxBRows, s.boxBCols);
      seen[4] = true;
    } else if (key == "args") {
      ok = val == "pointers" || val == "tma";
      s.pointers = val == "pointers";
    } else if (key == "split") {
      ok = parseInt(val, s.split) && s.split >= 1;
    } else if (key == "sems") {
      ok = parseInt(val, s.semaphoresPerTile);
    } else if (key == "cluster") {
      // Each side checked first, so the product cannot overflow.
      ok = parsePair(val, s.clusterM, s.clusterN) &&
           s.clusterM <= kMaxClusterSize && s.clusterN <= kMaxClusterSize &&
           s.clusterSize() <= kMaxClusterSize;
    } else if (key == "grid") {
      ok = val == "persistent" || val == "tiles";
      s.persistent = val == "persistent";
      seen[5] = true;
    }
    if (!ok) {
      return invalidArgument(fmt::format(
          "GEMM launch description '{}': bad field '{}' (expected "
          "threads=N;smem=N;tile=MxN;box_a=RxC;box_b=RxC;grid=persistent|"
          "tiles[;cluster=MxN][;split=N;sems=N][;args=pointers|tma], a "
          "cluster of at most {} CTAs)",
          text, fmt::format("{}={}", key, val), kMaxClusterSize));
    }
  }
  if (s.pointers) {
    seen[3] = seen[4] = true; // Pointer kernels have no TMA boxes.
  }
  if (!std::all_of(std::begin(seen), std::end(seen),
                   [](bool b) { return b; })) {
    return invalidArgument(fmt::format(
        "GEMM launch description '{}' lacks a field (threads, smem, tile and "
        "grid are required, box_a and box_b for TMA kernels)",
        text));
  }
  return s;
}

namespace {
int64_t tileCount(const GemmLaunchSpec &spec, const GemmProblem &p) {
  return ((p.m + spec.tileM - 1) / spec.tileM) *
         ((p.n + spec.tileN - 1) / spec.tileN);
}
} // namespace

unsigned gemmGridSize(const GemmLaunchSpec &spec, const GemmProblem &p,
                      int smCount) {
  // A work unit is one K slice of the clusterM x clusterN tiles a cluster
  // covers (one tile without clusters); tiles past M or N still take their
  // cluster slot.
  const int64_t cm = spec.clusterM, cn = spec.clusterN, size = cm * cn;
  const int64_t units = ((p.m + spec.tileM * cm - 1) / (spec.tileM * cm)) *
                        ((p.n + spec.tileN * cn - 1) / (spec.tileN * cn)) *
                        spec.split;
  if (!spec.persistent) {
    return unsigned(units * size);
  }
  const int64_t clusters = std::max<int64_t>(1, smCount / size);
  return unsigned(size *
                  std::max<int64_t>(1, std::min<int64_t>(units, clusters)));
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

Result<PreparedGemm> prepareGemm(const Context &ctx, void *function,
                                 const GemmLaunchSpec &spec,
                                 const GemmProblem &p, const GemmOperands &ops,
                                 int smCount, void *stream) {
  if (p.dtype != DType::BF16 && p.dtype != DType::F16) {
    return invalidArgument(
        fmt::format("{}: TMA GEMM kernels take bf16 or f16 operands", p.key()));
  }
  if (ops.c % 16 != 0) {
    return invalidArgument(
        fmt::format("{}: C must be 16-byte aligned", p.key()));
  }
  if (spec.pointers) {
    PreparedGemm g;
    g.function = function;
    g.pointers = true;
    g.a = ops.a;
    g.b = ops.b;
    g.c = ops.c;
    g.alpha = ops.alpha;
    g.beta = ops.beta;
    g.config.grid[0] = gemmGridSize(spec, p, smCount);
    g.config.block[0] = unsigned(spec.threads);
    g.config.cluster[0] = unsigned(spec.clusterSize());
    g.config.sharedBytes = unsigned(spec.sharedBytes);
    g.config.stream = stream;
    return g;
  }
  if (spec.split > 1 && (ops.workspace == 0 || ops.semaphores == 0)) {
    return invalidArgument(fmt::format(
        "{}: a split-K kernel (split={}) needs a workspace of {} bytes and "
        "{} zeroed semaphores",
        p.key(), spec.split, gemmWorkspaceBytes(spec, p),
        gemmSemaphores(spec, p)));
  }
  // A and B as stored: row-major (outer x inner), `trans` swapping the
  // sides, 2-byte elements.
  auto operand = [&](uint64_t address, bool trans, int64_t outer, int64_t inner,
                     int64_t ld, int boxRows, int boxCols) {
    return TensorMap2d{address,
                       mapType(p.dtype),
                       uint64_t(trans ? inner : outer),
                       uint64_t(trans ? outer : inner),
                       uint64_t(ld) * 2,
                       unsigned(boxRows),
                       unsigned(boxCols),
                       TensorMap2d::Swizzle::B128};
  };
  PreparedGemm g;
  KT_ASSIGN_OR_RETURN(
      g.mapA, ctx.encodeTensorMap(operand(ops.a, p.transA, p.m, p.k, p.lda,
                                          spec.boxARows, spec.boxACols)));
  KT_ASSIGN_OR_RETURN(
      g.mapB, ctx.encodeTensorMap(operand(ops.b, p.transB, p.k, p.n, p.ldb,
                                          spec.boxBRows, spec.boxBCols)));
  KT_RETURN_IF_ERROR(ctx.setMaxDynamicShared(function, spec.sharedBytes));
  g.function = function;
  g.config.grid[0] = gemmGridSize(spec, p, smCount);
  g.config.block[0] = unsigned(spec.threads);
  // Clusters along x: the grid is 1-D, a cluster's CTAs are consecutive.
  g.config.cluster[0] = unsigned(spec.clusterSize());
  g.config.sharedBytes = unsigned(spec.sharedBytes);
  g.config.stream = stream;
  g.c = ops.c;
  g.m = int(p.m);
  g.n = int(p.n);
  g.k = int(p.k);
  g.ldc = int(p.ldc);
  g.alpha = ops.alpha;
  g.beta = ops.beta;
  g.workspace = ops.workspace;
  g.semaphores = ops.semaphores;
  return g;
}

Status launchPrepared(const Context &ctx, const PreparedGemm &g) {
  // The driver copies the arguments at launch; const_cast only satisfies
  // the void ** signature.
  auto *m = const_cast<PreparedGemm *>(&g);
  if (g.pointers) {
    return ctx.launch(g.function, g.config,
                      {&m->a, &m->b, &m->c, &m->alpha, &m->beta});
  }
  return ctx.launch(g.function, g.config,
                    {&m->mapA, &m->mapB, &m->c, &m->m, &m->n, &m->k, &m->ldc,
                     &m->alpha, &m->beta, &m->workspace, &m->semaphores});
}

Status launchGemm(const Context &ctx, void *function,
                  const GemmLaunchSpec &spec, const GemmProblem &p,
                  const GemmOperands &ops, int smCount, void *stream) {
  KT_ASSIGN_OR_RETURN(PreparedGemm g, prepareGemm(ctx, function, spec, p, ops,
                                                  smCount, stream));
  return launchPrepared(ctx, g);
}

} // namespace kt::cuda
