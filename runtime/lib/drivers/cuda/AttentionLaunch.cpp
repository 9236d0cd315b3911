#include "ktune/drivers/cuda/AttentionLaunch.h"

#include "../LaunchText.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace kt::cuda {

using launchtext::launchFields;
using launchtext::parseInt;

std::string AttentionLaunchSpec::toString() const {
  return fmt::format("threads={};smem={};rows={};kv={};split={};pack={};"
                     "sems={}{}{}",
                     threads, sharedBytes, rows, kvRows, split, pack,
                     semaphoresPerTile, pointers ? ";args=pointers" : "",
                     persistent ? ";grid=persistent" : "");
}

Result<AttentionLaunchSpec> parseAttentionLaunchSpec(std::string_view text) {
  AttentionLaunchSpec s;
  struct Field {
    const char *key;
    int *value;
    int min;
    bool seen;
  } fields[] = {{"threads", &s.threads, 1, false},
                {"smem", &s.sharedBytes, 0, false},
                {"rows", &s.rows, 1, false},
                {"kv", &s.kvRows, 1, false},
                {"split", &s.split, 1, false},
                {"pack", &s.pack, 1, false},
                {"sems", &s.semaphoresPerTile, 1, false}};
  for (auto [key, val] : launchFields(text)) {
    if (key == "args" && (val == "pointers" || val == "tma")) {
      s.pointers = val == "pointers";
      continue;
    }
    if (key == "grid" && (val == "persistent" || val == "tiles")) {
      s.persistent = val == "persistent";
      continue;
    }
    auto f = std::find_if(std::begin(fields), std::end(fields),
                          [&](const Field &x) { return key == x.key; });
    if (f == std::end(fields) || !parseInt(val, *f->value) ||
        *f->value < f->min) {
      return invalidArgument(fmt::format(
          "attention launch description '{}': bad field '{}={}' (expected "
          "threads=N;smem=N;rows=N;kv=N;split=N;pack=N;sems=N[;args=pointers]"
          "[;grid=persistent])",
          text, key, val));
    }
    f->seen = true;
  }
  for (const Field &f : fields) {
    if (!f.seen) {
      return invalidArgument(fmt::format(
          "attention launch description '{}' lacks '{}'", text, f.key));
    }
  }
  return s;
}

unsigned attentionGridSize(const AttentionLaunchSpec &spec,
                           const AttentionProblem &p, int smCount) {
  const int64_t units = p.queryTiles(spec.rows, spec.pack) * spec.split;
  if (!spec.persistent || smCount <= 0) {
    return unsigned(units);
  }
  return unsigned(std::min<int64_t>(units, smCount));
}

uint64_t attentionWorkspaceBytes(const AttentionLaunchSpec &spec,
                                 const AttentionProblem &p) {
  if (spec.split <= 1) {
    return 0;
  }
  // Per semaphore and split: 64 rows x (d + 8) floats (outputs, row maxima
  // and sums; AttentionLaunchSpec::semaphoresPerTile).
  return uint64_t(p.queryTiles(spec.rows, spec.pack)) * uint64_t(spec.split) *
         uint64_t(spec.semaphoresPerTile) * 64 * uint64_t(p.d + 8) * 4;
}

uint64_t attentionSemaphores(const AttentionLaunchSpec &spec,
                             const AttentionProblem &p) {
  return spec.split <= 1 ? 0
                         : uint64_t(p.queryTiles(spec.rows, spec.pack)) *
                               uint64_t(spec.semaphoresPerTile);
}

Status checkAttentionOperands(const AttentionLaunchSpec &spec,
                              const AttentionProblem &p,
                              const AttentionOperands &ops, bool tma) {
  KT_RETURN_IF_ERROR(p.validate());
  if (p.dtype != DType::BF16 && p.dtype != DType::F16) {
    return invalidArgument(fmt::format(
        "{}: the GPU attention kernels take bf16 or f16 tensors", p.key()));
  }
  if (p.d % 64 != 0 && tma) {
    return invalidArgument(fmt::format(
        "{}: TMA attention kernels take head dims that are multiples of 64",
        p.key()));
  }
  if (spec.pack > 1 && p.hq != p.hkv * spec.pack) {
    return invalidArgument(fmt::format(
        "{}: the kernel packs {} query heads per KV head; the problem has {}",
        p.key(), spec.pack, p.hq / p.hkv));
  }
  for (uint64_t a : {ops.q, ops.k, ops.v, ops.o}) {
    if (a == 0 || a % 16 != 0) {
      return invalidArgument(fmt::format(
          "{}: Q, K, V and O must be non-null and 16-byte aligned", p.key()));
    }
  }
  if (spec.split > 1 && (ops.workspace == 0 || ops.semaphores == 0)) {
    return invalidArgument(fmt::format(
        "{}: a split-KV kernel (split={}) needs a workspace of {} bytes and "
        "{} zeroed semaphores",
        p.key(), spec.split, attentionWorkspaceBytes(spec, p),
        attentionSemaphores(spec, p)));
  }
  if (spec.split > 1 && (ops.workspace % 16 != 0 || ops.semaphores % 4 != 0)) {
    return invalidArgument(fmt::format(
        "{}: the split-KV workspace must be 16-byte aligned (the kernels "
        "read it as float4); pass the start of an allocation",
        p.key()));
  }
  return Status::ok();
}

float attentionScaleLog2(const AttentionProblem &p, float scale) {
  const double s = scale != 0.0f ? scale : 1.0 / std::sqrt(double(p.d));
  return float(s * 1.4426950408889634);
}

Result<PreparedAttention> prepareAttention(const Context &ctx, void *function,
                                           const AttentionLaunchSpec &spec,
                                           const AttentionProblem &p,
                                           const AttentionOperands &ops,
                                           int smCount, void *stream) {
  KT_RETURN_IF_ERROR(checkAttentionOperands(spec, p, ops, !spec.pointers));
  if (spec.pointers) {
    PreparedAttention a;
    a.function = function;
    a.pointers = true;
    a.config.grid[0] = attentionGridSize(spec, p, smCount);
    a.config.block[0] = unsigned(spec.threads);
    a.config.sharedBytes = unsigned(spec.sharedBytes);
    a.config.stream = stream;
    a.q = ops.q;
    a.k = ops.k;
    a.v = ops.v;
    a.o = ops.o;
    a.scaleLog2 = attentionScaleLog2(p, ops.scale);
    a.splitArgs = spec.split > 1;
    a.workspace = ops.workspace;
    a.semaphores = ops.semaphores;
    return a;
  }
  const bool bshd = p.layout == AttentionProblem::Layout::BSHD;
  const TensorMap2d::Type type =
      p.dtype == DType::F16 ? TensorMap2d::Type::F16 : TensorMap2d::Type::BF16;
  auto view = [&](uint64_t address) {
    const uint64_t cols = uint64_t(bshd ? p.hkv * p.d : p.d);
    return TensorMap2d{
        address,
        type,
        uint64_t(bshd ? p.batch * p.skv : p.batch * p.hkv * p.skv),
        cols,
        cols * 2,
        unsigned(spec.kvRows),
        64u,
        TensorMap2d::Swizzle::B128};
  };
  PreparedAttention a;
  KT_ASSIGN_OR_RETURN(a.mapK, ctx.encodeTensorMap(view(ops.k)));
  KT_ASSIGN_OR_RETURN(a.mapV, ctx.encodeTensorMap(view(ops.v)));
  KT_RETURN_IF_ERROR(ctx.setMaxDynamicShared(function, spec.sharedBytes));
  a.function = function;
  a.config.grid[0] = attentionGridSize(spec, p, smCount);
  a.config.block[0] = unsigned(spec.threads);
  a.config.sharedBytes = unsigned(spec.sharedBytes);
  a.config.stream = stream;
  a.q = ops.q;
  a.o = ops.o;
  a.b = int(p.batch);
  a.hq = int(p.hq);
  a.hkv = int(p.hkv);
  a.sq = int(p.sq);
  a.skv = int(p.skv);
  a.scaleLog2 = attentionScaleLog2(p, ops.scale);
  a.workspace = ops.workspace;
  a.semaphores = ops.semaphores;
  return a;
}

Status launchPrepared(const Context &ctx, const PreparedAttention &a) {
  // The driver copies the arguments at launch; const_cast only satisfies
  // the void ** signature.
  auto *m = const_cast<PreparedAttention *>(&a);
  if (a.pointers && a.splitArgs) {
    return ctx.launch(a.function, a.config,
                      {&m->q, &m->k, &m->v, &m->o, &m->scaleLog2, &m->workspace,
                       &m->semaphores});
  }
  if (a.pointers) {
    return ctx.launch(a.function, a.config,
                      {&m->q, &m->k, &m->v, &m->o, &m->scaleLog2});
  }
  return ctx.launch(a.function, a.config,
                    {&m->mapK, &m->mapV, &m->q, &m->o, &m->b, &m->hq, &m->hkv,
                     &m->sq, &m->skv, &m->scaleLog2, &m->workspace,
                     &m->semaphores});
}

} // namespace kt::cuda
