// A measurement worker (CUDA or HIP) that cannot start (a missing binary;
// no driver or runtime on this machine) is a clear error returned at once,
// never a hang, a crash or a silently empty result.
#include "ktune/drivers/cuda/CudaDriver.h"
#include "ktune/drivers/hip/HipDriver.h"
#include "ktune/tuner/GpuWorker.h"
#include "support/GemmProblems.h"

#include <catch2/catch.hpp>

using namespace kt;

namespace {
std::vector<Config> twoConfigs() {
  return {{{"bm", 128}, {"bn", 128}, {"stages", 4}, {"cons", 2}, {"group", 8}},
          {{"bm", 64}, {"bn", 256}, {"stages", 4}, {"cons", 1}, {"group", 1}}};
}
} // namespace

TEST_CASE("a CUDA worker that cannot start is reported, not waited for") {
  GemmProblem p = test::gemmProblem("NT", 256, 256, 256, DType::BF16);
  int calls = 0;
  auto count = [&](const GpuCandidateResult &) {
    ++calls;
    return Status::ok();
  };
  GpuWorkerOptions missing;
  missing.worker = "/nonexistent/ktune-cuda-worker";
  auto r = measureInWorker(missing, p.key(), "cuda.gemm.sm90", twoConfigs(), 0,
                           count);
  REQUIRE_FALSE(r.isOk());
  REQUIRE_THAT(r.status().message(), Catch::Contains("missing"));

  if (cuda::Driver::get().isOk()) {
    return; // The rest is about machines without a driver.
  }
  GpuWorkerOptions real;
  real.worker = KT_CUDA_WORKER_EXE;
  auto none =
      measureInWorker(real, p.key(), "cuda.gemm.sm90", twoConfigs(), 0, count);
  REQUIRE_FALSE(none.isOk());
  REQUIRE(none.status().code() == StatusCode::Unavailable);
  REQUIRE_THAT(none.status().message(), Catch::Contains("could not start"));
  REQUIRE_THAT(none.status().message(), Catch::Contains("CUDA driver"));
  REQUIRE(calls == 0);
}

TEST_CASE("a HIP worker that cannot start is reported, not waited for") {
  GemmProblem p = test::gemmProblem("NT", 256, 256, 256, DType::BF16);
  int calls = 0;
  auto count = [&](const GpuCandidateResult &) {
    ++calls;
    return Status::ok();
  };
  const std::vector<Config> configs = {
      {{"bm", 128}, {"bn", 128}, {"wm", 64}, {"wn", 64}, {"bk", 32}}};
  if (hip::Driver::get().isOk()) {
    return; // About machines without a HIP runtime.
  }
  GpuWorkerOptions real;
  real.worker = KT_HIP_WORKER_EXE;
  real.prebuiltDir = "/nonexistent";
  auto none =
      measureInWorker(real, p.key(), "hip.gemm.mfma", configs, 0, count);
  REQUIRE_FALSE(none.isOk());
  REQUIRE(none.status().code() == StatusCode::Unavailable);
  REQUIRE_THAT(none.status().message(), Catch::Contains("could not start"));
  REQUIRE_THAT(none.status().message(), Catch::Contains("libamdhip64"));
  REQUIRE(calls == 0);
  // Without the prebuilt folder the HIP worker refuses before anything.
  GpuWorkerOptions noPrebuilt;
  noPrebuilt.worker = KT_HIP_WORKER_EXE;
  auto refused =
      measureInWorker(noPrebuilt, p.key(), "hip.gemm.mfma", configs, 0, count);
  REQUIRE_FALSE(refused.isOk());
  REQUIRE_THAT(refused.status().message(), Catch::Contains("--prebuilt"));
  REQUIRE(calls == 0);
}
