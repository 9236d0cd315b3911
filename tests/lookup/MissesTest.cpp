// Tests for what kt.h does around hits: per-entry validation of a results
// file, misses (counted, recorded in the file and a TunableOp CSV, reported),
// CSV results files, loading on first use, callers built against API 1.0,
// and exact counts under many threads.
#include "LookupTestUtil.h"

#include "kt/kt.h"
#include "ktune/cache/CsvFormats.h"
#include "ktune/cache/ResultsStore.h"
#include "ktune/problem/GemmProblem.h"

#include <catch2/catch.hpp>

#include <cstddef>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

using namespace kt::lookuptest;

namespace {

kt_context *openWith(kt_context_options &opts, const std::string &path) {
  opts.results_path = path.c_str();
  kt_context *ctx = nullptr;
  kt_status status = kt_context_create(&opts, &ctx);
  INFO(kt_context_last_error(nullptr));
  REQUIRE(status == KT_OK);
  return ctx;
}

kt_context_stats statsOf(const kt_context *ctx) {
  kt_context_stats s;
  s.struct_size = sizeof(s);
  REQUIRE(kt_context_get_stats(ctx, &s) == KT_OK);
  return s;
}

kt_status lookup(kt_context *ctx, int64_t m, int64_t n, int64_t k,
                 kt_kernel **out = nullptr) {
  kt_gemm_desc desc = gemmDesc(m, n, k);
  kt_kernel *kernel = nullptr;
  kt_status s = kt_gemm_lookup(ctx, &desc, &kernel);
  if (out) {
    *out = kernel;
  }
  return s;
}

/// The misses table as problem key -> count, for this machine's CPU model.
std::map<std::string, int64_t> recordedMisses(const std::string &path) {
  auto store = kt::openSqliteStore(path, /*readOnly=*/true);
  REQUIRE(store.isOk());
  auto misses = (*store)->misses();
  REQUIRE(misses.isOk());
  std::map<std::string, int64_t> out;
  for (const kt::MissRecord &m : *misses) {
    CHECK(m.target == "cpu");
    CHECK(m.deviceModel == kt::hostInfo().cpuModel);
    CHECK(m.firstUnix <= m.lastUnix);
    out[m.problemKey] = m.count;
  }
  return out;
}

std::string key(int64_t m, int64_t n, int64_t k) {
  return gemmProblem(m, n, k).key();
}

} // namespace

TEST_CASE("misses are counted, recorded and reported", "[lookup]") {
  TempDir dir;
  std::string path = dir.file("results.db");
  std::string csv = dir.file("untuned.csv");
  std::string report = dir.file("report.txt");
  writeResults(path);
  kt_context_options opts;
  kt_context_options_init(&opts);
  opts.misses_csv_path = csv.c_str();
  opts.report_path = report.c_str();
  kt_context *ctx = openWith(opts, path);

  const bool modelKnown = !kt::hostInfo().cpuModel.empty();
  kt_context_stats s = statsOf(ctx);
  CHECK(s.entries == 1);
  CHECK(s.skipped == (modelKnown ? 4 : 3) + (modelKnown ? 0 : 0));
  CHECK(s.other_targets == 0);
  CHECK(s.lookups == 0);

  for (int i = 0; i < 3; ++i) {
    CHECK(lookup(ctx, kM, kN, kK) == KT_OK);
  }
  for (int i = 0; i < 4; ++i) {
    CHECK(lookup(ctx, 50, 50, 50) == KT_NOT_FOUND);
  }
  CHECK(lookup(ctx, 24, 24, 24) == KT_NOT_FOUND);
  CHECK(lookup(ctx, 48, 48, 48) == KT_NOT_FOUND);
  s = statsOf(ctx);
  CHECK(s.hits == 3);
  CHECK(s.misses == 6);
  CHECK(s.fallbacks == 0);
  CHECK(s.lookups == 9);
  CHECK(s.missed_problems == 3);
  kt_context_destroy(ctx);

  std::map<std::string, int64_t> misses = recordedMisses(path);
  CHECK(misses.size() == 3);
  CHECK(misses[key(50, 50, 50)] == 4);
  CHECK(misses[key(24, 24, 24)] == 1);
  CHECK(misses[key(48, 48, 48)] == 1);

  // The CSV holds one TunableOp untuned line per missed problem.
  std::ifstream in(csv);
  std::string line;
  std::vector<std::string> keys;
  while (std::getline(in, line)) {
    auto p = kt::parseGemmProblem(line);
    INFO(line);
    REQUIRE(p.isOk());
    keys.push_back(p->key());
  }
  std::sort(keys.begin(), keys.end());
  CHECK(keys == std::vector<std::string>{key(24, 24, 24), key(48, 48, 48),
                                         key(50, 50, 50)});

  std::string text = readFile(report);
  INFO(text);
  CHECK_THAT(text, Catch::Contains("1 usable here"));
  CHECK_THAT(text, Catch::Contains("skipped 1: no stored code object"));
  CHECK_THAT(text, Catch::Contains("skipped 1: measured with other CPU "
                                   "features"));
  CHECK_THAT(text,
             Catch::Contains("skipped 1: code object missing or unloadable"));
  CHECK_THAT(text, Catch::Contains("lookups: 9 (3 hits, 0 fallbacks, 6 "
                                   "misses)"));
  CHECK_THAT(text, Catch::Contains(key(50, 50, 50) + " x4: no tuned result"));
}

TEST_CASE("flushing writes each miss once", "[lookup]") {
  TempDir dir;
  std::string path = dir.file("results.db");
  writeResults(path);
  kt_context_options opts;
  kt_context_options_init(&opts);
  kt_context *ctx = openWith(opts, path);
  CHECK(lookup(ctx, 50, 50, 50) == KT_NOT_FOUND);
  CHECK(lookup(ctx, 50, 50, 50) == KT_NOT_FOUND);
  REQUIRE(kt_context_flush_misses(ctx) == KT_OK);
  CHECK(recordedMisses(path)[key(50, 50, 50)] == 2);
  REQUIRE(kt_context_flush_misses(ctx) == KT_OK);
  CHECK(recordedMisses(path)[key(50, 50, 50)] == 2);
  CHECK(lookup(ctx, 50, 50, 50) == KT_NOT_FOUND);
  kt_context_destroy(ctx);
  CHECK(recordedMisses(path)[key(50, 50, 50)] == 3);

  SECTION("unless recording is off") {
    opts.record_misses = 0;
    ctx = openWith(opts, path);
    CHECK(lookup(ctx, 50, 50, 50) == KT_NOT_FOUND);
    REQUIRE(kt_context_flush_misses(ctx) == KT_OK);
    kt_context_destroy(ctx);
    CHECK(recordedMisses(path)[key(50, 50, 50)] == 3);
  }
  SECTION("a file that cannot be written keeps the counts") {
    std::string missing = dir.file("no-such-dir/untuned.csv");
    opts.record_misses = 0;
    opts.misses_csv_path = missing.c_str();
    ctx = openWith(opts, path);
    CHECK(lookup(ctx, 50, 50, 50) == KT_NOT_FOUND);
    CHECK(kt_context_flush_misses(ctx) == KT_UNAVAILABLE);
    CHECK_THAT(lastError(), Catch::Contains(missing));
    kt_context_destroy(ctx);
  }
}

TEST_CASE("CSV results files are read, without code objects", "[lookup]") {
  TempDir dir;
  std::string path = dir.file("results.db");
  writeResults(path);
  auto store = kt::openSqliteStore(path, /*readOnly=*/true);
  REQUIRE(store.isOk());
  std::string ktuneCsv = dir.file("results.csv");
  std::string tunableOp = dir.file("tunableop.csv");
  REQUIRE(kt::exportKtuneCsv(**store, ktuneCsv).isOk());
  REQUIRE(kt::exportTunableOp(**store, tunableOp).isOk());

  kt_context_options opts;
  kt_context_options_init(&opts);
  kt_context *ctx = openWith(opts, ktuneCsv);
  kt_context_stats s = statsOf(ctx);
  CHECK(s.entries == 0);
  CHECK(s.skipped == 5);
  CHECK(lookup(ctx, kM, kN, kK) == KT_NOT_FOUND);
  CHECK_THAT(lastError(), Catch::Contains("carries no code objects"));
  kt_context_destroy(ctx);

  ctx = openWith(opts, tunableOp);
  CHECK(lookup(ctx, kM, kN, kK) == KT_NOT_FOUND);
  CHECK_THAT(lastError(), Catch::Contains(key(kM, kN, kK)));
  kt_context_destroy(ctx);

  std::string garbage = dir.file("garbage.bin");
  std::ofstream(garbage) << "\x01\x02 not a results file\n";
  opts.results_path = garbage.c_str();
  ctx = nullptr;
  CHECK(kt_context_create(&opts, &ctx) == KT_UNAVAILABLE);
  CHECK(ctx == nullptr);
  CHECK_THAT(lastError(), Catch::Contains(garbage));
}

TEST_CASE("kernels can be loaded on first use", "[lookup]") {
  TempDir dir;
  std::string path = dir.file("results.db");
  writeResults(path);
  kt_context_options opts;
  kt_context_options_init(&opts);
  opts.load_on_first_use = 1;
  kt_context *ctx = openWith(opts, path);
  // Both winners with a code object count as usable until they are loaded.
  CHECK(statsOf(ctx).entries == 2);
  kt_kernel *first = nullptr, *again = nullptr;
  REQUIRE(lookup(ctx, kM, kN, kK, &first) == KT_OK);
  REQUIRE(lookup(ctx, kM, kN, kK, &again) == KT_OK);
  CHECK(first == again);
  CHECK(lookup(ctx, 40, 40, 40) == KT_NOT_FOUND);
  CHECK_THAT(lastError(), Catch::Contains("missing"));
  kt_context_destroy(ctx);
}

TEST_CASE("callers built against API 1.0 get the defaults", "[lookup]") {
  TempDir dir;
  std::string path = dir.file("results.db");
  writeResults(path);
  kt_context_options opts;
  kt_context_options_init(&opts);
  opts.struct_size =
      offsetof(kt_context_options, check_validators) + sizeof(int);
  opts.record_misses = 0; // Beyond the old size: must be ignored.
  kt_context *ctx = openWith(opts, path);
  kt_kernel *kernel = nullptr;
  REQUIRE(lookup(ctx, kM, kN, kK, &kernel) == KT_OK);
  kt_kernel_info info;
  info.struct_size = offsetof(kt_kernel_info, grid_n) + sizeof(int64_t);
  info.tuned_problem = nullptr;
  REQUIRE(kt_kernel_get_info(kernel, &info) == KT_OK);
  CHECK(info.tuned_problem == nullptr);
  info.struct_size = sizeof(info);
  REQUIRE(kt_kernel_get_info(kernel, &info) == KT_OK);
  CHECK(std::string(info.tuned_problem) == key(kM, kN, kK));
  CHECK(info.fallback == 0);
  CHECK(lookup(ctx, 50, 50, 50) == KT_NOT_FOUND);
  kt_context_destroy(ctx);
  CHECK(recordedMisses(path)[key(50, 50, 50)] == 1);
}

TEST_CASE("kt_gemm_desc: out_f32 and callers built before it", "[lookup]") {
  TempDir dir;
  std::string path = dir.file("results.db");
  std::string csv = dir.file("untuned.csv");
  writeResults(path);
  kt_context_options opts;
  kt_context_options_init(&opts);
  opts.misses_csv_path = csv.c_str();
  kt_context *ctx = openWith(opts, path);
  kt_kernel *kernel = nullptr;

  // A 1.3 caller's desc ends before out_f32: whatever lies there is not
  // read, so the f32 problem is found.
  kt_gemm_desc desc = gemmDesc(kM, kN, kK);
  desc.out_f32 = 1;
  desc.struct_size = offsetof(kt_gemm_desc, out_f32);
  CHECK(kt_gemm_lookup(ctx, &desc, &kernel) == KT_OK);
  // Read at full size, out_f32 on an f32 GEMM is refused with the reason.
  desc.struct_size = sizeof(desc);
  CHECK(kt_gemm_lookup(ctx, &desc, &kernel) == KT_INVALID_ARGUMENT);
  CHECK_THAT(lastError(), Catch::Contains("f32out is for bf16/f16"));
  // Shorter than API 1.0's desc: refused.
  desc.struct_size = offsetof(kt_gemm_desc, ldc);
  CHECK(kt_gemm_lookup(ctx, &desc, &kernel) == KT_INVALID_ARGUMENT);
  CHECK_THAT(lastError(), Catch::Contains("struct_size"));

  // bf16 with an f32 C is its own problem: a miss under its own key, and
  // its problems-file line is that key (TunableOp cannot spell it).
  desc = gemmDesc(kM, kN, kK);
  desc.dtype = KT_BF16;
  desc.out_f32 = 1;
  const std::string f32outKey = "gemm_bf16_f32out_NN_33x20x17_ld_17_20_20";
  CHECK(kt_gemm_lookup(ctx, &desc, &kernel) == KT_NOT_FOUND);
  CHECK_THAT(lastError(), Catch::Contains(f32outKey));
  desc.out_f32 = 0;
  CHECK(kt_gemm_lookup(ctx, &desc, &kernel) == KT_NOT_FOUND);
  kt_context_destroy(ctx);

  std::map<std::string, int64_t> misses = recordedMisses(path);
  CHECK(misses[f32outKey] == 1);
  CHECK(misses["gemm_bf16_NN_33x20x17_ld_17_20_20"] == 1);
  std::ifstream in(csv);
  std::set<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.insert(line);
  }
  CHECK(lines.count(f32outKey) == 1);
  CHECK(lines.count("GemmTunableOp_BFloat16_NN,nn_20_33_17_ld_20_17_20") == 1);
}

TEST_CASE("counts are exact under many threads", "[lookup][stress]") {
  TempDir dir;
  std::string path = dir.file("results.db");
  writeResults(path);
  kt_context_options opts;
  kt_context_options_init(&opts);
  kt_context *ctx = openWith(opts, path);
  kt_kernel *expected = nullptr;
  REQUIRE(lookup(ctx, kM, kN, kK, &expected) == KT_OK);

  constexpr int kThreads = 8;
  constexpr int kRounds = 5000;
  std::vector<int> wrong(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        kt_kernel *k = nullptr;
        if (lookup(ctx, kM, kN, kK, &k) != KT_OK || k != expected) {
          ++wrong[t];
        }
        // Four missed problems, each first seen by racing threads.
        if (i % 10 == 0 &&
            lookup(ctx, 60 + (i / 10) % 4, 8, 8) != KT_NOT_FOUND) {
          ++wrong[t];
        }
        if (i % 1000 == 0) {
          kt_context_stats s;
          s.struct_size = sizeof(s);
          if (kt_context_get_stats(ctx, &s) != KT_OK) {
            ++wrong[t];
          }
        }
        if (t == 0 && i % 2500 == 0 && kt_context_flush_misses(ctx) != KT_OK) {
          ++wrong[t];
        }
      }
    });
  }
  for (std::thread &th : threads) {
    th.join();
  }
  CHECK(std::count(wrong.begin(), wrong.end(), 0) == kThreads);
  kt_context_stats s = statsOf(ctx);
  CHECK(s.hits == 1 + kThreads * kRounds);
  CHECK(s.misses == kThreads * kRounds / 10);
  CHECK(s.missed_problems == 4);
  kt_context_destroy(ctx);
  std::map<std::string, int64_t> misses = recordedMisses(path);
  int64_t total = 0;
  for (const auto &[k, n] : misses) {
    total += n;
  }
  CHECK(misses.size() == 4);
  CHECK(total == kThreads * kRounds / 10);
}

TEST_CASE("problems can be looked up by signature", "[lookup]") {
  TempDir dir;
  std::string path = dir.file("results.db");
  writeResults(path);
  kt_context_options opts;
  kt_context_options_init(&opts);
  opts.record_misses = 0;
  kt_context *ctx = openWith(opts, path);
  kt_kernel *byDesc = nullptr, *byKey = nullptr, *byTunableOp = nullptr;
  REQUIRE(lookup(ctx, kM, kN, kK, &byDesc) == KT_OK);
  REQUIRE(kt_lookup(ctx, key(kM, kN, kK).c_str(), &byKey) == KT_OK);
  // The same problem as PyTorch TunableOp names it (column-major, swapped).
  kt::GemmProblem p = gemmProblem(kM, kN, kK);
  std::string pair = p.tunableOpSig() + "," + p.tunableOpParams();
  REQUIRE(kt_lookup(ctx, pair.c_str(), &byTunableOp) == KT_OK);
  CHECK(byKey == byDesc);
  CHECK(byTunableOp == byDesc);
  CHECK(kt_lookup(ctx, "gemm_f32_NN_50x50x50", &byKey) == KT_NOT_FOUND);
  CHECK(byKey == nullptr);
  CHECK(kt_lookup(ctx, "attention please", &byKey) == KT_INVALID_ARGUMENT);
  CHECK_THAT(lastError(), Catch::Contains("attention please"));
  CHECK(kt_lookup(ctx, nullptr, &byKey) == KT_INVALID_ARGUMENT);
  kt_context_destroy(ctx);
}
