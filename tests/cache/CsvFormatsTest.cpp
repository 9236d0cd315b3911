// Tests for exporting and importing results as TunableOp and ktune CSV.
#include "ktune/cache/CsvFormats.h"

#include "CacheTestUtil.h"

#include "ktune/problem/GemmProblem.h"

#include <limits>

using namespace kt;
using kt::test::makeRecord;
using kt::test::TempDir;

namespace {

std::unique_ptr<ResultsStore> mustOpen(const std::string &path) {
  Result<std::unique_ptr<ResultsStore>> s = openSqliteStore(path);
  INFO(s.status().toString());
  REQUIRE(s.isOk());
  return std::move(s).value();
}

CsvReport mustImport(ResultsStore &store, const std::string &path,
                     const std::string &defaultTarget = "") {
  Result<CsvReport> r = importCsv(store, path, defaultTarget);
  INFO(r.status().toString());
  REQUIRE(r.isOk());
  return std::move(r).value();
}

bool startsWith(const std::string &s, const std::string &prefix) {
  return s.rfind(prefix, 0) == 0;
}

} // namespace

TEST_CASE("TunableOp export then import gives the same winners", "[cache]") {
  TempDir dir;
  auto src = mustOpen(dir.file("src.db"));
  const char *keys[] = {"gemm_f32_NT_16x4096x4096_ld_4096_4096_4096",
                        "gemm_f16_NN_32x64x16_ld_16_64_64",
                        "gemm_bf16_TN_8x8x8_ld_8_8_8",
                        "gemm_f64_TT_2x3x4_ld_2_4_3"};
  double t = 0.125;
  for (const char *key : keys) {
    REQUIRE(src->put(makeRecord(key, "kc=256;mr=6;nr=16", t * 3)).isOk());
    REQUIRE(src->put(makeRecord(key, "kc=128;mr=4;nr=8", t)).isOk());
    t = t * 1.7 + 1.0 / 3.0;
  }
  TuningRecord otherTarget = makeRecord(keys[0], "mr=1", 0.01);
  otherTarget.target = "zz:other";
  REQUIRE(src->put(otherTarget).isOk());
  TuningRecord attention = makeRecord("attn_f16_whatever", "mr=1", 0.01);
  attention.op = "attention";
  REQUIRE(src->put(attention).isOk());
  // TunableOp has no f32-output GEMM: such winners are left out.
  REQUIRE(
      src->put(makeRecord("gemm_bf16_f32out_TN_8x8x8_ld_8_8_8", "mr=1", 0.01))
          .isOk());

  std::string csv = dir.file("tunableop_results0.csv");
  REQUIRE(exportTunableOp(*src, csv).isOk());
  std::string text = test::readBytes(csv);
  CHECK(startsWith(text, "Validator,KTUNE_VERSION,0.1.0\n"
                         "Validator,KTUNE_TARGET,cpu\n"
                         "Validator,KTUNE_DEVICE,Test CPU 9000\n"));
  CHECK(text.find("GemmTunableOp_float_TN,tn_4096_16_4096_ld_4096_4096_4096,"
                  "ktune:cpu.gemm.mlir:kc=128;mr=4;nr=8,") !=
        std::string::npos);
  CHECK(text.find("zz:other") == std::string::npos);
  CHECK(text.find("attn_") == std::string::npos);
  CHECK(text.find("mr=1,") == std::string::npos);

  auto dst = mustOpen(dir.file("dst.db"));
  CsvReport report = mustImport(*dst, csv, "ignored-default");
  INFO((report.errors.empty() ? "" : report.errors.front()));
  CHECK(report.errors.empty());
  CHECK(report.accepted == 4);
  for (const char *key : keys) {
    auto a = src->winner(key, "cpu", "");
    auto b = dst->winner(key, "cpu", "");
    REQUIRE(a.isOk());
    REQUIRE(b.isOk());
    REQUIRE(a->has_value());
    REQUIRE(b->has_value());
    CHECK((*b)->templateName == (*a)->templateName);
    CHECK((*b)->params == (*a)->params);
    CHECK((*b)->timeMs == (*a)->timeMs);
    CHECK((*b)->deviceModel == "Test CPU 9000");
    CHECK((*b)->status == "ok");
  }
}

TEST_CASE("TunableOp import skips foreign solutions and bad lines", "[cache]") {
  TempDir dir;
  std::string csv = dir.file("tunableop_results1.csv");
  test::writeBytes(
      csv,
      "Validator,PT_VERSION,2.5.0\n"                                      // 1
      "Validator,ROCBLAS_VERSION,4.3.0\n"                                 // 2
      "GemmTunableOp_float_NT,nt_64_32_16,Gemm_Rocblas_477365,0.0123\n"   // 3
      "GemmTunableOp_float_NN,nn_64_32_16,Default,0.02\n"                 // 4
      "GemmTunableOp_float_TN,tn_64_32_16,ktune:cpu.gemm.mlir:mr=4,0.5\n" // 5
      "GemmTunableOp_float_TN,tn_64_32_16,ktune:cpu.gemm.mlir:mr=4,abc\n" // 6
      "GemmTunableOp_Float8_e4m3fn_TN,tn_16_16_16,ktune:x:mr=1,0.1\n"     // 7
      "GemmTunableOp_float_NN,nn_8_8_8\n"                                 // 8
      "GemmTunableOp_float_NN,nn_8_8_8,ktune:cpu.gemm.mlir:mr,0.1\n"      // 9
      "GemmTunableOp_Half_TT,tt_8_8_8,ktune:cpu.gemm.mlir:mr=2,0.25\n");  // 10
  auto store = mustOpen(dir.file("results.db"));
  CsvReport report = mustImport(*store, csv, "cpu");
  CHECK(report.accepted == 2);
  REQUIRE(report.errors.size() == 6);
  const std::pair<int, const char *> expected[] = {
      {3, "not a ktune solution"}, {4, "'Default'"}, {6, "'abc'"},
      {7, "Float8_e4m3fn"},        {8, "untuned"},   {9, "'mr'"}};
  for (size_t i = 0; i < report.errors.size(); ++i) {
    INFO(report.errors[i]);
    CHECK(startsWith(report.errors[i],
                     csv + ":" + std::to_string(expected[i].first) + ": "));
    CHECK(report.errors[i].find(expected[i].second) != std::string::npos);
  }
  Result<GemmProblem> p =
      parseTunableOpGemm("GemmTunableOp_float_TN", "tn_64_32_16");
  REQUIRE(p.isOk());
  auto w = store->winner(p->key(), "cpu", "");
  REQUIRE(w.isOk());
  REQUIRE(w->has_value());
  CHECK((*w)->params == "mr=4");
  CHECK((*w)->timeMs == 0.5);
  CHECK((*w)->deviceModel.empty());

  // Without KTUNE_TARGET and without a default target nothing is guessed.
  auto none = importCsv(*store, csv, "");
  REQUIRE_FALSE(none.isOk());
  CHECK(none.status().message().find("KTUNE_TARGET") != std::string::npos);
}

TEST_CASE("ktune CSV round trip is exact", "[cache]") {
  TempDir dir;
  auto src = mustOpen(dir.file("src.db"));
  TuningRecord a = makeRecord("gemm_f32_NN_64x64x64_ld_64_64_64",
                              "kc=256;mr=6;nr=16", 1.0 / 3.0);
  a.message = "note, with \"quotes\"\nand a newline";
  a.deviceModel = "Vendor CPU, rev \"B\"";
  a.dispersion = 1e-300;
  a.maxError = std::numeric_limits<double>::infinity();
  a.warmMs = 0.1 + 0.2;
  a.iterations = (int64_t(1) << 40) + 3;
  a.createdUnix = -5;
  TuningRecord b =
      makeRecord("gemm_bf16_f32out_TN_8x8x8_ld_8_8_8", "mr=2", 2e-5);
  b.target = "hip:gfx950";
  b.templateHash = "";
  b.maxError = std::numeric_limits<double>::quiet_NaN();
  b.launch = "threads=256;smem=0;tile=64x64;grid=tiles;args=pointers";
  REQUIRE(src->put(a).isOk());
  REQUIRE(src->put(b).isOk());

  std::string csv = dir.file("results.csv");
  REQUIRE(exportKtuneCsv(*src, csv).isOk());
  CHECK(startsWith(test::readBytes(csv),
                   "problem_key,op,target,template_name,template_hash,params,"
                   "status,message,time_ms,dispersion,warm_ms,iterations,"
                   "max_error,device_model,device_features,"
                   "compiler_fingerprint,binary_hash,created_unix,launch\n"));

  auto dst = mustOpen(dir.file("dst.db"));
  CsvReport report = mustImport(*dst, csv);
  CHECK(report.errors.empty());
  CHECK(report.accepted == 2);
  auto before = src->winners();
  auto after = dst->winners();
  REQUIRE(before.isOk());
  REQUIRE(after.isOk());
  REQUIRE(after->size() == before->size());
  for (size_t i = 0; i < before->size(); ++i) {
    test::requireSameRecord((*after)[i], (*before)[i]);
  }

  // Importing a slower copy does not change the winner.
  REQUIRE(exportKtuneCsv(*dst, csv).isOk());
  CHECK(mustImport(*dst, csv).accepted == 2);
  CHECK(dst->measurements(a.problemKey, "cpu")->size() == 2);
  CHECK(dst->winner(a.problemKey, "cpu", "")->value().timeMs == a.timeMs);
}

TEST_CASE("Malformed ktune CSV lines are reported, the rest imported",
          "[cache]") {
  TempDir dir;
  auto src = mustOpen(dir.file("src.db"));
  REQUIRE(
      src->put(makeRecord("gemm_f32_NN_4x4x4_ld_4_4_4", "mr=1", 1.0)).isOk());
  REQUIRE(
      src->put(makeRecord("gemm_f32_NN_8x8x8_ld_8_8_8", "mr=1", 1.0)).isOk());
  std::string csv = dir.file("results.csv");
  REQUIRE(exportKtuneCsv(*src, csv).isOk());
  std::string text = test::readBytes(csv);
  size_t firstEnd = text.find('\n');
  size_t secondEnd = text.find('\n', firstEnd + 1);
  std::string header = text.substr(0, firstEnd + 1);
  std::string row1 = text.substr(firstEnd + 1, secondEnd - firstEnd);
  std::string row2 = text.substr(secondEnd + 1);
  std::string badNumber = row1;
  badNumber.replace(badNumber.find(",1,"), 3, ",fast,");
  std::string badKey = row1;
  badKey.replace(0, badKey.find(','), "gemm_f32_NN_0x4x4");
  test::writeBytes(csv, header + row1 + "# comment\n" + badNumber +
                            "too,few,fields\n" + badKey + "\n" + row2 +
                            "\"unterminated,quote\n");
  auto dst = mustOpen(dir.file("dst.db"));
  CsvReport report = mustImport(*dst, csv);
  for (const std::string &e : report.errors) {
    UNSCOPED_INFO(e);
  }
  CHECK(report.accepted == 2);
  REQUIRE(report.errors.size() == 4);
  CHECK(startsWith(report.errors[0], csv + ":4: "));
  CHECK(report.errors[0].find("time_ms 'fast'") != std::string::npos);
  CHECK(startsWith(report.errors[1], csv + ":5: expected 19 fields"));
  CHECK(startsWith(report.errors[2], csv + ":6: "));
  CHECK(report.errors[2].find("M=0") != std::string::npos);
  CHECK(startsWith(report.errors[3], csv + ":9: unterminated"));
  CHECK(dst->winners()->size() == 2);
}

TEST_CASE("Unknown CSV formats and missing files are errors", "[cache]") {
  TempDir dir;
  auto store = mustOpen(dir.file("results.db"));
  std::string csv = dir.file("weird.csv");
  test::writeBytes(csv, "a,b,c\n1,2,3\n");
  auto r = importCsv(*store, csv, "cpu");
  REQUIRE_FALSE(r.isOk());
  CHECK(startsWith(r.status().message(), csv + ":1: unrecognised CSV"));

  auto missing = importCsv(*store, dir.file("none.csv"), "cpu");
  REQUIRE_FALSE(missing.isOk());
  CHECK(missing.status().code() == StatusCode::NotFound);

  auto unwritable = exportKtuneCsv(*store, dir.file("no/dir/out.csv"));
  CHECK_FALSE(unwritable.isOk());
  CHECK(unwritable.message().find("no/dir/out.csv") != std::string::npos);
}
