// NVRTC, loaded at run time with dlopen: CUDA C++ template instances to
// cubins for sm_90a / sm_100a (or PTX), on a machine with or without a GPU.
#pragma once

#include "ktune/base/Status.h"

#include <string>
#include <vector>

namespace kt {

struct NvrtcOutput {
  std::string cubin;                     ///< ELF cubin (empty when PTX only).
  std::string ptx;                       ///< PTX text.
  std::string log;                       ///< Compiler log (warnings).
  std::vector<std::string> loweredNames; ///< Per requested name expression.
};

/// Thread-safety: compile() may run concurrently (NVRTC programs are
/// independent).
class NvrtcCompiler {
public:
  /// Loads libnvrtc (the newest of libnvrtc.so.13, .so.12, .so, also from
  /// /usr/local/cuda/lib64). Unavailable with the reason where it is absent.
  static Result<const NvrtcCompiler *> get();

  /// "nvrtc-13.0": enters every cache key with the compile flags.
  const std::string &version() const { return version_; }

  /// Compiles `source` (named `name` in diagnostics) for `arch`, e.g.
  /// "sm_90a" or "sm_100a" (a cubin; "compute_XY" gives PTX only), with
  /// extra NVRTC `options`. `nameExpressions` (e.g. "kern<64, 128>") are
  /// resolved to their mangled names. A failed compile returns
  /// InvalidArgument carrying the full log.
  Result<NvrtcOutput>
  compile(const std::string &source, const std::string &name,
          const std::string &arch, const std::vector<std::string> &options = {},
          const std::vector<std::string> &nameExpressions = {}) const;

  struct Api; ///< The symbol table (NvrtcCompiler.cpp).

private:
  NvrtcCompiler() = default;
  const Api *api_ = nullptr;
  std::string version_;
};

} // namespace kt
