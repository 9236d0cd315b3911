// hiprtc, ROCm's run-time HIP compiler, loaded with dlopen: where a ROCm
// install provides it, HipCompiler prefers it to clang's device-only HIP
// compile, so a deployment compiles with the same front end as the HIP
// runtime it launches on. Absent hiprtc is Unavailable, never a build or
// start failure.
#pragma once

#include "ktune/base/Status.h"

#include <string>
#include <vector>

namespace kt {

/// The loaded library. Thread-safety: get() and compile() may run
/// concurrently (each compile owns its hiprtcProgram).
class Hiprtc {
public:
  /// Loads libhiprtc (.so.7, .so.6, .so, then /opt/rocm/lib).
  static Result<const Hiprtc *> get();
  /// hiprtcVersion: the HIP version the library belongs to (7.0 -> 7, 0).
  int major() const { return major_; }
  int minor() const { return minor_; }
  /// The oldest ROCm whose hiprtc generates code for `arch`: 7 for gfx950
  /// (MI355X), 6 for gfx942 (MI300X).
  static int minimumMajorFor(const std::string &arch);
  /// Ok where this hiprtc can target `arch`, else Unavailable saying which
  /// ROCm is needed.
  Status supports(const std::string &arch) const;

  /// Compiles HIP C++ `source` (a translation unit needing no headers) for
  /// `arch` with `options`; returns the code object (ELF). The compile log
  /// goes to `log` (warnings) or into the error (failures), which names
  /// `name`.
  Result<std::string> compile(const std::string &source,
                              const std::string &name, const std::string &arch,
                              const std::vector<std::string> &options,
                              std::string *log) const;

  struct Api; ///< The symbol table (Hiprtc.cpp).

private:
  Hiprtc() = default;
  const Api *api_ = nullptr;
  int major_ = 0, minor_ = 0;
};

} // namespace kt
