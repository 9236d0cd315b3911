// Internal: the CUDA device code the TMA attention families (sm_90a,
// sm_100a) share, placed after the instance's #defines (KT_D, KT_ROWS,
// KT_KV, KT_SPLIT, KT_PACK, KT_BSHD, KT_CAUSAL) and the GEMM families' core
// helpers (types, mbarrier, TMA, descriptors).
#pragma once

namespace kt::cudaattn {

/// exp2, the generic-to-async proxy fence, named barriers, the packed row
/// mapping (GQA packing), Q / O offsets, the CTA's work unit (tile, batch,
/// head unit, KV split, the KV blocks it walks and the first that needs a
/// mask), the swizzled Q load into shared memory, the producer's TMA
/// load of one K and V block and the split-KV merge.
const char *deviceSource();

} // namespace kt::cudaattn
