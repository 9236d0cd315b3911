#include "ktune/drivers/hip/HipBlasLt.h"

#include "ktune/base/DynamicLibrary.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <memory>

namespace kt::hip {

namespace {

// hipBLASLt's constants, declared here so no ROCm header is needed to
// build. From hipblas-common.h (hipblasStatus_t, hipblasOperation_t,
// hipblasComputeType_t), library_types.h (hipDataType) and hipblaslt.h (the
// attribute enums), which agree from hipBLASLt 0.7 (ROCm 6.1) to ROCm 7.
// ROCm 6.0's hipBLASLt documents its own hipblasltDatatype_t and
// hipblasLtComputeType_t (HIPBLASLT_COMPUTE_F32 = 300) instead, so get()
// refuses versions below 0.7.
constexpr int kComputeF32 = 2;            // HIPBLAS_COMPUTE_32F
constexpr int kR32F = 0;                  // HIP_R_32F
constexpr int kR16F = 2;                  // HIP_R_16F
constexpr int kR16BF = 14;                // HIP_R_16BF
constexpr int32_t kOpN = 111;             // HIPBLAS_OP_N
constexpr int32_t kOpT = 112;             // HIPBLAS_OP_T
constexpr int kDescTransA = 0;            // HIPBLASLT_MATMUL_DESC_TRANSA
constexpr int kDescTransB = 1;            // HIPBLASLT_MATMUL_DESC_TRANSB
constexpr int kPrefMaxWorkspace = 1;      // ..._PREF_MAX_WORKSPACE_BYTES
constexpr int kMinVersion = 700;          // hipBLASLt 0.7.0
constexpr uint64_t kWorkspace = 32 << 20; // What the heuristic may ask for.

/// hipblasLtMatmulHeuristicResult_t (hipblaslt.h, on AMD platforms).
struct HeuristicResult {
  struct {
    uint8_t data[16];
    size_t maxWorkspaceBytes;
  } algo; // hipblasLtMatmulAlgo_t
  size_t workspaceSize;
  int state; // hipblasStatus_t
  float wavesCount;
  int reserved[4];
};
static_assert(sizeof(HeuristicResult::algo) == 24);
static_assert(offsetof(HeuristicResult, workspaceSize) == 24);
static_assert(offsetof(HeuristicResult, state) == 32);
static_assert(offsetof(HeuristicResult, reserved) == 40);
static_assert(sizeof(HeuristicResult) == 56);

/// "HIPBLAS_STATUS_INVALID_VALUE (3)" for a hipblasStatus_t.
std::string statusName(int s) {
  static const char *const names[] = {
      "SUCCESS",       "NOT_INITIALIZED",   "ALLOC_FAILED",   "INVALID_VALUE",
      "MAPPING_ERROR", "EXECUTION_FAILED",  "INTERNAL_ERROR", "NOT_SUPPORTED",
      "ARCH_MISMATCH", "HANDLE_IS_NULLPTR", "INVALID_ENUM",   "UNKNOWN"};
  if (s >= 0 && s < int(std::size(names))) {
    return fmt::format("HIPBLAS_STATUS_{} ({})", names[s], s);
  }
  return fmt::format("hipblasStatus {}", s);
}

} // namespace

// hipblaslt.h's signatures; handles and descriptors are opaque pointers,
// enums are ints.
struct HipBlasLt::Api {
  void *handle = nullptr;
  int (*Create)(void **) = nullptr;
  int (*Destroy)(void *) = nullptr;
  int (*GetVersion)(void *, int *) = nullptr;
  int (*MatmulDescCreate)(void **, int, int) = nullptr;
  int (*MatmulDescDestroy)(void *) = nullptr;
  int (*MatmulDescSetAttribute)(void *, int, const void *, size_t) = nullptr;
  int (*MatrixLayoutCreate)(void **, int, uint64_t, uint64_t,
                            int64_t) = nullptr;
  int (*MatrixLayoutDestroy)(void *) = nullptr;
  int (*MatmulPreferenceCreate)(void **) = nullptr;
  int (*MatmulPreferenceDestroy)(void *) = nullptr;
  int (*MatmulPreferenceSetAttribute)(void *, int, const void *,
                                      size_t) = nullptr;
  int (*MatmulAlgoGetHeuristic)(void *, void *, void *, void *, void *, void *,
                                void *, int, HeuristicResult *,
                                int *) = nullptr;
  int (*Matmul)(void *, void *, const void *, const void *, void *,
                const void *, void *, const void *, const void *, void *,
                void *, void *, const void *, void *, size_t, void *) = nullptr;
};

Result<const HipBlasLt *> HipBlasLt::get() {
  static Result<const HipBlasLt *> loaded = []() -> Result<const HipBlasLt *> {
    KT_ASSIGN_OR_RETURN(
        DynamicLibrary dl,
        DynamicLibrary::openFirst(
            {"libhipblaslt.so.1", "libhipblaslt.so.0", "libhipblaslt.so",
             "/opt/rocm/lib/libhipblaslt.so.1",
             "/opt/rocm/lib/libhipblaslt.so.0",
             "/opt/rocm/lib/libhipblaslt.so"},
            "hipBLASLt (libhipblaslt)",
            "install hipblaslt (ROCm 6.1 or newer) to compare with AMD's "
            "vendor library"));
    std::unique_ptr<Api> a(new Api());
    a->handle = dl.handle();
    auto need = [&](const char *name, auto &fn) { dl.need(name, fn); };
    need("hipblasLtCreate", a->Create);
    need("hipblasLtDestroy", a->Destroy);
    need("hipblasLtGetVersion", a->GetVersion);
    need("hipblasLtMatmulDescCreate", a->MatmulDescCreate);
    need("hipblasLtMatmulDescDestroy", a->MatmulDescDestroy);
    need("hipblasLtMatmulDescSetAttribute", a->MatmulDescSetAttribute);
    need("hipblasLtMatrixLayoutCreate", a->MatrixLayoutCreate);
    need("hipblasLtMatrixLayoutDestroy", a->MatrixLayoutDestroy);
    need("hipblasLtMatmulPreferenceCreate", a->MatmulPreferenceCreate);
    need("hipblasLtMatmulPreferenceDestroy", a->MatmulPreferenceDestroy);
    need("hipblasLtMatmulPreferenceSetAttribute",
         a->MatmulPreferenceSetAttribute);
    need("hipblasLtMatmulAlgoGetHeuristic", a->MatmulAlgoGetHeuristic);
    need("hipblasLtMatmul", a->Matmul);
    if (Status st = dl.finish("hipBLASLt library (libhipblaslt)",
                              "ROCm 6.1 or newer needed");
        !st.isOk()) {
      return st;
    }
    // hipblasLtGetVersion needs a handle, and a handle needs a device: a
    // hipBLASLt that cannot make one is of no use here anyway.
    if (Result<const Driver *> d = Driver::get(); !d) {
      return unavailable("hipBLASLt (libhipblaslt) is installed but the HIP "
                         "runtime is not usable: " +
                         d.status().message());
    }
    void *h = nullptr;
    if (int r = a->Create(&h); r != 0) {
      return unavailable(fmt::format(
          "hipBLASLt (libhipblaslt) is installed but hipblasLtCreate failed "
          "({}); it needs a GPU the HIP runtime (ROCm) can use",
          statusName(r)));
    }
    int version = 0;
    int r = a->GetVersion(h, &version);
    a->Destroy(h);
    if (r != 0) {
      return unavailable(fmt::format(
          "hipBLASLt (libhipblaslt): hipblasLtGetVersion failed ({})",
          statusName(r)));
    }
    if (version < kMinVersion) {
      return unavailable(fmt::format(
          "hipBLASLt {}.{} (libhipblaslt) predates the hipDataType API ktune "
          "uses; install hipblaslt from ROCm 6.1 or newer",
          version / 100000, version / 100 % 1000));
    }
    auto *lib = new HipBlasLt();
    lib->api_ = a.release();
    lib->version_ = fmt::format("hipblaslt-{}", version);
    return lib;
  }();
  return loaded;
}

Result<std::unique_ptr<HipBlasLtGemm>>
HipBlasLtGemm::create(const Context &ctx, const GemmProblem &p,
                      int maxAlgorithms) {
  if (p.dtype != DType::BF16 && p.dtype != DType::F16) {
    return invalidArgument(fmt::format(
        "{}: the hipBLASLt baseline covers bf16 and f16 GEMMs", p.key()));
  }
  KT_RETURN_IF_ERROR(p.validate());
  KT_ASSIGN_OR_RETURN(const HipBlasLt *lib, HipBlasLt::get());
  const HipBlasLt::Api &a = lib->api();
  std::unique_ptr<HipBlasLtGemm> g(new HipBlasLtGemm());
  g->ctx_ = &ctx;
  g->lib_ = lib;
  g->key_ = p.key();
  auto check = [&](int r, const char *what) -> Status {
    return r == 0 ? Status::ok()
                  : internalError(fmt::format("{} failed for {} on hip:{} "
                                              "({})",
                                              what, p.key(), ctx.ordinal(),
                                              statusName(r)));
  };
  // A hipBLASLt handle belongs to the device current when it is created.
  KT_RETURN_IF_ERROR(ctx.makeCurrent());
  KT_RETURN_IF_ERROR(check(a.Create(&g->handle_), "hipblasLtCreate"));
  KT_RETURN_IF_ERROR(check(a.MatmulDescCreate(&g->desc_, kComputeF32, kR32F),
                           "hipblasLtMatmulDescCreate"));
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: our B
  // is hipBLASLt's A and our A its B.
  const int type = p.dtype == DType::BF16 ? kR16BF : kR16F;
  const int32_t opA = p.transB ? kOpT : kOpN;
  const int32_t opB = p.transA ? kOpT : kOpN;
  KT_RETURN_IF_ERROR(
      check(a.MatmulDescSetAttribute(g->desc_, kDescTransA, &opA, sizeof(opA)),
            "set HIPBLASLT_MATMUL_DESC_TRANSA"));
  KT_RETURN_IF_ERROR(
      check(a.MatmulDescSetAttribute(g->desc_, kDescTransB, &opB, sizeof(opB)),
            "set HIPBLASLT_MATMUL_DESC_TRANSB"));
  // Column-major shapes of the stored matrices (rows = the contiguous side).
  KT_RETURN_IF_ERROR(check(
      a.MatrixLayoutCreate(&g->layoutA_, type, uint64_t(p.transB ? p.k : p.n),
                           uint64_t(p.transB ? p.n : p.k), p.ldb),
      "hipblasLtMatrixLayoutCreate (B)"));
  KT_RETURN_IF_ERROR(check(
      a.MatrixLayoutCreate(&g->layoutB_, type, uint64_t(p.transA ? p.m : p.k),
                           uint64_t(p.transA ? p.k : p.m), p.lda),
      "hipblasLtMatrixLayoutCreate (A)"));
  // C and D: the inputs' type, or f32 for f32out (hipBLASLt's 32F compute
  // with 16-bit A/B and 32F C/D).
  const int cType = p.outF32 ? kR32F : type;
  KT_RETURN_IF_ERROR(
      check(a.MatrixLayoutCreate(&g->layoutC_, cType, uint64_t(p.n),
                                 uint64_t(p.m), p.ldc),
            "hipblasLtMatrixLayoutCreate (C)"));
  void *pref = nullptr;
  KT_RETURN_IF_ERROR(check(a.MatmulPreferenceCreate(&pref),
                           "hipblasLtMatmulPreferenceCreate"));
  const uint64_t workspace = kWorkspace;
  int r = a.MatmulPreferenceSetAttribute(pref, kPrefMaxWorkspace, &workspace,
                                         sizeof(workspace));
  std::vector<HeuristicResult> found(size_t(std::max(1, maxAlgorithms)));
  int returned = 0;
  if (r == 0) {
    r = a.MatmulAlgoGetHeuristic(g->handle_, g->desc_, g->layoutA_, g->layoutB_,
                                 g->layoutC_, g->layoutC_, pref,
                                 int(found.size()), found.data(), &returned);
  }
  a.MatmulPreferenceDestroy(pref);
  KT_RETURN_IF_ERROR(check(r, "hipblasLtMatmulAlgoGetHeuristic"));
  bool needsWorkspace = false;
  for (int i = 0; i < std::min(returned, int(found.size())); ++i) {
    const HeuristicResult &h = found[size_t(i)];
    if (h.state == 0) {
      Algo algo;
      std::copy(std::begin(h.algo.data), std::end(h.algo.data), algo.data);
      algo.maxWorkspaceBytes = h.algo.maxWorkspaceBytes;
      needsWorkspace |= h.workspaceSize > 0 || algo.maxWorkspaceBytes > 0;
      g->algos_.push_back(algo);
    }
  }
  if (g->algos_.empty()) {
    return unavailable(
        fmt::format("hipBLASLt has no algorithm for {} on hip:{} ({})", p.key(),
                    ctx.ordinal(), ctx.info().gcnArchName));
  }
  // hipblasLtMatmul uses min(workspace given, the algorithm's
  // max_workspace_bytes, which the heuristic sets to the preference): one
  // buffer of the preference's size serves every algorithm.
  if (needsWorkspace) {
    KT_ASSIGN_OR_RETURN(g->workspace_, ctx.alloc(kWorkspace));
  }
  return g;
}

HipBlasLtGemm::~HipBlasLtGemm() {
  if (!lib_) {
    return;
  }
  const HipBlasLt::Api &a = lib_->api();
  (void)ctx_->makeCurrent();
  for (void *l : {layoutA_, layoutB_, layoutC_}) {
    if (l) {
      a.MatrixLayoutDestroy(l);
    }
  }
  if (desc_) {
    a.MatmulDescDestroy(desc_);
  }
  if (handle_) {
    a.Destroy(handle_);
  }
}

Status HipBlasLtGemm::run(int index, uint64_t a, uint64_t b, uint64_t c,
                          float alpha, float beta, void *stream) const {
  if (index < 0 || index >= int(algos_.size())) {
    return invalidArgument(fmt::format("hipBLASLt algorithm {} of {} for {}",
                                       index, algos_.size(), key_));
  }
  static_assert(sizeof(Algo) == 24, "hipblasLtMatmulAlgo_t is 24 bytes");
  const Algo &algo = algos_[size_t(index)];
  const HipBlasLt::Api &api = lib_->api();
  KT_RETURN_IF_ERROR(ctx_->makeCurrent());
  // Our B is hipBLASLt's A (see create()).
  int r = api.Matmul(
      handle_, desc_, &alpha, reinterpret_cast<void *>(b), layoutA_,
      reinterpret_cast<void *>(a), layoutB_, &beta, reinterpret_cast<void *>(c),
      layoutC_, reinterpret_cast<void *>(c), layoutC_, &algo,
      reinterpret_cast<void *>(workspace_.ptr()), workspace_.bytes(), stream);
  if (r != 0) {
    return internalError(fmt::format(
        "hipblasLtMatmul (algorithm {}) failed for {} on hip:{} ({}); "
        "synchronize and check the device for a fault",
        index, key_, ctx_->ordinal(), statusName(r)));
  }
  return Status::ok();
}

} // namespace kt::hip
