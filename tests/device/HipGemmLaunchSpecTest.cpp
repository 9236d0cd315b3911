// The launch descriptions of the AMD GEMM families round-trip, size their
// grids and split-K scratch, and malformed text is refused with the field
// named. (Launching needs a HIP device; see the HIP driver tests.)
#include "ktune/drivers/hip/HipGemmLaunch.h"

#include <catch2/catch.hpp>

using namespace kt;

TEST_CASE("a HIP GEMM launch description round-trips through its text") {
  hip::GemmLaunchSpec s;
  s.threads = 256;
  s.ldsBytes = 69632;
  s.tileM = s.tileN = 128;
  REQUIRE(s.toString() ==
          "threads=256;lds=69632;tile=128x128;grid=tiles;args=hip-pointers");
  auto back = hip::parseGemmLaunchSpec(s.toString());
  REQUIRE(back.isOk());
  REQUIRE(back->toString() == s.toString());
  REQUIRE(back->args == hip::GemmLaunchSpec::Args::Dims);
  s.split = 4;
  s.semaphoresPerTile = 1;
  auto split = hip::parseGemmLaunchSpec(s.toString());
  REQUIRE(split.isOk());
  REQUIRE(split->split == 4);
  REQUIRE(split->toString() == s.toString());
  auto mlir = hip::parseGemmLaunchSpec(
      "threads=256;lds=32768;tile=64x64;grid=tiles;args=pointers");
  REQUIRE(mlir.isOk());
  REQUIRE(mlir->args == hip::GemmLaunchSpec::Args::Static);
}

TEST_CASE("HIP GEMM grids and split-K scratch follow the tiles") {
  auto s = *hip::parseGemmLaunchSpec(
      "threads=256;lds=1;tile=32x128;grid=tiles;args=hip-pointers;split=8;"
      "sems=1");
  GemmProblem p;
  p.dtype = DType::BF16;
  p.m = 16;
  p.n = 4100;
  p.k = 4096;
  p.setDefaultLeadingDims();
  // One tile row, 33 tile columns, 8 K slices each.
  REQUIRE(hip::gemmGridSize(s, p) == 33 * 8);
  REQUIRE(hip::gemmSemaphores(s, p) == 33);
  REQUIRE(hip::gemmWorkspaceBytes(s, p) == uint64_t(33) * 8 * 32 * 128 * 4);
  s.split = 1;
  REQUIRE(hip::gemmGridSize(s, p) == 33);
  REQUIRE(hip::gemmWorkspaceBytes(s, p) == 0);
  REQUIRE(hip::gemmSemaphores(s, p) == 0);
}

TEST_CASE("malformed HIP GEMM launch descriptions name the problem") {
  auto badThreads = hip::parseGemmLaunchSpec(
      "threads=2048;lds=0;tile=64x64;grid=tiles;args=hip-pointers");
  REQUIRE_THAT(badThreads.status().message(), Catch::Contains("threads=2048"));
  auto persistent = hip::parseGemmLaunchSpec(
      "threads=256;lds=0;tile=64x64;grid=persistent;args=hip-pointers");
  REQUIRE_THAT(persistent.status().message(),
               Catch::Contains("grid=persistent"));
  auto missing = hip::parseGemmLaunchSpec("threads=256;tile=64x64");
  REQUIRE_THAT(missing.status().message(), Catch::Contains("lacks a field"));
  auto noSems = hip::parseGemmLaunchSpec(
      "threads=256;lds=0;tile=64x64;grid=tiles;args=hip-pointers;split=2");
  REQUIRE_THAT(noSems.status().message(), Catch::Contains("sems"));
  auto staticSplit = hip::parseGemmLaunchSpec(
      "threads=256;lds=0;tile=64x64;grid=tiles;args=pointers;split=2;sems=1");
  REQUIRE_THAT(staticSplit.status().message(),
               Catch::Contains("args=hip-pointers"));
}
