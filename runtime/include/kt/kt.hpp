// kt.hpp: a header-only C++ wrapper over kt.h with an owning, move-only
// Context. Errors are returned as kt_status with lastError(); no exceptions.
#pragma once

#include "kt/kt.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace kt::api {

/// The calling thread's last error message (see kt_context_last_error()).
inline std::string lastError() { return kt_context_last_error(nullptr); }

/// A GEMM description in ktune's row-major convention (see kt_gemm_desc).
inline kt_gemm_desc gemmDesc(int64_t m, int64_t n, int64_t k,
                             bool transA = false, bool transB = false,
                             kt_dtype dtype = KT_F32) {
  kt_gemm_desc desc;
  kt_gemm_desc_init(&desc);
  desc.dtype = dtype;
  desc.trans_a = transA ? 1 : 0;
  desc.trans_b = transB ? 1 : 0;
  desc.m = m;
  desc.n = n;
  desc.k = k;
  return desc;
}

/// A non-owning kernel handle, valid while the Context that returned it
/// lives. Cheap to copy.
class Kernel {
public:
  explicit Kernel(kt_kernel *kernel) : kernel_(kernel) {}

  kt_kernel *get() const { return kernel_; }
  /// Describes the kernel; the strings live as long as the kernel.
  kt_status info(kt_kernel_info &out) const {
    out.struct_size = sizeof(kt_kernel_info);
    return kt_kernel_get_info(kernel_, &out);
  }
  bool operator==(const Kernel &o) const { return kernel_ == o.kernel_; }

private:
  kt_kernel *kernel_;
};

/// Owns a kt_context. Lookups and launches are safe from many threads at
/// once (the methods are const); moving or destroying is not.
class Context {
public:
  /// An empty context; open() fills it.
  Context() = default;
  ~Context() { kt_context_destroy(ctx_); }
  Context(const Context &) = delete;
  Context &operator=(const Context &) = delete;
  Context(Context &&o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)) {}
  Context &operator=(Context &&o) noexcept {
    if (this != &o) {
      kt_context_destroy(ctx_);
      ctx_ = std::exchange(o.ctx_, nullptr);
    }
    return *this;
  }

  /// Opens a context into `out` (replacing what it held). On failure `out`
  /// is left empty and lastError() says why.
  static kt_status open(const kt_context_options &options, Context &out) {
    kt_context *ctx = nullptr;
    kt_status status = kt_context_create(&options, &ctx);
    out = Context(ctx);
    return status;
  }
  /// Opens `resultsPath` with the default options.
  static kt_status open(const std::string &resultsPath, Context &out) {
    kt_context_options options;
    kt_context_options_init(&options);
    options.results_path = resultsPath.c_str();
    return open(options, out);
  }

  bool isOpen() const { return ctx_ != nullptr; }
  explicit operator bool() const { return isOpen(); }
  kt_context *get() const { return ctx_; }

  /// The tuned kernel for `desc`, or nullopt: then use your default, and
  /// `status` (if given) says why (KT_NOT_FOUND: nothing usable recorded).
  std::optional<Kernel> lookupGemm(const kt_gemm_desc &desc,
                                   kt_status *status = nullptr) const {
    kt_kernel *kernel = nullptr;
    kt_status s = kt_gemm_lookup(ctx_, &desc, &kernel);
    if (status != nullptr) {
      *status = s;
    }
    if (s != KT_OK) {
      return std::nullopt;
    }
    return Kernel(kernel);
  }

  /// Runs `kernel` on host memory: C = alpha * op(A) * op(B) + beta * C.
  kt_status launch(const Kernel &kernel, const void *a, const void *b, void *c,
                   float alpha = 1.0f, float beta = 0.0f) const {
    return kt_gemm_launch_cpu(ctx_, kernel.get(), a, b, c, alpha, beta);
  }

  /// Queues `kernel` (from a "cuda:N" context) on `stream` (a CUstream) on
  /// device memory; `workspace` as Kernel::info().workspace_bytes says.
  kt_status launchCuda(const Kernel &kernel, void *stream, const void *a,
                       const void *b, void *c, float alpha = 1.0f,
                       float beta = 0.0f, void *workspace = nullptr) const {
    return kt_gemm_launch_cuda(ctx_, kernel.get(), stream, a, b, c, alpha, beta,
                               workspace);
  }

  /// Queues an attention `kernel` (from a "cuda:N" context) on `stream`;
  /// `scale` <= 0 means 1 / sqrt(d).
  kt_status launchAttentionCuda(const Kernel &kernel, void *stream,
                                const void *q, const void *k, const void *v,
                                void *o, float scale = 0.0f,
                                void *workspace = nullptr) const {
    return kt_attention_launch_cuda(ctx_, kernel.get(), stream, q, k, v, o,
                                    scale, workspace);
  }

  /// Lookup counters so far (zeros if the context is not open).
  kt_context_stats stats() const {
    kt_context_stats s{};
    s.struct_size = sizeof(s);
    if (ctx_ != nullptr) {
      kt_context_get_stats(ctx_, &s);
    }
    return s;
  }

  /// Writes the misses counted so far (see kt_context_flush_misses).
  kt_status flushMisses() const { return kt_context_flush_misses(ctx_); }

private:
  explicit Context(kt_context *ctx) : ctx_(ctx) {}

  kt_context *ctx_ = nullptr;
};

} // namespace kt::api
