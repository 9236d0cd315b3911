// Shared test helper: bf16 / fp16 bits <-> float on the host, rounding to
// nearest even like the GPU's cvt.rn.
#pragma once

#include "ktune/problem/DType.h"

#include <cstdint>
#include <cstring>

namespace kt::test {

inline uint16_t toBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) {
    return 0x7FC0; // NaN
  }
  u += 0x7FFFu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

inline float fromBf16(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline uint16_t toHalf(float f) {
  _Float16 h = static_cast<_Float16>(f);
  uint16_t u;
  std::memcpy(&u, &h, 2);
  return u;
}

inline float fromHalf(uint16_t u) {
  _Float16 h;
  std::memcpy(&h, &u, 2);
  return static_cast<float>(h);
}

inline uint16_t toBits(DType t, float f) {
  return t == DType::BF16 ? toBf16(f) : toHalf(f);
}
inline float fromBits(DType t, uint16_t u) {
  return t == DType::BF16 ? fromBf16(u) : fromHalf(u);
}

} // namespace kt::test
