// hip.attention.mlir: tuning space, legality and instantiation (the MLIR
// text is generated in HipAttentionMlirKernel.cpp).
#include "ktune/templates/attention/HipAttentionMlir.h"

#include "../gemm/TemplateParams.h"
#include "AttentionParams.h"
#include "HipAttentionMlirKernel.h"

#include "ktune/base/Hash.h"
#include "ktune/drivers/cuda/AttentionLaunch.h"

#include <fmt/format.h>

namespace kt {
namespace {

// Bump when the generated code changes in any way.
constexpr const char *kGeneratorVersion = "hip.attention.mlir/1";
constexpr const char *kKeys[] = {"waves", "kv"};

int64_t ldsLimit(const std::string &arch) {
  return arch == "gfx950" ? 160 * 1024 : 64 * 1024;
}

} // namespace

std::string HipAttentionMlir::sourceHash() const {
  const AttentionProblem p = attnparams::hashProblem(64);
  return sha256Hex(std::string(kGeneratorVersion) +
                   hipattnmlir::kernelSource({4, 32}, p, "gfx950"));
}

bool HipAttentionMlir::supports(const AttentionProblem &p,
                                const TargetDesc &t) const {
  return t.kind == TargetKind::Hip &&
         (t.arch == "gfx950" || t.arch == "gfx942") &&
         (p.dtype == DType::BF16 || p.dtype == DType::F16) &&
         (p.d == 64 || p.d == 128) && p.validate().isOk() &&
         p.qElements() <= INT32_MAX && p.kvElements() <= INT32_MAX;
}

Status HipAttentionMlir::validate(const Config &c, const AttentionProblem &p,
                                  const TargetDesc &t) const {
  if (!supports(p, t)) {
    return invalidArgument(fmt::format(
        "{} serves bf16/f16 attention with head dim 64 or 128 (tensors under "
        "2^31 elements) on hip:gfx950 and hip:gfx942 (got {} on {})",
        name(), p.key(), t.toString()));
  }
  KT_RETURN_IF_ERROR(requireParams(c, kKeys));
  const hipattnmlir::Params q = hipattnmlir::readParams(c);
  if (q.waves != 1 && q.waves != 2 && q.waves != 4) {
    return invalidArgument(fmt::format("waves={} must be 1, 2 or 4", q.waves));
  }
  if (q.kv != 32 && q.kv != 64) {
    return invalidArgument(fmt::format("kv={} must be 32 or 64", q.kv));
  }
  if (hipattnmlir::ldsBytes(q, p.d) > ldsLimit(t.arch)) {
    return invalidArgument(fmt::format(
        "kv={} d={} needs {} bytes of LDS; {} workgroups get at most {}", q.kv,
        p.d, hipattnmlir::ldsBytes(q, p.d), t.arch, ldsLimit(t.arch)));
  }
  return Status::ok();
}

Config HipAttentionMlir::defaultConfig(const AttentionProblem &p,
                                       const TargetDesc &) const {
  return {{"waves", p.sq >= 64 ? 4 : 1}, {"kv", 64}};
}

std::vector<Config> HipAttentionMlir::space(const AttentionProblem &p,
                                            const TargetDesc &t) const {
  if (!supports(p, t)) {
    return {};
  }
  return enumerateSpace(
      defaultConfig(p, t), {{"waves", {1, 2, 4}}, {"kv", {32, 64}}},
      [&](const Config &c) {
        return validate(c, p, t).isOk() &&
               16 * c.get("waves") <= std::max<int64_t>(16, 2 * p.sq);
      });
}

Result<KernelSource> HipAttentionMlir::instantiate(const Config &c,
                                                   const AttentionProblem &p,
                                                   const TargetDesc &t) const {
  KT_RETURN_IF_ERROR(validate(c, p, t));
  const hipattnmlir::Params q = hipattnmlir::readParams(c);
  cuda::AttentionLaunchSpec launch;
  launch.threads = int(hipattnmlir::threads(q));
  launch.sharedBytes = 0; // All static.
  launch.rows = int(hipattnmlir::rows(q));
  launch.kvRows = int(q.kv);
  launch.pointers = true;
  return KernelSource{"mlir", hipattnmlir::kernelSource(q, p, t.arch),
                      "kt_attention", launch.toString()};
}

} // namespace kt
