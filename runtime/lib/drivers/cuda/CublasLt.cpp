#include "ktune/drivers/cuda/CublasLt.h"

#include "CublasLtApi.h"
#include "ktune/base/DynamicLibrary.h"

#include <fmt/format.h>

namespace kt::cuda {

struct CublasLt::Api {
  void *handle = nullptr;
  int (*Create)(void **) = nullptr;
  int (*Destroy)(void *) = nullptr;
  size_t (*GetVersion)() = nullptr;
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
                                void *, int, lt::HeuristicResult *,
                                int *) = nullptr;
  int (*Matmul)(void *, void *, const void *, const void *, void *,
                const void *, void *, const void *, const void *, void *,
                void *, void *, const void *, void *, size_t, void *) = nullptr;
};

Result<const CublasLt *> CublasLt::get() {
  static Result<const CublasLt *> loaded = []() -> Result<const CublasLt *> {
    KT_ASSIGN_OR_RETURN(
        DynamicLibrary dl,
        DynamicLibrary::openFirst({"libcublasLt.so.13", "libcublasLt.so.12",
                                   "/usr/local/cuda/lib64/libcublasLt.so.13",
                                   "/usr/local/cuda/lib64/libcublasLt.so.12"},
                                  "cuBLASLt",
                                  "install the CUDA toolkit's cuBLAS to "
                                  "compare with the vendor library"));
    auto *a = new Api();
    a->handle = dl.handle();
    auto need = [&](const char *name, auto &fn) { dl.need(name, fn); };
    need("cublasLtCreate", a->Create);
    need("cublasLtDestroy", a->Destroy);
    need("cublasLtGetVersion", a->GetVersion);
    need("cublasLtMatmulDescCreate", a->MatmulDescCreate);
    need("cublasLtMatmulDescDestroy", a->MatmulDescDestroy);
    need("cublasLtMatmulDescSetAttribute", a->MatmulDescSetAttribute);
    need("cublasLtMatrixLayoutCreate", a->MatrixLayoutCreate);
    need("cublasLtMatrixLayoutDestroy", a->MatrixLayoutDestroy);
    need("cublasLtMatmulPreferenceCreate", a->MatmulPreferenceCreate);
    need("cublasLtMatmulPreferenceDestroy", a->MatmulPreferenceDestroy);
    need("cublasLtMatmulPreferenceSetAttribute",
         a->MatmulPreferenceSetAttribute);
    need("cublasLtMatmulAlgoGetHeuristic", a->MatmulAlgoGetHeuristic);
    need("cublasLtMatmul", a->Matmul);
    if (Status st = dl.finish("cuBLASLt library", "CUDA 12 or newer needed");
        !st.isOk()) {
      delete a;
      return st;
    }
    auto *lib = new CublasLt();
    lib->api_ = a;
    lib->version_ = fmt::format("cublasLt-{}", a->GetVersion());
    return lib;
  }();
  return loaded;
}

Result<std::unique_ptr<CublasLtGemm>> CublasLtGemm::create(const Context &ctx,
                                                           const GemmProblem &p,
                                                           int maxAlgorithms) {
  if (p.dtype != DType::BF16 && p.dtype != DType::F16) {
    return invalidArgument(fmt::format(
        "{}: the cuBLASLt baseline covers bf16 and f16 GEMMs", p.key()));
  }
  KT_ASSIGN_OR_RETURN(const CublasLt *lib, CublasLt::get());
  const CublasLt::Api &a = lib->api();
  std::unique_ptr<CublasLtGemm> g(new CublasLtGemm());
  g->ctx_ = &ctx;
  g->lib_ = lib;
  auto check = [&](int r, const char *what) -> Status {
    return r == 0 ? Status::ok()
                  : internalError(fmt::format("{} failed for {} (cublasStatus "
                                              "{})",
                                              what, p.key(), r));
  };
  // cuBLASLt works in the calling thread's current context.
  KT_RETURN_IF_ERROR(ctx.makeCurrent());
  KT_RETURN_IF_ERROR(check(a.Create(&g->handle_), "cublasLtCreate"));
  KT_RETURN_IF_ERROR(
      check(a.MatmulDescCreate(&g->desc_, lt::kComputeF32, lt::kR32F),
            "cublasLtMatmulDescCreate"));
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: our B
  // is cuBLASLt's A and our A its B.
  const int type = p.dtype == DType::BF16 ? lt::kR16BF : lt::kR16F;
  const int opA = p.transB ? lt::kOpT : lt::kOpN;
  const int opB = p.transA ? lt::kOpT : lt::kOpN;
  KT_RETURN_IF_ERROR(check(
      a.MatmulDescSetAttribute(g->desc_, lt::kDescTransA, &opA, sizeof(opA)),
      "set TRANSA"));
  KT_RETURN_IF_ERROR(check(
      a.MatmulDescSetAttribute(g->desc_, lt::kDescTransB, &opB, sizeof(opB)),
      "set TRANSB"));
  // Column-major shapes of the stored matrices (rows = the contiguous side).
  KT_RETURN_IF_ERROR(check(
      a.MatrixLayoutCreate(&g->layoutA_, type, uint64_t(p.transB ? p.k : p.n),
                           uint64_t(p.transB ? p.n : p.k), p.ldb),
      "layout A"));
  KT_RETURN_IF_ERROR(check(
      a.MatrixLayoutCreate(&g->layoutB_, type, uint64_t(p.transA ? p.m : p.k),
                           uint64_t(p.transA ? p.k : p.m), p.lda),
      "layout B"));
  // C and D: the inputs' type, or f32 for f32out (the f32 accumulation
  // stored unrounded; cuBLASLt's 32F compute with 16-bit A/B and 32F C/D).
  const int cType = p.outF32 ? lt::kR32F : type;
  KT_RETURN_IF_ERROR(
      check(a.MatrixLayoutCreate(&g->layoutC_, cType, uint64_t(p.n),
                                 uint64_t(p.m), p.ldc),
            "layout C"));
  void *pref = nullptr;
  KT_RETURN_IF_ERROR(
      check(a.MatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate"));
  const uint64_t workspace = uint64_t(32) << 20;
  a.MatmulPreferenceSetAttribute(pref, lt::kPrefMaxWorkspace, &workspace,
                                 sizeof(workspace));
  std::vector<lt::HeuristicResult> found(size_t(std::max(1, maxAlgorithms)));
  int returned = 0;
  int r = a.MatmulAlgoGetHeuristic(g->handle_, g->desc_, g->layoutA_,
                                   g->layoutB_, g->layoutC_, g->layoutC_, pref,
                                   int(found.size()), found.data(), &returned);
  a.MatmulPreferenceDestroy(pref);
  KT_RETURN_IF_ERROR(check(r, "cublasLtMatmulAlgoGetHeuristic"));
  size_t maxWorkspace = 0;
  for (int i = 0; i < returned; ++i) {
    if (found[size_t(i)].state == 0) {
      Algo algo;
      std::copy(std::begin(found[size_t(i)].algo),
                std::end(found[size_t(i)].algo), algo.data);
      algo.workspace = found[size_t(i)].workspaceSize;
      maxWorkspace = std::max(maxWorkspace, algo.workspace);
      g->algos_.push_back(algo);
    }
  }
  if (g->algos_.empty()) {
    return unavailable(
        fmt::format("cuBLASLt has no algorithm for {}", p.key()));
  }
  if (maxWorkspace > 0) {
    KT_ASSIGN_OR_RETURN(g->workspace_, ctx.alloc(maxWorkspace));
  }
  return g;
}

CublasLtGemm::~CublasLtGemm() {
  if (!lib_) {
    return;
  }
  const CublasLt::Api &a = lib_->api();
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

Status CublasLtGemm::run(int index, uint64_t a, uint64_t b, uint64_t c,
                         float alpha, float beta, void *stream) const {
  if (index < 0 || index >= int(algos_.size())) {
    return invalidArgument(
        fmt::format("cuBLASLt algorithm {} of {}", index, algos_.size()));
  }
  const Algo &algo = algos_[size_t(index)];
  const CublasLt::Api &api = lib_->api();
  KT_RETURN_IF_ERROR(ctx_->makeCurrent());
  // Our B is cuBLASLt's A (see create()).
  int r = api.Matmul(
      handle_, desc_, &alpha, reinterpret_cast<void *>(b), layoutA_,
      reinterpret_cast<void *>(a), layoutB_, &beta, reinterpret_cast<void *>(c),
      layoutC_, reinterpret_cast<void *>(c), layoutC_, algo.data,
      reinterpret_cast<void *>(workspace_.ptr()), algo.workspace, stream);
  if (r != 0) {
    return internalError(
        fmt::format("cublasLtMatmul failed (cublasStatus {})", r));
  }
  return Status::ok();
}

} // namespace kt::cuda
