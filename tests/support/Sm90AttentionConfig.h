// Shared test helper: a cuda.attention.sm90 configuration from its
// parameters, as the compile tests and the GPU run tests spell them.
#pragma once

#include "ktune/problem/Config.h"

#include <cstdint>

namespace kt::test {

inline Config sm90AttentionConfig(int64_t kv, int64_t cons, int64_t stages,
                                  int64_t split, int64_t pack,
                                  int64_t overlap = 0, int64_t pingpong = 0,
                                  int64_t lazy = 0, int64_t persist = 0) {
  return {{"kv", kv},
          {"cons", cons},
          {"stages", stages},
          {"split", split},
          {"pack", pack},
          {"overlap", overlap},
          {"pingpong", pingpong},
          {"lazy", lazy},
          {"persist", persist}};
}

} // namespace kt::test
