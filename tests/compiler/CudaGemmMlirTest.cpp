// cuda.gemm.mlir through MLIR's NVVM lowering and nvJitLink, without a GPU:
// sampled configurations compile for sm_90a and sm_100a (every layout, bf16
// and fp16) into mma.sync m16n8k16 code within the chips' limits
// (CudaGemmMlirRunTest.cpp runs them on a GPU). Skipped where the CUDA
// toolkit's NVRTC or nvJitLink is absent.
#include "ktune/templates/gemm/CudaGemmMlir.h"
#include "ktune/compiler/MlirGpu.h"
#include "ktune/compiler/NvJitLink.h"
#include "support/CudaGemmCompile.h"
#include "support/MlirCudaCompiler.h"

using namespace kt;

TEST_CASE("sampled MLIR GEMM configurations compile for sm_90a and sm_100a") {
  CudaGemmMlir t;
  for (const char *target : {"cuda:sm_90a", "cuda:sm_100a"}) {
    auto compiler = test::mlirCompiler(target);
    if (!compiler) {
      return;
    }
    const Config sample[] = {test::mlirCfg(128, 128, 64, 32, 32),
                             test::mlirCfg(32, 128, 32, 32, 64),
                             test::mlirCfg(64, 64, 16, 64, 16)};
    for (DType dt : {DType::BF16, DType::F16}) {
      for (const char *layout : {"NN", "NT", "TN", "TT"}) {
        for (const Config &c : sample) {
          GemmProblem p = test::sampledCudaProblem(layout, dt);
          INFO(target << " " << p.key() << " " << c.toString());
          const int threads = int((c.get("bm") / c.get("wm")) *
                                  (c.get("bn") / c.get("wn")) * 32);
          // Static shared memory only: the A and B tiles, 48 KiB at most.
          CudaKernelBinary bin =
              test::compileWithinLimits(*compiler, t, c, p, threads, 48 * 1024);
          const char *ty = dt == DType::BF16 ? "bf16" : "f16";
          REQUIRE_THAT(bin.ptx,
                       Catch::Contains(std::string("mma.sync.aligned.m16n8k16."
                                                   "row.col.f32.") +
                                       ty + "." + ty + ".f32"));
          test::sassContains(bin, "HMMA\\.16816\\.F32");
        }
      }
    }
  }
}

TEST_CASE("MLIR GEMM kernels with an f32 C store f32 on sm_90a and sm_100a") {
  CudaGemmMlir t;
  for (const char *target : {"cuda:sm_90a", "cuda:sm_100a"}) {
    auto compiler = test::mlirCompiler(target);
    if (!compiler) {
      return;
    }
    const Config sample[] = {test::mlirCfg(128, 128, 64, 32, 32),
                             test::mlirCfg(32, 128, 32, 32, 64)};
    for (DType dt : {DType::BF16, DType::F16}) {
      for (const char *layout : {"NN", "NT", "TN", "TT"}) {
        for (const Config &c : sample) {
          GemmProblem p = test::sampledCudaProblem(layout, dt);
          p.outF32 = true;
          INFO(target << " " << p.key() << " " << c.toString());
          const int threads = int((c.get("bm") / c.get("wm")) *
                                  (c.get("bn") / c.get("wn")) * 32);
          CudaKernelBinary bin =
              test::compileWithinLimits(*compiler, t, c, p, threads, 48 * 1024);
          const char *ty = dt == DType::BF16 ? "bf16" : "f16";
          REQUIRE_THAT(bin.ptx,
                       Catch::Contains(std::string("mma.sync.aligned.m16n8k16."
                                                   "row.col.f32.") +
                                       ty + "." + ty + ".f32"));
          // C element-wise as 32-bit values (f32 or b32 per the NVPTX
          // backend), old C read the same way for beta; no rounding to and
          // no 16-bit access of C (A and B are read as 16-bit elements, so
          // only stores are checked for width).
          REQUIRE(
              std::regex_search(bin.ptx, std::regex(R"(st\.global\.(f|b)32)")));
          REQUIRE(
              std::regex_search(bin.ptx, std::regex(R"(ld\.global\.(f|b)32)")));
          for (const char *narrow : {"cvt.rn.bf16", "cvt.rn.f16",
                                     "st.global.b16", "st.global.u16"}) {
            REQUIRE_THAT(bin.ptx, !Catch::Contains(narrow));
          }
        }
      }
    }
    // The check tells the two apart: a 16-bit C is rounded and stored as
    // 16-bit elements.
    GemmProblem narrow = test::sampledCudaProblem("NT", DType::BF16);
    CudaKernelBinary bin = test::compileWithinLimits(*compiler, t, sample[0],
                                                     narrow, 256, 48 * 1024);
    REQUIRE(std::regex_search(bin.ptx, std::regex(R"(st\.global\.(b|u)16)")));
    REQUIRE_THAT(bin.ptx, Catch::Contains("cvt.rn.bf16"));
  }
}

TEST_CASE("an MLIR GEMM source that fails to lower says where") {
  auto compiler = test::mlirCompiler("cuda:sm_90a");
  if (!compiler) {
    return;
  }
  KernelSource bad{"mlir", "module { func.func @f() { %x = undefined.op } }",
                   "kt_gemm", ""};
  auto bin = compiler->compile(bad, "broken");
  REQUIRE_FALSE(bin.isOk());
  REQUIRE_THAT(bin.status().message(), Catch::Contains("MLIR"));
}
