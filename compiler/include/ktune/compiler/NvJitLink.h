// nvJitLink, loaded at run time with dlopen: PTX to a cubin in process
// (the last step of the MLIR NVVM path), with ptxas' verbose report.
#pragma once

#include "ktune/base/Status.h"

#include <string>

namespace kt {

struct NvJitLinkOutput {
  std::string cubin;
  std::string log; ///< Info log: ptxas' report (-Xptxas=-v).
};

/// Thread-safety: link() may run concurrently.
class NvJitLink {
public:
  /// Loads libnvJitLink.so.13 / .12 (also from /usr/local/cuda/lib64).
  static Result<const NvJitLink *> get();
  /// "nvjitlink-13.0".
  const std::string &version() const { return version_; }
  /// Links `ptx` (named `name` in messages) into a cubin for `arch`
  /// ("sm_90a"); InvalidArgument with the error log on failure.
  Result<NvJitLinkOutput> link(const std::string &ptx, const std::string &name,
                               const std::string &arch) const;

  struct Api;

private:
  NvJitLink() = default;
  const Api *api_ = nullptr;
  std::string version_;
};

} // namespace kt
