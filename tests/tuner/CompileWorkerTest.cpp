// Compiling candidates in a worker process: a real compile through the ktune
// executable, a compile killed at its timeout, and a missing worker.
#include "ktune/tuner/CompileWorker.h"
#include "ktune/templates/gemm/CpuGemmMlir.h"
#include "ktune/tuner/CpuKernel.h"
#include "ktune/tuner/GemmBench.h"
#include "support/GemmProblems.h"

#include <catch2/catch.hpp>

using namespace kt;

namespace {
KernelSource source(const CpuDevice &device, GemmProblem &p) {
  p = test::gemmProblem("NN", 45, 37, 29);
  CpuGemmMlir t;
  auto src =
      t.instantiate(t.defaultConfig(p, device.target()), p, device.target());
  REQUIRE(src.isOk());
  return *src;
}
} // namespace

TEST_CASE("a worker process compiles a kernel that runs correctly") {
  CpuDevice device(1);
  CpuCompiler compiler(device.target(), "");
  GemmProblem p;
  KernelSource src = source(device, p);
  CompileLimits limits;
  limits.worker = KT_KTUNE_EXE;
  auto k = compileLimited(compiler, src, "worker-test", limits);
  INFO(k.status().toString());
  REQUIRE(k.isOk());
  auto loaded = loadGemm(device, k->bytes);
  REQUIRE(loaded.isOk());
  auto err = checkGemm(loaded->runner(device), p, 3);
  REQUIRE(err.isOk());
  REQUIRE(*err <= 1.0);
}

TEST_CASE("a compile past its timeout is killed and reported") {
  CpuDevice device(1);
  CpuCompiler compiler(device.target(), "");
  GemmProblem p;
  KernelSource src = source(device, p);
  CompileLimits limits;
  limits.worker = KT_KTUNE_EXE;
  limits.timeoutSeconds = 0.001;
  auto k = compileLimited(compiler, src, "timeout-test", limits);
  REQUIRE_FALSE(k.isOk());
  REQUIRE_THAT(k.status().message(), Catch::Contains("did not finish"));
}

TEST_CASE("a compile error and a missing worker are reported") {
  CpuDevice device(1);
  CpuCompiler compiler(device.target(), "");
  KernelSource bad{"mlir", "func.func @kt_gemm( {", "kt_gemm"};
  CompileLimits limits;
  limits.worker = KT_KTUNE_EXE;
  auto k = compileLimited(compiler, bad, "bad", limits);
  REQUIRE_FALSE(k.isOk());
  REQUIRE_THAT(k.status().message(), Catch::Contains("not valid MLIR"));
  limits.worker = "/nonexistent/ktune";
  auto m = compileLimited(compiler, bad, "bad", limits);
  REQUIRE_FALSE(m.isOk());
  REQUIRE_THAT(m.status().message(), Catch::Contains("could not run"));
}
