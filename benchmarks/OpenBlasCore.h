// The OpenBLAS kernels ("core") a CPU benchmark's reference runs. OpenBLAS
// picks them from the CPU model when it loads; a model it does not know
// falls back to older kernels, and OPENBLAS_CORETYPE in the environment
// overrides the choice. On an AVX-512 host AVX2 kernels make a weak
// reference (on a 2-core AMD Zen 5 VM the attention reference's sgemms ran
// at 0.15-0.21 TFLOP/s with "Haswell", 0.33 with "SkylakeX"), so the
// benchmarks print the core and warn when it flatters ktune.
#pragma once

#include "ktune/device/TargetDesc.h"

#include <fmt/format.h>

#include <cctype>
#include <cstdlib>
#include <string>

// OpenBLAS extension (declared here so that no cblas.h is needed).
extern "C" char *openblas_get_corename(void);

namespace kt::bench {

/// The core OpenBLAS chose, e.g. "Haswell" or "SkylakeX".
inline std::string openBlasCore() {
  const char *name = openblas_get_corename();
  return name ? name : "unknown";
}

/// True if OpenBLAS runs AVX-512 kernels.
inline bool openBlasCoreHasAvx512() {
  std::string core = openBlasCore();
  for (char &c : core) {
    c = char(std::tolower(static_cast<unsigned char>(c)));
  }
  return core == "skylakex" || core == "cooperlake" || core == "sapphirerapids";
}

/// Where the host has AVX-512 (F, DQ, BW, VL) but OpenBLAS runs a core
/// without it, a warning on stderr saying so and how to choose the AVX-512
/// kernels (OpenBLAS reads OPENBLAS_CORETYPE only as it loads).
inline void warnIfWeakOpenBlasCore() {
  const TargetDesc host = TargetDesc::host();
  if (openBlasCoreHasAvx512() || !host.hasFeature("avx512f") ||
      !host.hasFeature("avx512dq") || !host.hasFeature("avx512bw") ||
      !host.hasFeature("avx512vl")) {
    return;
  }
  fmt::print(stderr,
             "warning: this host has AVX-512 but OpenBLAS runs its {} "
             "kernels{}, so the reference understates OpenBLAS; run with "
             "OPENBLAS_CORETYPE=SkylakeX for its AVX-512 kernels\n",
             openBlasCore(),
             std::getenv("OPENBLAS_CORETYPE")
                 ? " (chosen by OPENBLAS_CORETYPE in the environment)"
                 : "");
}

/// "SkylakeX (OPENBLAS_CORETYPE)" when the core was chosen through the
/// environment, else the core name.
inline std::string openBlasCoreLine() {
  const char *env = std::getenv("OPENBLAS_CORETYPE");
  return env ? fmt::format("{} (OPENBLAS_CORETYPE={})", openBlasCore(), env)
             : openBlasCore();
}

} // namespace kt::bench
