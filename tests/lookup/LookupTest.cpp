// Tests for the kt.h lookup API with a real results file and a real GEMM
// code object (tests/lookup/TestGemmKernel.c, built without the compiler).
#include "LookupTestUtil.h"

#include "kt/kt.h"
#include "kt/kt.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <vector>

using namespace kt::lookuptest;

TEST_CASE("lookup loads and launches a tuned kernel", "[lookup]") {
  TempDir dir;
  std::string path = dir.file("results.db");
  writeResults(path);
  kt_context *ctx = openContext(path);

  kt_gemm_desc desc = gemmDesc(kM, kN, kK);
  kt_kernel *kernel = nullptr;
  kt_status status = kt_gemm_lookup(ctx, &desc, &kernel);
  INFO(lastError());
  REQUIRE(status == KT_OK);
  REQUIRE(kernel != nullptr);
  CHECK(lastError().empty());

  kt_kernel_info info;
  info.struct_size = sizeof info;
  REQUIRE(kt_kernel_get_info(kernel, &info) == KT_OK);
  CHECK(std::string(info.template_name) == "test.c");
  CHECK(std::string(info.params) == "x=1");
  CHECK(info.time_ms == 0.25);
  CHECK(info.grid_m == 3);
  CHECK(info.grid_n == 3);

  SECTION("launch computes alpha * A * B + beta * C") {
    std::mt19937 rng(42);
    std::vector<float> a = randomMatrix(kM * kK, rng);
    std::vector<float> b = randomMatrix(kK * kN, rng);
    std::vector<float> c = randomMatrix(kM * kN, rng);
    std::vector<float> expected = referenceGemm(a, b, c, 1.5f, 0.5f);
    REQUIRE(kt_gemm_launch_cpu(ctx, kernel, a.data(), b.data(), c.data(), 1.5f,
                               0.5f) == KT_OK);
    CHECK(countMismatches(c, expected) == 0);

    // beta == 0 must not read C, so NaNs there do not propagate.
    std::vector<float> nans(kM * kN, std::numeric_limits<float>::quiet_NaN());
    expected = referenceGemm(a, b, nans, 1.0f, 0.0f);
    REQUIRE(kt_gemm_launch_cpu(ctx, kernel, a.data(), b.data(), nans.data(),
                               1.0f, 0.0f) == KT_OK);
    CHECK(countMismatches(nans, expected) == 0);
  }

  SECTION("the same problem gives the same kernel") {
    kt_kernel *again = nullptr;
    REQUIRE(kt_gemm_lookup(ctx, &desc, &again) == KT_OK);
    CHECK(again == kernel);
    // Explicit packed leading dimensions are the same problem.
    kt_gemm_desc explicitLd = desc;
    explicitLd.lda = kK;
    explicitLd.ldb = kN;
    explicitLd.ldc = kN;
    REQUIRE(kt_gemm_lookup(ctx, &explicitLd, &again) == KT_OK);
    CHECK(again == kernel);
  }

  SECTION("another shape is not found, every time") {
    kt_gemm_desc other = gemmDesc(kM + 1, kN, kK);
    std::string key = gemmProblem(kM + 1, kN, kK).key();
    for (int i = 0; i < 3; ++i) {
      kt_kernel *missing = kernel;
      CHECK(kt_gemm_lookup(ctx, &other, &missing) == KT_NOT_FOUND);
      CHECK(missing == nullptr);
      CHECK_THAT(lastError(), Catch::Contains(key));
    }
    // Other layouts and element types are other problems too.
    other = desc;
    other.trans_b = 1;
    kt_kernel *missing = nullptr;
    CHECK(kt_gemm_lookup(ctx, &other, &missing) == KT_NOT_FOUND);
    other = desc;
    other.dtype = KT_BF16;
    CHECK(kt_gemm_lookup(ctx, &other, &missing) == KT_NOT_FOUND);
  }

  kt_context_destroy(ctx);
}

TEST_CASE("results from another machine are not used", "[lookup]") {
  TempDir dir;
  std::string path = dir.file("results.db");
  writeResults(path);
  kt_context *ctx = openContext(path);
  kt_kernel *kernel = nullptr;

  kt_gemm_desc desc = gemmDesc(64, 64, 64);
  if (kt::hostInfo().cpuModel.empty()) {
    WARN("the host CPU model is unknown, so models cannot be compared");
  } else {
    CHECK(kt_gemm_lookup(ctx, &desc, &kernel) == KT_NOT_FOUND);
    CHECK(kernel == nullptr);
    CHECK_THAT(lastError(), Catch::Contains(kOtherModel));
  }

  desc = gemmDesc(48, 48, 48);
  CHECK(kt_gemm_lookup(ctx, &desc, &kernel) == KT_NOT_FOUND);
  CHECK_THAT(lastError(), Catch::Contains("avx9000"));

  desc = gemmDesc(40, 40, 40);
  CHECK(kt_gemm_lookup(ctx, &desc, &kernel) == KT_NOT_FOUND);
  CHECK_THAT(lastError(), Catch::Contains("missing"));

  desc = gemmDesc(24, 24, 24);
  CHECK(kt_gemm_lookup(ctx, &desc, &kernel) == KT_NOT_FOUND);
  CHECK_THAT(lastError(), Catch::Contains("no stored code object"));

  kt_context_destroy(ctx);

  SECTION("but those tuned here with fewer CPU features are") {
    // All of this host's features but its last: the code uses none that
    // this host lacks (a host that gained a reported feature keeps its
    // results).
    {
      auto store = kt::openSqliteStore(path, /*readOnly=*/false);
      REQUIRE(store.isOk());
      const std::string hash =
          kt::sha256Hex(readFile(KT_TEST_GEMM_KERNEL_PATH));
      kt::TuningRecord fewer = hostRecord(gemmProblem(32, 32, 32), hash);
      const size_t cut = fewer.deviceFeatures.rfind(',');
      fewer.deviceFeatures.resize(cut == std::string::npos ? 0 : cut);
      REQUIRE((*store)->put(fewer).isOk());
    }
    kt_context *again = openContext(path);
    desc = gemmDesc(32, 32, 32);
    kernel = nullptr;
    CHECK(kt_gemm_lookup(again, &desc, &kernel) == KT_OK);
    CHECK(kernel != nullptr);
    kt_context_destroy(again);
  }

  SECTION("unless validators are off") {
    kt_context *lax = openContext(path, /*checkValidators=*/0);
    for (int64_t size : {64, 48}) {
      desc = gemmDesc(size, size, size);
      kernel = nullptr;
      CHECK(kt_gemm_lookup(lax, &desc, &kernel) == KT_OK);
      CHECK(kernel != nullptr);
    }
    kt_context_destroy(lax);
  }
}

TEST_CASE("concurrent lookups share one kernel", "[lookup]") {
  TempDir dir;
  std::string path = dir.file("results.db");
  writeResults(path);
  kt_context *ctx = openContext(path);

  constexpr int kThreads = 8;
  constexpr int kLookups = 10000;
  std::atomic<bool> go{false};
  std::vector<kt_kernel *> first(kThreads, nullptr);
  std::vector<int> failures(kThreads, 0);
  std::vector<int> differing(kThreads, 0);
  std::vector<int> wrongMisses(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      kt_gemm_desc hit = gemmDesc(kM, kN, kK);
      kt_gemm_desc miss = gemmDesc(kM, kN, kK + 1 + t % 2);
      while (!go.load()) {
        std::this_thread::yield();
      }
      for (int i = 0; i < kLookups; ++i) {
        kt_kernel *kernel = nullptr;
        if (kt_gemm_lookup(ctx, &hit, &kernel) != KT_OK) {
          ++failures[t];
          continue;
        }
        if (first[t] == nullptr) {
          first[t] = kernel;
        } else if (kernel != first[t]) {
          ++differing[t];
        }
        if (i % 1000 == 0 &&
            (kt_gemm_lookup(ctx, &miss, &kernel) != KT_NOT_FOUND ||
             kernel != nullptr || lastError().empty())) {
          ++wrongMisses[t];
        }
      }
    });
  }
  go.store(true);
  for (std::thread &th : threads) {
    th.join();
  }
  for (int t = 0; t < kThreads; ++t) {
    INFO("thread " << t);
    CHECK(failures[t] == 0);
    CHECK(differing[t] == 0);
    CHECK(wrongMisses[t] == 0);
    CHECK(first[t] != nullptr);
    CHECK(first[t] == first[0]);
  }

  // Concurrent launches (serialised on the pool) all compute correctly.
  std::mt19937 rng(7);
  std::vector<float> a = randomMatrix(kM * kK, rng);
  std::vector<float> b = randomMatrix(kK * kN, rng);
  std::vector<float> c0 = randomMatrix(kM * kN, rng);
  std::vector<float> expected = referenceGemm(a, b, c0, 1.5f, 0.5f);
  std::vector<int> bad(kThreads, 0);
  threads.clear();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        std::vector<float> c = c0;
        if (kt_gemm_launch_cpu(ctx, first[0], a.data(), b.data(), c.data(),
                               1.5f, 0.5f) != KT_OK ||
            countMismatches(c, expected) != 0) {
          ++bad[t];
        }
      }
    });
  }
  for (std::thread &th : threads) {
    th.join();
  }
  CHECK(std::count(bad.begin(), bad.end(), 0) == kThreads);
  kt_context_destroy(ctx);
}

TEST_CASE("bad arguments are rejected with a message", "[lookup]") {
  TempDir dir;
  std::string path = dir.file("results.db");
  writeResults(path);
  kt_context *ctx = openContext(path, 1, /*threads=*/1);
  kt_gemm_desc desc = gemmDesc(kM, kN, kK);
  kt_kernel *kernel = nullptr;

  kt_gemm_desc bad = desc;
  bad.struct_size = 8;
  CHECK(kt_gemm_lookup(ctx, &bad, &kernel) == KT_INVALID_ARGUMENT);
  CHECK_THAT(lastError(), Catch::Contains("struct_size"));
  bad = desc;
  // As a C caller could; the C++ enum cannot hold 7 without UB.
  int seven = 7;
  static_assert(sizeof(seven) == sizeof(bad.dtype));
  std::memcpy(&bad.dtype, &seven, sizeof(seven));
  CHECK(kt_gemm_lookup(ctx, &bad, &kernel) == KT_INVALID_ARGUMENT);
  CHECK_THAT(lastError(), Catch::Contains("dtype"));
  bad = desc;
  bad.m = 0;
  CHECK(kt_gemm_lookup(ctx, &bad, &kernel) == KT_INVALID_ARGUMENT);
  CHECK_THAT(lastError(), Catch::Contains("M=0"));
  bad = desc;
  bad.lda = 3;
  CHECK(kt_gemm_lookup(ctx, &bad, &kernel) == KT_INVALID_ARGUMENT);
  CHECK_THAT(lastError(), Catch::Contains("lda"));
  bad = desc;
  bad.ldc = -1;
  CHECK(kt_gemm_lookup(ctx, &bad, &kernel) == KT_INVALID_ARGUMENT);
  CHECK(kernel == nullptr);

  REQUIRE(kt_gemm_lookup(ctx, &desc, &kernel) == KT_OK);
  kt_kernel_info info;
  info.struct_size = 0;
  CHECK(kt_kernel_get_info(kernel, &info) == KT_INVALID_ARGUMENT);
  CHECK(kt_kernel_get_info(kernel, nullptr) == KT_INVALID_ARGUMENT);

  std::vector<float> m(kM * kN * kK);
  CHECK(kt_gemm_launch_cpu(ctx, kernel, m.data(), nullptr, m.data(), 1, 0) ==
        KT_INVALID_ARGUMENT);
  CHECK_THAT(lastError(), Catch::Contains("b is NULL"));
  // A CPU kernel launched as a HIP one is refused, naming the right call.
  CHECK(kt_gemm_launch_hip(ctx, kernel, nullptr, m.data(), m.data(), m.data(),
                           1, 0, nullptr) != KT_OK);
  CHECK_THAT(lastError(), Catch::Contains("kt_gemm_launch_cpu"));
  CHECK(kt_gemm_launch_hip(nullptr, kernel, nullptr, m.data(), m.data(),
                           m.data(), 1, 0, nullptr) == KT_INVALID_ARGUMENT);
  CHECK_THAT(lastError(), Catch::Contains("ctx is NULL"));

  // A kernel is tied to the context that looked it up.
  kt_context *other = openContext(path);
  CHECK(kt_gemm_launch_cpu(other, kernel, m.data(), m.data(), m.data(), 1, 0) ==
        KT_INVALID_ARGUMENT);
  CHECK_THAT(lastError(), Catch::Contains("another context"));
  kt_context_destroy(other);

  // The last error belongs to the thread that failed.
  REQUIRE(kt_gemm_lookup(ctx, &bad, &kernel) == KT_INVALID_ARGUMENT);
  std::string mine = lastError();
  std::string theirs = "unset";
  std::thread([&] {
    kt_kernel *k = nullptr;
    kt_gemm_lookup(ctx, &desc, &k);
    theirs = lastError();
  }).join();
  CHECK(theirs.empty());
  CHECK(lastError() == mine);
  kt_context_destroy(ctx);
}

TEST_CASE("unusable results files are reported", "[lookup]") {
  TempDir dir;
  kt_context_options opts;
  kt_context_options_init(&opts);
  kt_context *ctx = nullptr;

  std::string missing = dir.file("missing.db");
  opts.results_path = missing.c_str();
  CHECK(kt_context_create(&opts, &ctx) == KT_NOT_FOUND);
  CHECK_THAT(lastError(), Catch::Contains(missing));

  std::string text = dir.file("notes.txt");
  std::ofstream(text) << "this is not a database, just some text\n";
  opts.results_path = text.c_str();
  CHECK(kt_context_create(&opts, &ctx) == KT_UNAVAILABLE);
  CHECK_THAT(lastError(), Catch::Contains(text));
  CHECK(ctx == nullptr);
  // Opening read-only leaves the file alone.
  CHECK(readFile(text) == "this is not a database, just some text\n");

  // A real results file cut short, and one with its pages scrambled: an
  // error naming the file, never a crash.
  std::string good = dir.file("good.db");
  writeResults(good);
  std::string bytes = readFile(good);
  REQUIRE(bytes.size() > 8192);
  for (size_t cut : {size_t(100), size_t(4096), bytes.size() / 2}) {
    std::string truncated = dir.file("truncated.db");
    std::ofstream(truncated, std::ios::binary | std::ios::trunc)
        << bytes.substr(0, cut);
    opts.results_path = truncated.c_str();
    kt_status st = kt_context_create(&opts, &ctx);
    INFO("cut at " << cut << ": " << lastError());
    if (st == KT_OK) {
      // SQLite may read a prefix that holds whole tables: then lookups
      // must still work or miss cleanly.
      kt_gemm_desc desc = gemmDesc(kM, kN, kK);
      kt_kernel *kernel = nullptr;
      kt_status found = kt_gemm_lookup(ctx, &desc, &kernel);
      CHECK((found == KT_OK || found == KT_NOT_FOUND));
      kt_context_destroy(ctx);
    } else {
      CHECK(st == KT_UNAVAILABLE);
      CHECK_THAT(lastError(), Catch::Contains(truncated));
    }
  }
  std::string scrambled = dir.file("scrambled.db");
  std::string mixed = bytes;
  for (size_t i = 4096; i < mixed.size(); i += 7) {
    mixed[i] = char(mixed[i] ^ 0x5a);
  }
  std::ofstream(scrambled, std::ios::binary) << mixed;
  opts.results_path = scrambled.c_str();
  kt_status st = kt_context_create(&opts, &ctx);
  INFO(lastError());
  if (st == KT_OK) {
    kt_context_destroy(ctx);
  } else {
    CHECK(st == KT_UNAVAILABLE);
    CHECK_THAT(lastError(), Catch::Contains(scrambled));
  }
}

TEST_CASE("the C++ wrapper owns its context", "[lookup]") {
  TempDir dir;
  std::string path = dir.file("results.db");
  writeResults(path);

  kt::api::Context ctx;
  CHECK_FALSE(ctx);
  REQUIRE(kt::api::Context::open(dir.file("nope.db"), ctx) == KT_NOT_FOUND);
  CHECK_FALSE(ctx);
  CHECK_THAT(kt::api::lastError(), Catch::Contains("nope.db"));

  kt::api::Context opened;
  REQUIRE(kt::api::Context::open(path, opened) == KT_OK);
  ctx = std::move(opened);
  CHECK(ctx);
  CHECK_FALSE(opened);

  std::optional<kt::api::Kernel> kernel =
      ctx.lookupGemm(kt::api::gemmDesc(kM, kN, kK));
  REQUIRE(kernel.has_value());
  kt_kernel_info info;
  REQUIRE(kernel->info(info) == KT_OK);
  CHECK(info.grid_m * info.grid_n == 9);

  std::mt19937 rng(3);
  std::vector<float> a = randomMatrix(kM * kK, rng);
  std::vector<float> b = randomMatrix(kK * kN, rng);
  std::vector<float> c(kM * kN, 0.0f);
  REQUIRE(ctx.launch(*kernel, a.data(), b.data(), c.data()) == KT_OK);
  CHECK(countMismatches(c, referenceGemm(a, b, c, 1.0f, 0.0f)) == 0);

  kt_status status = KT_OK;
  CHECK_FALSE(ctx.lookupGemm(kt::api::gemmDesc(1, 2, 3, true), &status));
  CHECK(status == KT_NOT_FOUND);
  CHECK_FALSE(kt::api::lastError().empty());
  kt_context_stats stats = ctx.stats();
  CHECK(stats.hits == 1);
  CHECK(stats.misses == 1);
  CHECK(ctx.flushMisses() == KT_OK);
  // A CPU kernel is not launched as a CUDA one.
  CHECK(ctx.launchCuda(*kernel, nullptr, a.data(), b.data(), c.data()) ==
        KT_UNAVAILABLE);
}
