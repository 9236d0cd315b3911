// The C entry points of kt.h: argument checks, status mapping, last error.
#include "kt/kt.h"

#include "LookupContext.h"

#include "ktune/device/TargetDesc.h"
#include "ktune/problem/AttentionProblem.h"
#include "ktune/problem/DType.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <utility>

using namespace kt;

namespace {

/// The calling thread's last error message.
std::string &lastError() {
  thread_local std::string error;
  return error;
}

/// Records `message` for kt_context_last_error() and returns `status`.
kt_status fail(kt_status status, std::string message) noexcept {
  lastError().swap(message);
  return status;
}

kt_status succeed() {
  lastError().clear();
  return KT_OK;
}

kt_status toKtStatus(StatusCode code) {
  switch (code) {
  case StatusCode::Ok:
    return KT_OK;
  case StatusCode::NotFound:
    return KT_NOT_FOUND;
  case StatusCode::InvalidArgument:
    return KT_INVALID_ARGUMENT;
  case StatusCode::Unavailable:
  case StatusCode::FailedPrecondition:
  case StatusCode::DataLoss:
  case StatusCode::Unimplemented:
    return KT_UNAVAILABLE;
  default:
    return KT_INTERNAL;
  }
}

kt_status fail(const Status &status) {
  return fail(toKtStatus(status.code()), status.message());
}

/// Runs `body`, turning any C++ exception (e.g. std::bad_alloc from the
/// standard library) into KT_INTERNAL so none crosses the C boundary.
template <typename Body>
kt_status guarded(const char *function, Body &&body) noexcept {
  try {
    return body();
  } catch (const std::exception &e) {
    try {
      return fail(KT_INTERNAL, fmt::format("{}: {}", function, e.what()));
    } catch (...) {
      lastError().clear();
      return KT_INTERNAL;
    }
  } catch (...) {
    lastError().clear();
    return KT_INTERNAL;
  }
}

kt_status nullArgument(const char *function, const char *argument) {
  return fail(KT_INVALID_ARGUMENT,
              fmt::format("{}: {} is NULL", function, argument));
}

/// Checks the caller filled in struct_size with at least this header's size.
kt_status checkStructSize(const char *function, const char *type, size_t given,
                          size_t expected) {
  if (given >= expected) {
    return KT_OK;
  }
  return fail(KT_INVALID_ARGUMENT,
              fmt::format("{}: {}.struct_size is {}, expected at least {}; "
                          "set it to sizeof({}) or use the _init function",
                          function, type, given, expected, type));
}

/// kt_gemm_desc as API 1.0 defined it (before out_f32).
constexpr size_t kGemmDescV1Size =
    offsetof(kt_gemm_desc, ldc) + sizeof(int64_t);

/// Converts a kt_gemm_desc into a validated GemmProblem with its leading
/// dimensions filled in. Fields past `desc.struct_size` (from a caller
/// built against an older header) keep their defaults.
Result<GemmProblem> toGemmProblem(const kt_gemm_desc &desc) {
  GemmProblem problem;
  // A C caller may store any int here; reading it as the C++ enum would be
  // undefined for values outside the enumerators, so read the raw value.
  std::underlying_type_t<kt_dtype> dtype;
  static_assert(sizeof(dtype) == sizeof(desc.dtype));
  std::memcpy(&dtype, &desc.dtype, sizeof(dtype));
  switch (dtype) {
  case KT_F32:
    problem.dtype = DType::F32;
    break;
  case KT_F64:
    problem.dtype = DType::F64;
    break;
  case KT_F16:
    problem.dtype = DType::F16;
    break;
  case KT_BF16:
    problem.dtype = DType::BF16;
    break;
  default:
    return invalidArgument(fmt::format(
        "kt_gemm_desc.dtype is {}; expected KT_F32, KT_F64, KT_F16 or KT_BF16",
        static_cast<int64_t>(dtype)));
  }
  if (desc.struct_size >= offsetof(kt_gemm_desc, out_f32) + sizeof(int)) {
    problem.outF32 = desc.out_f32 != 0;
  }
  problem.transA = desc.trans_a != 0;
  problem.transB = desc.trans_b != 0;
  problem.m = desc.m;
  problem.n = desc.n;
  problem.k = desc.k;
  problem.lda = desc.lda;
  problem.ldb = desc.ldb;
  problem.ldc = desc.ldc;
  if (problem.lda < 0 || problem.ldb < 0 || problem.ldc < 0) {
    return invalidArgument(fmt::format(
        "kt_gemm_desc has negative leading dimensions lda={} ldb={} ldc={}; "
        "pass 0 for packed",
        desc.lda, desc.ldb, desc.ldc));
  }
  problem.setDefaultLeadingDims();
  Status valid = problem.validate();
  if (!valid.isOk()) {
    return valid;
  }
  return problem;
}

/// Parses kt_context_options.device; only the CPU is supported for now.
Result<AttentionProblem> toAttentionProblem(const kt_attention_desc &desc) {
  // Reuse the GEMM descriptor's dtype check.
  kt_gemm_desc probe{};
  probe.struct_size = sizeof(probe);
  probe.dtype = desc.dtype;
  probe.trans_a = probe.trans_b = 0;
  probe.m = probe.n = probe.k = 1;
  probe.lda = probe.ldb = probe.ldc = 0;
  KT_ASSIGN_OR_RETURN(GemmProblem g, toGemmProblem(probe));
  AttentionProblem p;
  p.dtype = g.dtype;
  std::underlying_type_t<kt_attention_layout> layout;
  std::memcpy(&layout, &desc.layout, sizeof(layout));
  if (layout != KT_BSHD && layout != KT_BHSD) {
    return invalidArgument(fmt::format(
        "kt_attention_desc.layout is {}; expected KT_BSHD or KT_BHSD",
        static_cast<int64_t>(layout)));
  }
  p.layout = layout == KT_BSHD ? AttentionProblem::Layout::BSHD
                               : AttentionProblem::Layout::BHSD;
  p.batch = desc.batch;
  p.hq = desc.heads_q;
  p.hkv = desc.heads_kv;
  p.sq = desc.seq_q;
  p.skv = desc.seq_kv;
  p.d = desc.head_dim;
  p.causal = desc.causal != 0;
  KT_RETURN_IF_ERROR(p.validate());
  return p;
}

/// The checks every launch shares, in order: ctx and kernel given, each
/// named buffer given, the kernel looked up on this context.
Status checkLaunch(
    const char *fn, const kt_context *ctx, const kt_kernel *kernel,
    std::initializer_list<std::pair<const char *, const void *>> buffers) {
  if (ctx == nullptr || kernel == nullptr) {
    return invalidArgument(
        fmt::format("{}: {} is NULL", fn, ctx == nullptr ? "ctx" : "kernel"));
  }
  for (const auto &[name, buffer] : buffers) {
    if (buffer == nullptr) {
      return invalidArgument(fmt::format("{}: {} is NULL", fn, name));
    }
  }
  if (kernel->owner != ctx) {
    return invalidArgument(
        fmt::format("{}: the kernel for {} was looked up on another context; "
                    "launch it on the context that returned it",
                    fn, kernel->problemKey));
  }
  return Status::ok();
}

/// The checks every lookup starts with, in order: out_kernel given (and
/// cleared), ctx given, the problem (`what`, named `whatName`) given.
kt_status startLookup(const char *fn, const kt_context *ctx, const void *what,
                      const char *whatName, kt_kernel **out_kernel) {
  if (out_kernel == nullptr) {
    return nullArgument(fn, "out_kernel");
  }
  *out_kernel = nullptr;
  if (ctx == nullptr) {
    return nullArgument(fn, "ctx");
  }
  if (what == nullptr) {
    return nullArgument(fn, whatName);
  }
  return KT_OK;
}

/// Ends a lookup: the kernel into *out (handles are non-const in the C
/// API; the context never changes a handed-out kernel), or the failure.
kt_status handOut(Result<const kt_kernel *> kernel, kt_kernel **out) {
  if (!kernel.isOk()) {
    return fail(kernel.status());
  }
  *out = const_cast<kt_kernel *>(*kernel);
  return succeed();
}

/// The sizes of structs as API 1.0 defined them: callers built against it
/// pass these and get the defaults of the fields appended since.
constexpr size_t kContextOptionsV1Size =
    offsetof(kt_context_options, check_validators) + sizeof(int);
constexpr size_t kKernelInfoV1Size =
    offsetof(kt_kernel_info, grid_n) + sizeof(int64_t);

/// `n` rounded up to a multiple of `align`.
constexpr size_t roundUp(size_t n, size_t align) {
  return (n + align - 1) / align * align;
}

/// kt_context_options as API 1.1 defined it (through jit_compiler).
constexpr size_t kContextOptionsV11Size =
    offsetof(kt_context_options, jit_compiler) + sizeof(const char *);

/// sizeof the structs the _init functions filled as API 1.5 defined them
/// (the functions of those names write exactly this much, for programs
/// built against headers before 1.6); a kt_context_options this large holds
/// jit_timeout_s.
constexpr size_t kContextOptionsV15Size =
    roundUp(offsetof(kt_context_options, jit_timeout_s) + sizeof(double),
            alignof(kt_context_options));
constexpr size_t kGemmDescV15Size = roundUp(
    offsetof(kt_gemm_desc, out_f32) + sizeof(int), alignof(kt_gemm_desc));
constexpr size_t kAttentionDescV15Size =
    roundUp(offsetof(kt_attention_desc, causal) + sizeof(int),
            alignof(kt_attention_desc));

/// The _init_sized functions: `defaults` (this library's struct) into the
/// first `size` bytes of `out`, struct_size = size, and zeros past this
/// library's struct. Nothing is written for a size that cannot hold
/// struct_size.
template <class T> void initSized(T *out, T defaults, size_t size) {
  if (out == nullptr || size < sizeof(size_t)) {
    return;
  }
  defaults.struct_size = size;
  const size_t n = std::min(size, sizeof(T));
  std::memcpy(out, &defaults, n);
  if (size > n) {
    std::memset(reinterpret_cast<char *>(out) + n, 0, size - n);
  }
}

} // namespace

extern "C" {

int kt_api_version(void) { return KT_API_VERSION; }

const char *kt_status_string(kt_status status) {
  // Read the raw value: a C caller may pass any int (see toGemmProblem).
  std::underlying_type_t<kt_status> value;
  std::memcpy(&value, &status, sizeof(value));
  switch (value) {
  case KT_OK:
    return "KT_OK";
  case KT_NOT_FOUND:
    return "KT_NOT_FOUND";
  case KT_INVALID_ARGUMENT:
    return "KT_INVALID_ARGUMENT";
  case KT_UNAVAILABLE:
    return "KT_UNAVAILABLE";
  case KT_INTERNAL:
    return "KT_INTERNAL";
  }
  return "KT_UNKNOWN_STATUS";
}

const char *kt_context_last_error(const kt_context *ctx) {
  return lastError().c_str();
}

void kt_context_options_init_sized(kt_context_options *options, size_t size) {
  kt_context_options d{};
  d.check_validators = 1;
  d.record_misses = 1;
  d.fallback = 1;
  d.jit_timeout_s = lookup::kDefaultJitTimeoutSeconds;
  initSized(options, d, size);
}

void(kt_context_options_init)(kt_context_options *options) {
  kt_context_options_init_sized(options, kContextOptionsV15Size);
}

void kt_gemm_desc_init_sized(kt_gemm_desc *desc, size_t size) {
  kt_gemm_desc d{};
  d.dtype = KT_F32;
  initSized(desc, d, size);
}

void(kt_gemm_desc_init)(kt_gemm_desc *desc) {
  kt_gemm_desc_init_sized(desc, kGemmDescV15Size);
}

kt_status kt_context_create(const kt_context_options *options,
                            kt_context **out_ctx) {
  constexpr const char *kFn = "kt_context_create";
  return guarded(kFn, [&]() -> kt_status {
    if (out_ctx == nullptr) {
      return nullArgument(kFn, "out_ctx");
    }
    *out_ctx = nullptr;
    if (options == nullptr) {
      return nullArgument(kFn, "options");
    }
    kt_status sizeOk = checkStructSize(
        kFn, "kt_context_options", options->struct_size, kContextOptionsV1Size);
    if (sizeOk != KT_OK) {
      return sizeOk;
    }
    if (options->results_path == nullptr) {
      return nullArgument(kFn, "options->results_path");
    }
    lookup::ContextOptions opts;
    opts.resultsPath = options->results_path;
    opts.device = options->device ? options->device : "";
    opts.numThreads = options->num_threads;
    opts.checkValidators = options->check_validators != 0;
    // Fields a caller built against an older kt.h does not have keep
    // their defaults.
    if (options->struct_size >= kContextOptionsV11Size) {
      opts.recordMisses = options->record_misses != 0;
      opts.missesCsvPath =
          options->misses_csv_path ? options->misses_csv_path : "";
      opts.reportPath = options->report_path ? options->report_path : "";
      opts.loadOnFirstUse = options->load_on_first_use != 0;
      opts.fallback = options->fallback != 0;
      opts.jit = options->jit != 0;
      opts.jitCompiler = options->jit_compiler ? options->jit_compiler : "";
    }
    if (options->struct_size >= kContextOptionsV15Size) {
      if (std::isnan(options->jit_timeout_s)) {
        return fail(invalidArgument(fmt::format(
            "kt_context_create: options->jit_timeout_s is NaN; pass seconds "
            "(0: the default {}, negative: no limit)",
            lookup::kDefaultJitTimeoutSeconds)));
      }
      if (options->jit_timeout_s != 0) {
        opts.jitTimeoutSeconds = options->jit_timeout_s;
      }
    }
    Result<std::unique_ptr<kt_context>> ctx = kt_context::create(opts);
    if (!ctx.isOk()) {
      return fail(ctx.status().withContext(kFn));
    }
    *out_ctx = std::move(ctx).value().release();
    return succeed();
  });
}

void kt_context_destroy(kt_context *ctx) { delete ctx; }

kt_status kt_gemm_lookup(kt_context *ctx, const kt_gemm_desc *desc,
                         kt_kernel **out_kernel) {
  constexpr const char *kFn = "kt_gemm_lookup";
  return guarded(kFn, [&]() -> kt_status {
    if (kt_status st = startLookup(kFn, ctx, desc, "desc", out_kernel);
        st != KT_OK) {
      return st;
    }
    kt_status sizeOk = checkStructSize(kFn, "kt_gemm_desc", desc->struct_size,
                                       kGemmDescV1Size);
    if (sizeOk != KT_OK) {
      return sizeOk;
    }
    Result<GemmProblem> problem = toGemmProblem(*desc);
    if (!problem.isOk()) {
      return fail(problem.status().withContext(kFn));
    }
    return handOut(ctx->lookupGemm(*problem), out_kernel);
  });
}

kt_status kt_lookup(kt_context *ctx, const char *signature,
                    kt_kernel **out_kernel) {
  constexpr const char *kFn = "kt_lookup";
  return guarded(kFn, [&]() -> kt_status {
    if (kt_status st =
            startLookup(kFn, ctx, signature, "signature", out_kernel);
        st != KT_OK) {
      return st;
    }
    Result<const kt_kernel *> kernel = internalError("not looked up");
    if (isAttentionSignature(signature)) {
      Result<AttentionProblem> problem = parseAttentionProblem(signature);
      if (!problem.isOk()) {
        return fail(problem.status().withContext(kFn));
      }
      kernel = ctx->lookupAttention(*problem);
    } else {
      Result<GemmProblem> problem = parseGemmProblem(signature);
      if (!problem.isOk()) {
        return fail(problem.status().withContext(kFn));
      }
      kernel = ctx->lookupGemm(*problem);
    }
    return handOut(std::move(kernel), out_kernel);
  });
}

void kt_attention_desc_init_sized(kt_attention_desc *desc, size_t size) {
  kt_attention_desc d{};
  d.dtype = KT_F32;
  d.layout = KT_BSHD;
  initSized(desc, d, size);
}

void(kt_attention_desc_init)(kt_attention_desc *desc) {
  kt_attention_desc_init_sized(desc, kAttentionDescV15Size);
}

kt_status kt_attention_lookup(kt_context *ctx, const kt_attention_desc *desc,
                              kt_kernel **out_kernel) {
  constexpr const char *kFn = "kt_attention_lookup";
  return guarded(kFn, [&]() -> kt_status {
    if (kt_status st = startLookup(kFn, ctx, desc, "desc", out_kernel);
        st != KT_OK) {
      return st;
    }
    kt_status sizeOk = checkStructSize(
        kFn, "kt_attention_desc", desc->struct_size, sizeof(kt_attention_desc));
    if (sizeOk != KT_OK) {
      return sizeOk;
    }
    Result<AttentionProblem> problem = toAttentionProblem(*desc);
    if (!problem.isOk()) {
      return fail(problem.status().withContext(kFn));
    }
    return handOut(ctx->lookupAttention(*problem), out_kernel);
  });
}

kt_status kt_attention_launch_cpu(kt_context *ctx, const kt_kernel *kernel,
                                  const void *q, const void *k, const void *v,
                                  void *o, float scale) {
  constexpr const char *kFn = "kt_attention_launch_cpu";
  return guarded(kFn, [&]() -> kt_status {
    if (Status st = checkLaunch(kFn, ctx, kernel,
                                {{"q", q}, {"k", k}, {"v", v}, {"o", o}});
        !st.isOk()) {
      return fail(st);
    }
    if (!(scale > 0.0f)) {
      scale = 1.0f / std::sqrt(float(kernel->attention.d));
    }
    Status st = ctx->launchAttention(*kernel, q, k, v, o, scale);
    if (!st.isOk()) {
      return fail(st.withContext(kFn));
    }
    return succeed();
  });
}

kt_status kt_gemm_launch_cpu(kt_context *ctx, const kt_kernel *kernel,
                             const void *a, const void *b, void *c, float alpha,
                             float beta) {
  constexpr const char *kFn = "kt_gemm_launch_cpu";
  return guarded(kFn, [&]() -> kt_status {
    if (Status st =
            checkLaunch(kFn, ctx, kernel, {{"a", a}, {"b", b}, {"c", c}});
        !st.isOk()) {
      return fail(st);
    }
    Status st = ctx->launchGemm(*kernel, a, b, c, alpha, beta);
    if (!st.isOk()) {
      return fail(st.withContext(kFn));
    }
    return succeed();
  });
}

kt_status kt_kernel_get_info(const kt_kernel *kernel,
                             kt_kernel_info *out_info) {
  constexpr const char *kFn = "kt_kernel_get_info";
  return guarded(kFn, [&]() -> kt_status {
    if (kernel == nullptr) {
      return nullArgument(kFn, "kernel");
    }
    if (out_info == nullptr) {
      return nullArgument(kFn, "out_info");
    }
    kt_status sizeOk = checkStructSize(
        kFn, "kt_kernel_info", out_info->struct_size, kKernelInfoV1Size);
    if (sizeOk != KT_OK) {
      return sizeOk;
    }
    out_info->template_name = kernel->templateName.c_str();
    out_info->params = kernel->params.c_str();
    out_info->time_ms = kernel->timeMs;
    out_info->grid_m = kernel->gridM;
    out_info->grid_n = kernel->gridN;
    if (out_info->struct_size >= sizeof(kt_kernel_info)) {
      out_info->tuned_problem = kernel->problemKey.c_str();
      out_info->fallback = kernel->fallback ? 1 : 0;
      out_info->workspace_bytes =
          kernel->cudaFunction  ? lookup::cudaWorkspaceBytes(*kernel)
          : kernel->hipFunction ? lookup::hipWorkspaceBytes(*kernel)
                                : 0;
    }
    return succeed();
  });
}

namespace {

/// out_launch given, with the current struct_size.
kt_status checkLaunchOut(const char *fn, kt_cuda_launch *out_launch) {
  if (out_launch == nullptr) {
    return nullArgument(fn, "out_launch");
  }
  return checkStructSize(fn, "kt_cuda_launch", out_launch->struct_size,
                         sizeof(kt_cuda_launch));
}

/// Fills a kt_cuda_launch: the function and its launch shape, then each
/// argument at its natural alignment in `args` (tensor maps 128-byte
/// aligned), `params` pointing at them.
class LaunchWriter {
public:
  LaunchWriter(kt_cuda_launch &out, void *function,
               const cuda::LaunchConfig &config)
      : out_(out) {
    static_assert(2 * sizeof(cuda::TensorMap) + 64 <= sizeof(out.args));
    out.function = function;
    for (int i = 0; i < 3; ++i) {
      out.grid[i] = config.grid[i];
      out.block[i] = config.block[i];
      out.cluster[i] = config.cluster[i];
    }
    out.shared_bytes = config.sharedBytes;
    out.num_params = 0;
  }
  void put(const void *value, size_t bytes, size_t align) {
    offset_ = (offset_ + align - 1) / align * align;
    std::memcpy(out_.args + offset_, value, bytes);
    out_.params[out_.num_params++] = out_.args + offset_;
    offset_ += bytes;
  }

private:
  kt_cuda_launch &out_;
  size_t offset_ = 0;
};

/// The checks kt_gemm_launch_cuda and kt_gemm_get_cuda_launch share, then
/// the prepared launch.
Result<cuda::PreparedGemm> prepareCudaCall(const char *fn, kt_context *ctx,
                                           const kt_kernel *kernel,
                                           void *stream, const void *a,
                                           const void *b, void *c, float alpha,
                                           float beta, void *workspace) {
  KT_RETURN_IF_ERROR(
      checkLaunch(fn, ctx, kernel, {{"a", a}, {"b", b}, {"c", c}}));
  auto address = [](const void *p) { return uint64_t(uintptr_t(p)); };
  return ctx->prepareCuda(*kernel, stream, address(a), address(b), address(c),
                          alpha, beta, address(workspace));
}

} // namespace

kt_status kt_gemm_launch_cuda(kt_context *ctx, const kt_kernel *kernel,
                              void *stream, const void *a, const void *b,
                              void *c, float alpha, float beta,
                              void *workspace) {
  constexpr const char *kFn = "kt_gemm_launch_cuda";
  return guarded(kFn, [&]() -> kt_status {
    Result<cuda::PreparedGemm> g = prepareCudaCall(
        kFn, ctx, kernel, stream, a, b, c, alpha, beta, workspace);
    if (!g.isOk()) {
      return fail(g.status());
    }
    Status st = ctx->launchCuda(*g);
    if (!st.isOk()) {
      return fail(st.withContext(kFn));
    }
    return succeed();
  });
}

kt_status kt_gemm_launch_hip(kt_context *ctx, const kt_kernel *kernel,
                             void *stream, const void *a, const void *b,
                             void *c, float alpha, float beta,
                             void *workspace) {
  constexpr const char *kFn = "kt_gemm_launch_hip";
  return guarded(kFn, [&]() -> kt_status {
    if (Status st =
            checkLaunch(kFn, ctx, kernel, {{"a", a}, {"b", b}, {"c", c}});
        !st.isOk()) {
      return fail(st);
    }
    auto address = [](const void *p) { return uint64_t(uintptr_t(p)); };
    Status st = ctx->launchHip(*kernel, stream, address(a), address(b),
                               address(c), alpha, beta, address(workspace));
    if (!st.isOk()) {
      return fail(st.withContext(kFn));
    }
    return succeed();
  });
}

kt_status kt_gemm_get_cuda_launch(kt_context *ctx, const kt_kernel *kernel,
                                  const void *a, const void *b, void *c,
                                  float alpha, float beta, void *workspace,
                                  kt_cuda_launch *out_launch) {
  constexpr const char *kFn = "kt_gemm_get_cuda_launch";
  return guarded(kFn, [&]() -> kt_status {
    if (kt_status st = checkLaunchOut(kFn, out_launch); st != KT_OK) {
      return st;
    }
    Result<cuda::PreparedGemm> g = prepareCudaCall(
        kFn, ctx, kernel, nullptr, a, b, c, alpha, beta, workspace);
    if (!g.isOk()) {
      return fail(g.status());
    }
    LaunchWriter out(*out_launch, g->function, g->config);
    // The arguments in launchPrepared()'s order.
    if (g->pointers) {
      out.put(&g->a, 8, 8);
      out.put(&g->b, 8, 8);
      out.put(&g->c, 8, 8);
      out.put(&g->alpha, 4, 4);
      out.put(&g->beta, 4, 4);
    } else {
      out.put(&g->mapA, sizeof(g->mapA), 128);
      out.put(&g->mapB, sizeof(g->mapB), 128);
      out.put(&g->c, 8, 8);
      for (const int *v : {&g->m, &g->n, &g->k, &g->ldc}) {
        out.put(v, 4, 4);
      }
      out.put(&g->alpha, 4, 4);
      out.put(&g->beta, 4, 4);
      out.put(&g->workspace, 8, 8);
      out.put(&g->semaphores, 8, 8);
    }
    return succeed();
  });
}

namespace {

/// The checks kt_attention_launch_cuda and kt_attention_get_cuda_launch
/// share, then the prepared launch.
Result<cuda::PreparedAttention>
prepareCudaAttentionCall(const char *fn, kt_context *ctx,
                         const kt_kernel *kernel, void *stream, const void *q,
                         const void *k, const void *v, void *o, float scale,
                         void *workspace) {
  KT_RETURN_IF_ERROR(
      checkLaunch(fn, ctx, kernel, {{"q", q}, {"k", k}, {"v", v}, {"o", o}}));
  auto address = [](const void *p) { return uint64_t(uintptr_t(p)); };
  Result<cuda::PreparedAttention> a = ctx->prepareCudaAttention(
      *kernel, stream, address(q), address(k), address(v), address(o), scale,
      address(workspace));
  if (!a.isOk()) {
    return a.status().withContext(fn);
  }
  return a;
}

} // namespace

kt_status kt_attention_launch_cuda(kt_context *ctx, const kt_kernel *kernel,
                                   void *stream, const void *q, const void *k,
                                   const void *v, void *o, float scale,
                                   void *workspace) {
  constexpr const char *kFn = "kt_attention_launch_cuda";
  return guarded(kFn, [&]() -> kt_status {
    Result<cuda::PreparedAttention> a = prepareCudaAttentionCall(
        kFn, ctx, kernel, stream, q, k, v, o, scale, workspace);
    if (!a.isOk()) {
      return fail(a.status());
    }
    Status st = ctx->launchCuda(*a);
    if (!st.isOk()) {
      return fail(st.withContext(kFn));
    }
    return succeed();
  });
}

kt_status kt_attention_launch_hip(kt_context *ctx, const kt_kernel *kernel,
                                  void *stream, const void *q, const void *k,
                                  const void *v, void *o, float scale,
                                  void *workspace) {
  constexpr const char *kFn = "kt_attention_launch_hip";
  return guarded(kFn, [&]() -> kt_status {
    if (Status st = checkLaunch(kFn, ctx, kernel,
                                {{"q", q}, {"k", k}, {"v", v}, {"o", o}});
        !st.isOk()) {
      return fail(st);
    }
    auto address = [](const void *p) { return uint64_t(uintptr_t(p)); };
    Status st = ctx->launchHipAttention(*kernel, stream, address(q), address(k),
                                        address(v), address(o), scale,
                                        address(workspace));
    if (!st.isOk()) {
      return fail(st.withContext(kFn));
    }
    return succeed();
  });
}

kt_status kt_attention_get_cuda_launch(kt_context *ctx, const kt_kernel *kernel,
                                       const void *q, const void *k,
                                       const void *v, void *o, float scale,
                                       void *workspace,
                                       kt_cuda_launch *out_launch) {
  constexpr const char *kFn = "kt_attention_get_cuda_launch";
  return guarded(kFn, [&]() -> kt_status {
    if (kt_status st = checkLaunchOut(kFn, out_launch); st != KT_OK) {
      return st;
    }
    Result<cuda::PreparedAttention> a = prepareCudaAttentionCall(
        kFn, ctx, kernel, nullptr, q, k, v, o, scale, workspace);
    if (!a.isOk()) {
      return fail(a.status());
    }
    // The arguments in launchPrepared()'s order.
    LaunchWriter out(*out_launch, a->function, a->config);
    if (a->pointers) {
      for (const uint64_t *x : {&a->q, &a->k, &a->v, &a->o}) {
        out.put(x, 8, 8);
      }
      out.put(&a->scaleLog2, 4, 4);
      if (a->splitArgs) {
        out.put(&a->workspace, 8, 8);
        out.put(&a->semaphores, 8, 8);
      }
      return succeed();
    }
    out.put(&a->mapK, sizeof(a->mapK), 128);
    out.put(&a->mapV, sizeof(a->mapV), 128);
    out.put(&a->q, 8, 8);
    out.put(&a->o, 8, 8);
    for (const int *x : {&a->b, &a->hq, &a->hkv, &a->sq, &a->skv}) {
      out.put(x, 4, 4);
    }
    out.put(&a->scaleLog2, 4, 4);
    out.put(&a->workspace, 8, 8);
    out.put(&a->semaphores, 8, 8);
    return succeed();
  });
}

kt_status kt_context_get_stats(const kt_context *ctx,
                               kt_context_stats *out_stats) {
  constexpr const char *kFn = "kt_context_get_stats";
  return guarded(kFn, [&]() -> kt_status {
    if (ctx == nullptr) {
      return nullArgument(kFn, "ctx");
    }
    if (out_stats == nullptr) {
      return nullArgument(kFn, "out_stats");
    }
    kt_status sizeOk =
        checkStructSize(kFn, "kt_context_stats", out_stats->struct_size,
                        sizeof(kt_context_stats));
    if (sizeOk != KT_OK) {
      return sizeOk;
    }
    lookup::LookupStats s = ctx->stats();
    out_stats->entries = s.entries;
    out_stats->skipped = s.skipped;
    out_stats->other_targets = s.otherTargets;
    out_stats->lookups = s.lookups;
    out_stats->hits = s.hits;
    out_stats->fallbacks = s.fallbacks;
    out_stats->misses = s.misses;
    out_stats->missed_problems = s.missedProblems;
    out_stats->compiled = s.compiled;
    return succeed();
  });
}

kt_status kt_context_flush_misses(kt_context *ctx) {
  constexpr const char *kFn = "kt_context_flush_misses";
  return guarded(kFn, [&]() -> kt_status {
    if (ctx == nullptr) {
      return nullArgument(kFn, "ctx");
    }
    Status st = ctx->flushMisses();
    if (!st.isOk()) {
      return fail(st.withContext(kFn));
    }
    return succeed();
  });
}

} // extern "C"
