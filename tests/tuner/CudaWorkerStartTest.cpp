// A CUDA measurement worker that cannot start (a missing binary; no driver
// on this machine) is a clear error returned at once, never a hang, a crash
// or a silently empty result.
#include "ktune/drivers/cuda/CudaDriver.h"
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
