// The AMD families compiled for gfx950 and gfx942 on a machine with no AMD
// GPU or ROCm: hip.gemm.mfma with clang's device-only HIP compile and
// hip.gemm.mlir through MLIR's ROCDL lowering, the AMDGPU backend and
// ld.lld; every sampled configuration, every layout, bf16 and fp16. The
// disassembly holds the MFMA the chip and type call for; the code object's
// metadata shows wave64, no scratch, no spills, registers and LDS within the
// chip's limits, and an occupancy. hip.gemm.mfma's 32x32 blocks use the
// chip's 32x32 MFMA, its split-K kernels count slices in with a device-scope
// atomic between an L2 writeback and invalidate, and unroll=2 compiles; with
// an f32 C every C store is a 32-bit one, with no bf16 / f16 rounding.
// Nothing here runs an AMD kernel.
#include "ktune/compiler/HipCompiler.h"
#include "ktune/templates/gemm/HipGemmMfma.h"
#include "ktune/templates/gemm/HipGemmMlir.h"
#include "support/CountText.h"
#include "support/GemmProblems.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <string_view>

using namespace kt;

namespace {
Config cfg(int64_t bm, int64_t bn, int64_t wm, int64_t wn, int64_t bk) {
  return {{"bm", bm}, {"bn", bn}, {"wm", wm},
          {"wn", wn}, {"bk", bk}, {"pad", 8}};
}

Config with(Config c, int64_t mi, int64_t splitk, int64_t unroll) {
  c.set("mi", mi);
  c.set("splitk", splitk);
  c.set("unroll", unroll);
  return c;
}

/// Compiles hip.gemm.mfma's `c` for `p` and checks what every configuration
/// must show: wave64, no scratch or spills, registers within the file, the
/// LDS and workgroup size the configuration computes, an occupancy of at
/// least one wave per SIMD. Returns the disassembly.
std::string compileMfma(HipCompiler &compiler, const Config &c,
                        const GemmProblem &p) {
  HipGemmMfma t;
  const std::string arch = compiler.target().arch;
  INFO(arch << " " << p.key() << " " << c.toString());
  REQUIRE(t.validate(c, p, compiler.target()).isOk());
  auto src = t.instantiate(c, p, compiler.target());
  REQUIRE(src.isOk());
  auto bin = compiler.compile(*src, c.toString() + p.key());
  INFO(bin.status().toString());
  REQUIRE(bin.isOk());
  const HipResources &r = bin->resources;
  REQUIRE(r.wavefrontSize == 64);
  REQUIRE(r.scratchBytes == 0);
  REQUIRE(r.vgprSpills == 0);
  REQUIRE(r.sgprSpills == 0);
  REQUIRE(r.vgprs <= 512); // VGPRs and AGPRs together
  REQUIRE(r.agprs <= r.vgprs);
  REQUIRE(r.ldsBytes == HipGemmMfma::ldsBytes(c));
  REQUIRE(r.ldsBytes <= HipGemmMfma::ldsLimit(arch));
  REQUIRE(r.maxFlatWorkgroupSize ==
          (c.get("bm") / c.get("wm")) * (c.get("bn") / c.get("wn")) * 64);
  REQUIRE(r.occupancy(arch) >= 1);
  auto dis = compiler.disassemble(bin->codeObject);
  REQUIRE(dis.isOk());
  REQUIRE_THAT(*dis, Catch::Contains("s_barrier"));
  return *dis;
}

using test::count;
} // namespace

TEST_CASE("sampled MFMA configurations compile for gfx950 and gfx942") {
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
          const std::string dis = compileMfma(*compiler, c, p);
          const std::string ty = dt == DType::BF16 ? "bf16" : "f16";
          const std::string mfma = std::string(arch) == "gfx950"
                                       ? "v_mfma_f32_16x16x32_" + ty
                                       : "v_mfma_f32_16x16x16_" + ty;
          REQUIRE_THAT(dis, Catch::Contains(mfma));
          REQUIRE_THAT(dis, !Catch::Contains("global_atomic"));
        }
      }
    }
  }
}

TEST_CASE("32x32 MFMA configurations use the chip's 32x32 MFMA") {
  for (const char *arch : {"gfx950", "gfx942"}) {
    auto compiler =
        HipCompiler::create(*parseTarget(std::string("hip:") + arch), "");
    INFO(compiler.status().toString());
    REQUIRE(compiler.isOk());
    // gfx942's 64 KiB of LDS holds two 128 x 128 stages of bk = 32.
    const int64_t bk = std::string(arch) == "gfx950" ? 64 : 32;
    const Config sample[] = {with(cfg(128, 128, 64, 64, bk), 32, 1, 1),
                             with(cfg(64, 256, 32, 64, 32), 32, 1, 2)};
    for (DType dt : {DType::BF16, DType::F16}) {
      for (const char *layout : {"NT", "TN"}) {
        for (const Config &c : sample) {
          GemmProblem p = test::gemmProblem(layout, 1000, 1000, 4096, dt);
          p.lda = p.transA ? 1000 : 4096;
          p.ldb = p.transB ? 4096 : 1000;
          p.ldc = 1000;
          const std::string dis = compileMfma(*compiler, c, p);
          // llvm-objdump spells gfx942's v_mfma_f32_32x32x8bf16_1k
          // v_mfma_f32_32x32x8_bf16.
          const std::string ty = dt == DType::BF16 ? "bf16" : "f16";
          const std::string mfma = std::string(arch) == "gfx950"
                                       ? "v_mfma_f32_32x32x16_" + ty
                                       : "v_mfma_f32_32x32x8_" + ty;
          INFO(arch << " " << p.key() << " " << c.toString());
          REQUIRE_THAT(dis, Catch::Contains(mfma));
          REQUIRE_THAT(dis, !Catch::Contains("v_mfma_f32_16x16"));
        }
      }
    }
  }
}

TEST_CASE("split-K MFMA kernels count slices in with a device-scope atomic") {
  HipGemmMfma t;
  for (const char *arch : {"gfx950", "gfx942"}) {
    auto compiler =
        HipCompiler::create(*parseTarget(std::string("hip:") + arch), "");
    REQUIRE(compiler.isOk());
    for (DType dt : {DType::BF16, DType::F16}) {
      // 16 x 4096 x 4096: the default splits K 8 ways; a 32x32-block,
      // unroll=2 variant splits it 4 ways.
      GemmProblem p = test::gemmProblem(dt == DType::BF16 ? "NT" : "TN", 16,
                                        4096, 4096, dt);
      const Config d = t.defaultConfig(p, compiler->target());
      REQUIRE(d.get("splitk") == 8);
      for (const Config &c : {d, with(cfg(32, 128, 32, 32, 32), 32, 4, 2)}) {
        INFO(arch << " " << p.key() << " " << c.toString());
        auto src = t.instantiate(c, p, compiler->target());
        REQUIRE(src.isOk());
        REQUIRE_THAT(
            src->launch,
            Catch::EndsWith(";split=" + std::to_string(c.get("splitk")) +
                            ";sems=1"));
        const std::string dis = compileMfma(*compiler, c, p);
        // The partial tile is written back past the L2 (release at agent
        // scope) before the semaphore's atomic add, and the last slice
        // invalidates before it reads the other partials (acquire).
        REQUIRE_THAT(dis, Catch::Contains("global_atomic_add"));
        REQUIRE_THAT(dis, Catch::Contains("buffer_wbl2"));
        REQUIRE_THAT(dis, Catch::Contains("buffer_inv"));
        REQUIRE(dis.find("buffer_wbl2") < dis.find("global_atomic_add"));
        REQUIRE(dis.find("global_atomic_add") < dis.rfind("buffer_inv"));
      }
    }
  }
}

TEST_CASE("MFMA kernels with an f32 C store it with 32-bit stores and no "
          "16-bit rounding") {
  HipGemmMfma t;
  for (const char *arch : {"gfx950", "gfx942"}) {
    auto compiler =
        HipCompiler::create(*parseTarget(std::string("hip:") + arch), "");
    REQUIRE(compiler.isOk());
    for (DType dt : {DType::BF16, DType::F16}) {
      // The plain epilogue (16x16 blocks; 32x32 blocks with unroll=2) and
      // the split-K one (the skinny default; 32x32, split 4, unroll=2).
      struct Sample {
        GemmProblem p;
        Config c;
      };
      std::vector<Sample> samples;
      GemmProblem big = test::gemmProblem("NT", 1000, 1000, 4096, dt);
      samples.push_back({big, with(cfg(128, 128, 64, 64, 32), 16, 1, 1)});
      big = test::gemmProblem("TN", 1000, 1000, 4096, dt);
      samples.push_back({big, with(cfg(64, 256, 32, 64, 32), 32, 1, 2)});
      GemmProblem skinny = test::gemmProblem("NT", 16, 4096, 4096, dt);
      skinny.outF32 = true;
      samples.push_back({skinny, t.defaultConfig(skinny, compiler->target())});
      REQUIRE(samples.back().c.get("splitk") == 8);
      skinny = test::gemmProblem("TN", 16, 4096, 4096, dt);
      samples.push_back({skinny, with(cfg(32, 128, 32, 32, 32), 32, 4, 2)});
      for (Sample &s : samples) {
        GemmProblem f32 = s.p, narrow = s.p;
        f32.outF32 = true;
        narrow.outF32 = false;
        INFO(arch << " " << f32.key() << " " << s.c.toString());
        REQUIRE(t.supports(f32, compiler->target()));
        auto src = t.instantiate(s.c, f32, compiler->target());
        REQUIRE(src.isOk());
        REQUIRE_THAT(src->text, Catch::Contains("float *__restrict__ C,"));
        if (s.c.get("splitk") > 1) {
          REQUIRE_THAT(
              src->launch,
              Catch::EndsWith(";split=" + std::to_string(s.c.get("splitk")) +
                              ";sems=1"));
        }
        // Its 16-bit twin stores C with global_store_short, rounded (bf16:
        // v_bfe_u32 per element, round to nearest even; f16:
        // v_cvt_f16_f32).
        const std::string wide = compileMfma(*compiler, s.c, f32);
        const std::string twin = compileMfma(*compiler, s.c, narrow);
        const std::string store32 = "global_store_dword ";
        const char *round = dt == DType::BF16 ? "v_bfe_u32" : "v_cvt_f16_f32";
        REQUIRE(count(twin, "global_store_short") > 0);
        // Each 16-bit C store became one 32-bit store (the split-K twin
        // has one already: the semaphore's reset).
        REQUIRE(count(wide, store32) ==
                count(twin, store32) + count(twin, "global_store_short"));
        // (global_store_short also matches its _d16_hi form.)
        REQUIRE_THAT(wide, !Catch::Contains("global_store_short"));
        REQUIRE_THAT(wide, !Catch::Contains("global_store_byte"));
        // No bf16 pack or f16 conversion left in the epilogue.
        REQUIRE_THAT(wide, !Catch::Contains("v_cvt_pk_bf16_f32"));
        REQUIRE_THAT(wide, !Catch::Contains("v_cvt_f16_f32"));
        REQUIRE(count(wide, round) + count(twin, "global_store_short") <=
                count(twin, round));
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
          REQUIRE(r.vgprs <= 512); // VGPRs and AGPRs together
          REQUIRE(r.agprs <= r.vgprs);
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

TEST_CASE("a clang compile past its time limit is stopped and named") {
  auto compiler =
      HipCompiler::create(*parseTarget("hip:gfx950"), "", HipFrontend::Clang);
  REQUIRE(compiler.isOk());
  // Clang's start and the HIP headers alone take far longer than 10 ms.
  compiler->setClangTimeout(0.01);
  auto bin = compiler->compile(
      {"hip", "extern \"C\" __attribute__((global)) void kt_gemm() {}",
       "kt_gemm", ""},
      "slow");
  REQUIRE_FALSE(bin.isOk());
  REQUIRE(bin.status().code() == StatusCode::DeadlineExceeded);
  REQUIRE_THAT(bin.status().message(), Catch::Contains("did not finish"));
  compiler->setClangTimeout(0);
  REQUIRE(
      compiler
          ->compile({"hip",
                     "extern \"C\" __attribute__((global)) void kt_gemm() {}",
                     "kt_gemm", ""},
                    "quick")
          .isOk());
}
