// TuningRecord: one measured candidate (or a failed one) for one problem on
// one target, with the provenance that decides whether it is valid elsewhere.
#pragma once

#include <cstdint>
#include <string>

namespace kt {

/// Outcome names stored in `status`: "ok", "compile-failed", "launch-failed",
/// "timeout", "numerics-mismatch", "pruned".
struct TuningRecord {
  std::string problemKey;   ///< GemmProblem::key(), e.g. gemm_f32_NN_...
  std::string op = "gemm";  ///< "gemm" (later "attention").
  std::string target;       ///< TargetDesc::toString(), e.g. "cpu".
  std::string templateName; ///< e.g. "cpu.gemm.mlir".
  std::string templateHash; ///< Hash of the template source.
  std::string params;       ///< Config::toString().
  std::string status = "ok";
  std::string message;   ///< Error text for failed candidates.
  double timeMs = 0;     ///< Cold-cache median.
  double dispersion = 0; ///< Relative spread (IQR / median).
  double warmMs = 0;     ///< Warm-cache median, 0 if not measured.
  int64_t iterations = 0;
  double maxError = 0;        ///< Max |err| / tolerance-scale vs reference.
  std::string deviceModel;    ///< CPU model name / GPU name.
  std::string deviceFeatures; ///< "avx2,avx512f,fma" (sorted, comma-free ok).
  std::string compilerFingerprint;
  std::string binaryHash; ///< Content hash of the code object, may be "".
  int64_t createdUnix = 0;
  /// How to launch the code object on a GPU (e.g. cuda::GemmLaunchSpec's
  /// text); "" for CPU code objects, whose ABI is fixed.
  std::string launch;
};

/// What a deployment machine is, to check a record's provenance against.
struct Validators {
  std::string target;
  std::string deviceModel;
  std::string deviceFeatures;
  std::string compilerFingerprint; ///< Empty: do not check (no compiler here).
  /// CPU lookups: a record whose features (comma-separated) are a subset
  /// of deviceFeatures fits, since its code uses none that this host
  /// lacks (a host that gained a reported feature keeps its tuned
  /// results). Otherwise the features must be equal (the tuner re-tunes
  /// for new features; for GPUs the field is the SM / CU count).
  bool featureSubset = false;
};

/// Whether `r`'s device features fit `v` (above).
bool featuresFit(const TuningRecord &r, const Validators &v);

/// Empty if `r` fits `v`; else a sentence saying why not.
std::string checkRecord(const TuningRecord &r, const Validators &v);

} // namespace kt
