#include "GpuMeasure.h"

#include <random>

namespace kt::gpubench {

std::vector<uint16_t> randomHalves(size_t n, DType t, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<uint16_t> out(n);
  for (uint16_t &h : out) {
    float f = dist(rng);
    if (t == DType::BF16) {
      uint32_t u;
      std::memcpy(&u, &f, 4);
      u += 0x7FFFu + ((u >> 16) & 1u);
      h = uint16_t(u >> 16);
    } else {
      _Float16 x = static_cast<_Float16>(f);
      std::memcpy(&h, &x, 2);
    }
  }
  return out;
}

Result<int64_t> rotatingSets(int64_t setBytes, int64_t cacheBytes,
                             int64_t memoryBytes,
                             const GpuBenchOptions &options,
                             const std::string &what) {
  int64_t want = options.rotateBytes > 0
                     ? options.rotateBytes
                     : 2 * std::max<int64_t>(cacheBytes, 1 << 20);
  want = std::min(want, options.maxRotateBytes);
  const int64_t sets = std::max<int64_t>(2, (want + setBytes - 1) / setBytes);
  if (sets * setBytes > memoryBytes / 2 && sets > 2) {
    return failedPrecondition(fmt::format(
        "{}: {} rotating sets of {} MiB do not fit in half of the GPU's "
        "{} MiB; lower --rotate-mib",
        what, sets, setBytes >> 20, memoryBytes >> 20));
  }
  return sets;
}

GpuMeasurement rejected(const Status &why) {
  GpuMeasurement out;
  out.status = "launch-failed";
  out.message = why.message();
  return out;
}

void readVerdict(const uint32_t words[4], int64_t outputs, GpuMeasurement &m) {
  float worst;
  std::memcpy(&worst, &words[1], 4);
  m.maxError = worst;
  if (words[0] != 0) {
    m.status = "numerics-mismatch";
    m.message = fmt::format(
        "{} of {} outputs differ from the reference by more than the "
        "bf16/fp16 tolerance (worst: {:.3g}x the tolerance{})",
        words[0], outputs, worst,
        worst >= 1e38f ? "; NaN: elements left unwritten" : "");
  }
}

} // namespace kt::gpubench
