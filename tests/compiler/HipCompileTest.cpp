// The AMD families compiled for gfx950 and gfx942 on a machine with no AMD
// GPU or ROCm: hip.gemm.mfma with clang's device-only HIP compile and
// hip.gemm.mlir through MLIR's ROCDL lowering, the AMDGPU backend and
// ld.lld; every sampled configuration, every layout, bf16 and fp16. The
// disassembly holds the MFMA the chip and type call for; the code object's
// metadata shows wave64, no scratch, no spills, registers and LDS within the
// chip's limits, and an occupancy. Nothing here runs an AMD kernel.
#include "ktune/compiler/HipCompiler.h"
#include "ktune/templates/gemm/HipGemmMfma.h"
#include "ktune/templates/gemm/HipGemmMlir.h"
#include "support/GemmProblems.h"

#include <catch2/catch.hpp>

#include <cstdio>

using namespace kt;

namespace {
Config cfg(int64_t bm, int64_t bn, int64_t wm, int64_t wn, int64_t bk) {
  return {{"bm", bm}, {"bn", bn}, {"wm", wm},
          {"wn", wn}, {"bk", bk}, {"pad", 8}};
}
} // namespace

TEST_CASE("sampled MFMA configurations compile for gfx950 and gfx942") {
  HipGemmMfma t;
  for (const char *arch : {"gfx950", "gfx942"}) {
    auto compiler =
        HipCompiler::create(*parseTarget(std::string("hip:") + arch), "");
    INFO(compiler.status().toString());
    REQUIRE(compiler.isOk());
    const Config sample[] = {cfg(128, 128, 64, 64, 32),
                             cfg(32, 128, 32, 32, 64),
                             cfg(64, 256, 32, 64, 32)};
    for (DType dt : {DType::BF16, DType::F16}) {
      for (const char *layout : {"NN", "NT", "TN", "TT"}) {
        for (const Config &c : sample) {
          GemmProblem p = test::gemmProblem(layout, 1000, 1000, 4096, dt);
          p.lda = p.transA ? 1000 : 4096;
          p.ldb = p.transB ? 4096 : 1000;
          p.ldc = 1000;
          INFO(arch << " " << p.key() << " " << c.toString());
          REQUIRE(t.validate(c, p, compiler->target()).isOk());
          auto src = t.instantiate(c, p, compiler->target());
          REQUIRE(src.isOk());
          auto bin = compiler->compile(*src, c.toString() + p.key());
          INFO(bin.status().toString());
          REQUIRE(bin.isOk());
          auto dis = compiler->disassemble(bin->codeObject);
          REQUIRE(dis.isOk());
          const std::string ty = dt == DType::BF16 ? "bf16" : "f16";
          const std::string mfma = std::string(arch) == "gfx950"
                                       ? "v_mfma_f32_16x16x32_" + ty
                                       : "v_mfma_f32_16x16x16_" + ty;
          REQUIRE_THAT(*dis, Catch::Contains(mfma));
          REQUIRE_THAT(*dis, Catch::Contains("s_barrier"));
          const HipResources &r = bin->resources;
          REQUIRE(r.wavefrontSize == 64);
          REQUIRE(r.scratchBytes == 0);
          REQUIRE(r.vgprSpills == 0);
          REQUIRE(r.sgprSpills == 0);
          REQUIRE(r.vgprs + r.agprs <= 512);
          REQUIRE(r.ldsBytes == HipGemmMfma::ldsBytes(c));
          REQUIRE(r.ldsBytes <= HipGemmMfma::ldsLimit(arch));
          REQUIRE(r.maxFlatWorkgroupSize == (c.get("bm") / c.get("wm")) *
                                                (c.get("bn") / c.get("wn")) *
                                                64);
          REQUIRE(r.occupancy(arch) >= 1);
        }
      }
    }
  }
}

TEST_CASE("sampled MLIR MFMA configurations lower through ROCDL to code "
          "objects") {
  HipGemmMlir t;
  for (const char *arch : {"gfx950", "gfx942"}) {
    auto compiler =
        HipCompiler::create(*parseTarget(std::string("hip:") + arch), "");
    REQUIRE(compiler.isOk());
    const int64_t km = std::string(arch) == "gfx950" ? 32 : 16;
    const Config sample[] = {
        {{"bm", 128}, {"bn", 128}, {"wm", 64}, {"wn", 64}, {"bk", 2 * km}},
        {{"bm", 32}, {"bn", 64}, {"wm", 16}, {"wn", 32}, {"bk", km}}};
    for (DType dt : {DType::BF16, DType::F16}) {
      for (const char *layout : {"NN", "NT", "TN", "TT"}) {
        for (const Config &c : sample) {
          GemmProblem p = test::gemmProblem(layout, 200, 300, 100, dt);
          INFO(arch << " " << p.key() << " " << c.toString());
          auto src = t.instantiate(c, p, compiler->target());
          REQUIRE(src.isOk());
          REQUIRE(src->language == "mlir");
          auto bin = compiler->compile(*src, c.toString() + p.key());
          INFO(bin.status().toString());
          REQUIRE(bin.isOk());
          auto dis = compiler->disassemble(bin->codeObject);
          REQUIRE(dis.isOk());
          const std::string ty = dt == DType::BF16 ? "bf16" : "f16";
          REQUIRE_THAT(*dis, Catch::Contains("v_mfma_f32_16x16x" +
                                             std::to_string(km) + "_" + ty));
          const HipResources &r = bin->resources;
          REQUIRE(r.wavefrontSize == 64);
          REQUIRE(r.scratchBytes == 0);
          REQUIRE(r.vgprSpills == 0);
          REQUIRE(r.vgprs + r.agprs <= 512);
          REQUIRE(r.ldsBytes ==
                  (c.get("bm") + c.get("bn")) * (c.get("bk") + 8) * 2);
        }
      }
    }
  }
}

TEST_CASE("a HIP source that does not compile returns clang's messages") {
  auto compiler = HipCompiler::create(*parseTarget("hip:gfx950"), "");
  REQUIRE(compiler.isOk());
  auto bin = compiler->compile(
      {"hip", "extern \"C\" __attribute__((global)) void kt_gemm() { oops(); }",
       "kt_gemm", ""},
      "broken");
  REQUIRE_FALSE(bin.isOk());
  REQUIRE_THAT(bin.status().message(), Catch::Contains("oops"));
  REQUIRE_THAT(bin.status().message(), Catch::Contains("gfx950"));
  auto notElf = readHipMetadata("not an ELF file", "kt_gemm");
  REQUIRE_FALSE(notElf.isOk());
}
