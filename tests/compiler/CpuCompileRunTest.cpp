// The whole CPU path for real: template -> MLIR pipeline -> shared object
// -> dlopen -> run, checked against OpenBLAS, for every layout and ragged
// sizes; and the binary cache.
#include "ktune/compiler/CpuCompiler.h"
#include "ktune/compiler/HostCodegen.h"
#include "ktune/templates/gemm/CpuGemmDotMlir.h"
#include "ktune/templates/gemm/CpuGemmMlir.h"
#include "ktune/tuner/CpuKernel.h"
#include "ktune/tuner/GemmBench.h"
#include "support/GemmProblems.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

using namespace kt;

using test::gemmProblem;

namespace {

/// Specialises `t` for `p` (default configuration with `overrides`),
/// compiles it, runs it and checks it against OpenBLAS.
void requireMatchesOpenBlas(const GemmTemplate &t, const GemmProblem &p,
                            const Config &overrides, CpuDevice &device,
                            const CpuCompiler &compiler, uint64_t seed) {
  Config cfg = t.defaultConfig(p, device.target());
  for (const auto &[k, v] : overrides.values()) {
    cfg.set(k, v);
  }
  INFO(p.key() << " " << cfg.toString());
  auto src = t.instantiate(cfg, p, device.target());
  INFO(src.status().toString());
  REQUIRE(src.isOk());
  auto bin = compiler.compile(*src, p.key());
  INFO(bin.status().toString());
  REQUIRE(bin.isOk());
  auto loaded = loadGemm(device, bin->bytes);
  REQUIRE(loaded.isOk());
  auto err = checkGemm(loaded->runner(device), p, seed);
  INFO(err.status().toString());
  REQUIRE(err.isOk());
  REQUIRE(*err <= 1.0);
}

} // namespace

TEST_CASE("CPU GEMM kernels match OpenBLAS for every layout and odd sizes") {
  CpuDevice device(2);
  CpuCompiler compiler(device.target(), "");
  CpuGemmMlir t;
  struct Case {
    const char *layout;
    int64_t m, n, k;
    Config overrides;
  };
  std::vector<Case> cases = {
      {"NN", 100, 70, 50, {}},
      {"NN", 100, 70, 50, {{"pack", 0}, {"packb", 0}}},
      {"TN", 45, 77, 33, {{"pack", 1}, {"packb", 0}, {"order", 1}}},
      {"NT", 37, 45, 300, {{"kc", 128}, {"ku", 4}}},
      {"TN", 1, 77, 33, {{"pack", 0}}},
      {"TT", 61, 19, 129, {{"order", 1}, {"kc", 64}}},
      {"NN", 33, 130, 65, {{"pack", 1}, {"ku", 2}}},
  };
  for (const Case &c : cases) {
    GemmProblem p = gemmProblem(c.layout, c.m, c.n, c.k);
    if (c.layout == std::string("NT")) {
      p.lda = p.k + 3; // Non-packed leading dimension.
    }
    requireMatchesOpenBlas(t, p, c.overrides, device, compiler, 7);
  }
}

TEST_CASE("dot-product NT kernels match OpenBLAS for odd sizes") {
  CpuDevice device(2);
  CpuCompiler compiler(device.target(), "");
  CpuGemmDotMlir t;
  struct Case {
    int64_t m, n, k;
    Config overrides;
  };
  const int64_t vw = device.target().hasFeature("avx512f") ? 16 : 8;
  std::vector<Case> cases = {
      {1, 77, 64, {}},
      {5, 100, 96, {{"kc", 32}, {"ku", 2}, {"order", 0}}},
      {37, 29, 48, {{"mr", 2}, {"nr", 3}, {"mc", 6}, {"nc", 9}}},
      {16, 130, 256, {{"kc", 64}, {"ku", 4}, {"vw", vw}}},
      {40,
       85,
       512,
       {{"kc", 256},
        {"ku", 4},
        {"mr", 2},
        {"nr", 5},
        {"mc", 32},
        {"nc", 40},
        {"vw", 8}}},
  };
  for (const Case &c : cases) {
    GemmProblem p = gemmProblem("NT", c.m, c.n, c.k);
    p.lda = p.k + 5; // Leading dimensions that are not the packed ones.
    p.ldb = p.k + 16;
    p.ldc = p.n + 1;
    requireMatchesOpenBlas(t, p, c.overrides, device, compiler, 11);
  }
}

TEST_CASE("the binary cache makes a second compile free") {
  auto dir = std::filesystem::temp_directory_path() /
             ("ktune-bincache-" + std::to_string(::getpid()));
  CpuDevice device(1);
  CpuCompiler compiler(device.target(), dir.string());
  CpuGemmMlir t;
  GemmProblem p = gemmProblem("NN", 24, 32, 16);
  auto src =
      t.instantiate(t.defaultConfig(p, device.target()), p, device.target());
  REQUIRE(src.isOk());
  auto first = compiler.compile(*src, "id");
  REQUIRE(first.isOk());
  REQUIRE_FALSE(first->fromCache);
  auto second = compiler.compile(*src, "id");
  REQUIRE(second.isOk());
  REQUIRE(second->fromCache);
  REQUIRE(second->hash == first->hash);
  std::filesystem::remove_all(dir);
}

TEST_CASE("emit prints each stage") {
  CpuDevice device(1);
  CpuCompiler compiler(device.target(), "");
  CpuGemmMlir t;
  GemmProblem p = gemmProblem("NN", 16, 16, 16);
  auto src =
      t.instantiate(t.defaultConfig(p, device.target()), p, device.target());
  REQUIRE(src.isOk());
  auto sched = compiler.emit(*src, EmitStage::Scheduled);
  REQUIRE(sched.isOk());
  REQUIRE_THAT(*sched, !Catch::Contains("transform.named_sequence"));
  REQUIRE_THAT(*sched, Catch::Contains("vector.fma"));
  auto ir = compiler.emit(*src, EmitStage::LlvmIr);
  REQUIRE(ir.isOk());
  REQUIRE_THAT(*ir, Catch::Contains("define void @kt_gemm(ptr"));
  auto bad = src.value();
  bad.text = "this is not mlir";
  REQUIRE_FALSE(compiler.compile(bad, "x").isOk());
}

TEST_CASE("host code is generated for the features the host reports") {
  // The CPU name implies its model's features; a hypervisor may hide some
  // (AVX-512 on a Zen 4 guest). Each ISA extension the runtime sees as
  // missing must be turned off explicitly, or the kernels die of SIGILL.
  const std::string fp = hostCodegenFingerprint();
  const size_t at = fp.find("features=");
  REQUIRE(at != std::string::npos);
  std::vector<std::string> flags;
  std::stringstream list(fp.substr(at + 9));
  for (std::string f; std::getline(list, f, ',');) {
    flags.push_back(f);
  }
  auto has = [&](const std::string &f) {
    return std::find(flags.begin(), flags.end(), f) != flags.end();
  };
  const TargetDesc host = TargetDesc::host();
  for (const char *f : {"avx", "fma", "avx2", "avx512f", "avx512dq", "avx512bw",
                        "avx512vl", "avx512bf16"}) {
    INFO(f << " in " << fp);
    CHECK(has((host.hasFeature(f) ? "+" : "-") + std::string(f)));
  }
}
