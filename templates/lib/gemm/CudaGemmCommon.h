// Internal: what the CUDA GEMM families share: the device-side helpers every
// kernel text starts with, those of clusters of two CTAs, the problem check,
// and the TMA launch description.
#pragma once

#include "ktune/base/Status.h"
#include "ktune/device/TargetDesc.h"
#include "ktune/drivers/cuda/GemmLaunch.h"
#include "ktune/problem/Config.h"
#include "ktune/problem/GemmProblem.h"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kt::cudagemm {

/// Device code shared by the families, placed after the instance's #defines
/// (KT_BM, KT_BN, KT_STAGES, KT_GROUP, KT_TRANS_A, KT_TRANS_B, KT_BF16 and
/// KT_SM100): element types, the CUtensorMap layout, mbarrier and TMA
/// helpers, shared-memory descriptors (wgmma or tcgen05 encoding), operand
/// descriptors per k16 step, the stage load, element conversion with the
/// alpha/beta store of two outputs (kt_store2), the tile order. With
/// `outF32` (a problem's f32 C) kt_store2 takes a `float *` and stores f32
/// pairs unrounded, and the 16-bit conversions are left out; without it the
/// text is the one before f32 output existed.
const std::string &deviceSource(bool outF32 = false);

/// The family-neutral parts of deviceSource(), for other ops' kernels:
/// coreSource() needs KT_SM100 (element types, CUtensorMap, mbarrier, TMA
/// and shared-memory descriptor helpers); conversionSource() and
/// packSource() need KT_BF16 (bf16 / fp16 bits to and from f32; two f32
/// packed into one 32-bit pair).
const char *coreSource();
const char *conversionSource();
const char *packSource();

/// Device code of clusters of two CTAs on vertically adjacent tiles
/// (2 pm, tn) and (2 pm + 1, tn), placed after deviceSource():
/// clusterSource() has the CTA's rank in its cluster, the cluster id and
/// count, and the cluster-wide barrier; clusterLoadSource() the wait on a
/// barrier at cluster scope and the load of one stage of a pair: the CTA's
/// own A and its half of B, multicast by TMA into both CTAs. Each family puts
/// its own stage release (the consumers' arrivals, or a tcgen05 commit)
/// between the two.
const char *clusterSource();
const char *clusterLoadSource();

/// `body` with each `#if <condition>` [`#else`] `#endif` block (lines of
/// their own, other #if blocks nested inside and left as they are) replaced
/// by the branch `keep` selects (true: the #if branch), so NVRTC never sees
/// the choice. The kernels resolve "KT_CLUSTER > 1" (resolveCluster) and
/// "KT_OUT_F32" (the C pointer's type, resolved by p.outF32) this way.
std::string resolveIf(std::string_view body, std::string_view condition,
                      bool keep);

/// resolveIf(body, "KT_CLUSTER > 1", cluster): an instance without clusters
/// is the text it was before they existed.
std::string resolveCluster(std::string_view body, bool cluster);

/// The problems the TMA families serve on `arch`: bf16/f16 inputs with a C
/// of the same type or f32 (outF32), leading dimensions multiples of 8
/// (TMA's 16-byte pitches; for C, aligned pair stores), sizes below 2^31.
bool supports(const GemmProblem &p, const TargetDesc &t, std::string_view arch);

/// Split-K factors worth trying for bm x bn tiles: 1, then 2, 4, 8 while
/// tiles x slices stays within two waves of `sms` SMs and each slice keeps
/// at least 4 K blocks of 64.
std::vector<int64_t> splitFactors(const GemmProblem &p, int64_t bm, int64_t bn,
                                  int64_t sms);

/// Pairs of CTAs sharing B (cluster = 2) are worth trying for bm x bn tiles
/// of at least 128 x 128 where B's stage is large (bn >= 128), the tile
/// pairs fill the SMs (one pair per pair of the `sms` SMs at least) without
/// split-K, and few pairs lack their second tile (tilesM even or >= 8).
bool clusterHelps(const GemmProblem &p, int64_t bm, int64_t bn, int64_t splitk,
                  int64_t sms);

/// Each configuration of `single`, then its cluster = 2 twin where `helps`
/// says so and `valid` accepts it (no cluster key otherwise: configurations
/// read as they did before clusters existed).
std::vector<Config>
withClusterTwins(const std::vector<Config> &single,
                 const std::function<bool(const Config &)> &helps,
                 const std::function<bool(const Config &)> &valid);

/// The launch description of a TMA kernel with bm x bn tiles: 64-element
/// (128-byte) wide boxes of A and B as stored. `cluster` 2: tile pairs along
/// M, each CTA loading half the rows of B's boxes.
cuda::GemmLaunchSpec tmaLaunch(const GemmProblem &p, int threads,
                               int sharedBytes, int bm, int bn,
                               int cluster = 1);

} // namespace kt::cudagemm
