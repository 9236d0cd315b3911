// Shared test helper: CPU targets with fixed ISA features, so template tests
// do not depend on the machine they run on.
#pragma once

#include "ktune/device/TargetDesc.h"

namespace kt::test {

/// A CPU with AVX2 and FMA, no AVX-512.
inline TargetDesc avx2() {
  TargetDesc t;
  t.features = {"avx", "avx2", "fma"};
  return t;
}

/// A CPU with AVX-512F as well.
inline TargetDesc avx512() {
  TargetDesc t;
  t.features = {"avx", "avx2", "fma", "avx512f"};
  return t;
}

} // namespace kt::test
