// Tests for checkRecord(): provenance validation of tuning records.
#include "ktune/cache/TuningRecord.h"

#include "CacheTestUtil.h"

using namespace kt;

TEST_CASE("checkRecord compares the validators that are set", "[cache]") {
  TuningRecord r = test::makeRecord("gemm_f32_NN_4x4x4_ld_4_4_4", "mr=4", 1.0);
  Validators v{"cpu", "Test CPU 9000", "avx2,fma", "mlir-22"};
  CHECK(checkRecord(r, v).empty());

  Validators loose{"cpu", "", "", ""};
  CHECK(checkRecord(r, loose).empty());

  Validators otherTarget{"cuda:sm_90a", "", "", ""};
  std::string why = checkRecord(r, otherTarget);
  CHECK(why.find("recorded on 'cpu', this machine is 'cuda:sm_90a'") !=
        std::string::npos);

  Validators otherCpu{"cpu", "Other CPU", "avx2,avx512f,fma", "mlir-23"};
  why = checkRecord(r, otherCpu);
  CHECK(why.find("'Test CPU 9000', this machine is 'Other CPU'") !=
        std::string::npos);
  CHECK(why.find("'avx2,fma', this machine is 'avx2,avx512f,fma'") !=
        std::string::npos);
  CHECK(why.find("compiler fingerprint") != std::string::npos);

  Validators noCompiler{"cpu", "Test CPU 9000", "avx2,fma", ""};
  CHECK(checkRecord(r, noCompiler).empty());
}

TEST_CASE("CPU lookups accept records tuned with a subset of the features",
          "[cache]") {
  // The record's code uses at most avx2 and fma: it runs on a host that
  // also reports avx512bf16, not on one that lacks fma.
  TuningRecord r = test::makeRecord("gemm_f32_NN_4x4x4_ld_4_4_4", "mr=4", 1.0);
  Validators more{"cpu", "Test CPU 9000", "avx,avx2,avx512bf16,fma", "", true};
  Validators fewer{"cpu", "Test CPU 9000", "avx,avx2", "", true};
  r.deviceFeatures = "avx2,fma";
  CHECK(featuresFit(r, more));
  CHECK(checkRecord(r, more).empty());
  CHECK_FALSE(featuresFit(r, fewer));
  CHECK(checkRecord(r, fewer).find("device features") != std::string::npos);
  // Whole names only: "avx" in the record is not "avx2" on the host.
  r.deviceFeatures = "avx512";
  CHECK_FALSE(featuresFit(r, more));
  r.deviceFeatures = "";
  CHECK(featuresFit(r, more));
  // Without featureSubset (the tuner; GPUs' SM counts) they must be equal.
  r.deviceFeatures = "avx2,fma";
  Validators exact = more;
  exact.featureSubset = false;
  CHECK_FALSE(featuresFit(r, exact));
  exact.deviceFeatures = "avx2,fma";
  CHECK(featuresFit(r, exact));
}
