// Tests for merging results files.
#include "ktune/cache/Merge.h"

#include "CacheTestUtil.h"

#include "ktune/cache/ResultsStore.h"

using namespace kt;
using kt::test::makeRecord;
using kt::test::TempDir;

namespace {

const std::string kKey = "gemm_bf16_NT_16x4096x4096_ld_4096_4096_4096";

std::unique_ptr<ResultsStore> open(const std::string &path) {
  auto s = openSqliteStore(path);
  INFO(s.status().toString());
  REQUIRE(s.isOk());
  return std::move(s).value();
}

TuningRecord gpuRecord(const std::string &model, const std::string &params,
                       double ms, const std::string &hash) {
  TuningRecord r = makeRecord(kKey, params, ms);
  r.target = "cuda:sm_90a";
  r.deviceModel = model;
  r.binaryHash = hash;
  r.launch = "threads=384;smem=1;tile=128x128;box_a=128x64;box_b=128x64;"
             "grid=persistent";
  return r;
}

} // namespace

TEST_CASE("merging keeps each machine's winner and the faster of one "
          "machine's",
          "[cache]") {
  TempDir dir;
  auto h100 = open(dir.file("h100.db"));
  auto h200 = open(dir.file("h200.db"));
  auto out = open(dir.file("all.db"));
  REQUIRE(h100->putBinary("h1", "cuda:sm_90a", std::string("A\0B", 3)).isOk());
  REQUIRE(h100->put(gpuRecord("H100", "bn=128", 2.0, "h1")).isOk());
  REQUIRE(h200->putBinary("h2", "cuda:sm_90a", "CD").isOk());
  REQUIRE(h200->put(gpuRecord("H200", "bn=256", 1.5, "h2")).isOk());
  REQUIRE(h200->put(gpuRecord("H100", "bn=64", 1.0, "missing")).isOk());
  REQUIRE(h200->putMisses({{kKey, "cuda:sm_90a", "H200", 7, 10, 20}}).isOk());

  auto r1 = mergeResults(*out, *h100);
  REQUIRE(r1.isOk());
  CHECK(r1->newWinners == 1);
  CHECK(r1->binaries == 1);
  auto r2 = mergeResults(*out, *h200);
  REQUIRE(r2.isOk());
  CHECK(r2->winners == 2);
  CHECK(r2->newWinners == 2); // H200's own, and a faster H100 result.
  CHECK(r2->binaries == 1);
  REQUIRE(r2->warnings.size() == 1);
  CHECK(r2->warnings[0].find("missing") != std::string::npos);
  CHECK(r2->misses == 1);

  auto h100Win = out->winner(kKey, "cuda:sm_90a", "H100");
  REQUIRE(h100Win->has_value());
  CHECK((*h100Win)->params == "bn=64");
  auto h200Win = out->winner(kKey, "cuda:sm_90a", "H200");
  REQUIRE(h200Win->has_value());
  CHECK((*h200Win)->params == "bn=256");
  CHECK((*h200Win)->launch == gpuRecord("", "", 0, "").launch);
  CHECK(out->getBinary("h1")->value() == std::string("A\0B", 3));
  CHECK(out->getBinary("h2")->value() == "CD");
  // The slower H100 result stays as a measurement (provenance kept).
  CHECK(out->measurements(kKey, "cuda:sm_90a")->size() == 3);

  // Merging again changes nothing, misses included.
  auto again = mergeResults(*out, *h200);
  REQUIRE(again.isOk());
  CHECK(again->duplicates == 2);
  CHECK(again->newWinners == 0);
  CHECK(out->measurements(kKey, "cuda:sm_90a")->size() == 3);
  auto misses = out->misses();
  REQUIRE(misses->size() == 1);
  CHECK((*misses)[0].count == 7);
}
