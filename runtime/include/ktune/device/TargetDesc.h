// TargetDesc: which machine code a kernel is for; part of every key.
#pragma once

#include "ktune/base/Status.h"

#include <string>
#include <string_view>
#include <vector>

namespace kt {

enum class TargetKind { Cpu, Cuda, Hip };

/// A value type that round-trips through strings such as "cpu",
/// "cuda:sm_90a" or "hip:gfx950". For the CPU, `arch` is empty (the host)
/// and `features` lists the ISA extensions kernels may use ("avx2", "fma",
/// "avx512f"); features are not part of the string form but are recorded as
/// validators next to every result.
struct TargetDesc {
  TargetKind kind = TargetKind::Cpu;
  std::string arch;
  std::vector<std::string> features;

  std::string toString() const;
  bool hasFeature(std::string_view f) const;
  /// Features joined by ',': the form recorded as a validator next to every
  /// result, so the tuner and the lookup must both use this.
  std::string featureString() const;
  bool operator==(const TargetDesc &o) const {
    return kind == o.kind && arch == o.arch;
  }

  /// The host CPU with the features the runtime detects (cpuid).
  static TargetDesc host();
};

/// Parses "cpu", "cuda:sm_90a", "hip:gfx950"; "cpu" fills in host features.
Result<TargetDesc> parseTarget(std::string_view s);

} // namespace kt
