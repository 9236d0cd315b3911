// kt.h compiling on first use (jit): the compiler it runs, the arguments it
// passes, a compiler that fails and one that hangs past jit_timeout_s.
// The compilers here are shell scripts standing in for `ktune compile`, so
// that failure and hang are real processes; tests/tools/EndToEnd.sh runs
// the real ktune compiler through the same path.
#include "LookupTestUtil.h"

#include "kt/kt.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <string>

#include <sys/stat.h>

using namespace kt::lookuptest;

namespace {

constexpr int64_t kJitSize = 24;

/// A results file whose one record, 24x24x24, has no code object.
std::string jitResults(const TempDir &dir) {
  const std::string path = dir.file("results.db");
  auto store = kt::openSqliteStore(path, /*readOnly=*/false);
  REQUIRE(store.isOk());
  REQUIRE((*store)
              ->put(hostRecord(gemmProblem(kJitSize, kJitSize, kJitSize), ""))
              .isOk());
  return path;
}

/// Writes an executable shell script.
std::string script(const TempDir &dir, const std::string &name,
                   const std::string &body) {
  const std::string path = dir.file(name);
  std::ofstream(path) << "#!/bin/sh\n" << body;
  REQUIRE(::chmod(path.c_str(), 0755) == 0);
  return path;
}

} // namespace

TEST_CASE("jit runs the compiler with the record's problem and template",
          "[lookup][jit]") {
  TempDir dir;
  const std::string results = jitResults(dir);
  // Writes its arguments beside itself and the test kernel to -o.
  const std::string args = dir.file("args.txt");
  const std::string compiler = script(
      dir, "compile.sh",
      "echo \"$@\" > '" + args +
          "'\n"
          "while [ $# -gt 1 ]; do [ \"$1\" = -o ] && out=$2; shift; done\n"
          "cp '" KT_TEST_GEMM_KERNEL_PATH "' \"$out\"\n");

  kt_context_options opts;
  kt_context_options_init(&opts);
  CHECK(opts.jit_timeout_s == 300);
  opts.results_path = results.c_str();
  opts.jit = 1;
  opts.jit_compiler = compiler.c_str();
  opts.record_misses = 0;
  kt_context *ctx = nullptr;
  REQUIRE(kt_context_create(&opts, &ctx) == KT_OK);
  kt_gemm_desc desc = gemmDesc(kJitSize, kJitSize, kJitSize);
  kt_kernel *kernel = nullptr;
  INFO(lastError());
  REQUIRE(kt_gemm_lookup(ctx, &desc, &kernel) == KT_OK);
  REQUIRE(kernel != nullptr);
  const std::string passed = readFile(args);
  CHECK_THAT(passed, Catch::StartsWith("compile --target cpu"));
  CHECK_THAT(passed,
             Catch::Contains("--problem " +
                             gemmProblem(kJitSize, kJitSize, kJitSize).key()));
  CHECK_THAT(passed, Catch::Contains("--template test.c --config x=1"));
  CHECK_THAT(passed, Catch::Contains("--emit so -o "));

  // A second lookup is a hit: nothing is compiled again.
  std::filesystem::remove(args);
  kt_kernel *again = nullptr;
  REQUIRE(kt_gemm_lookup(ctx, &desc, &again) == KT_OK);
  CHECK(again == kernel);
  CHECK(!std::filesystem::exists(args));
  kt_context_stats stats;
  stats.struct_size = sizeof stats;
  REQUIRE(kt_context_get_stats(ctx, &stats) == KT_OK);
  CHECK(stats.compiled == 1);
  kt_context_destroy(ctx);
}

TEST_CASE("a failing jit compile is reported with its log", "[lookup][jit]") {
  TempDir dir;
  const std::string results = jitResults(dir);
  const std::string compiler =
      script(dir, "fail.sh", "echo 'error: no such template' >&2\nexit 2\n");
  kt_context_options opts;
  kt_context_options_init(&opts);
  opts.results_path = results.c_str();
  opts.jit = 1;
  opts.jit_compiler = compiler.c_str();
  kt_context *ctx = nullptr;
  opts.record_misses = 0;
  REQUIRE(kt_context_create(&opts, &ctx) == KT_OK);
  kt_gemm_desc desc = gemmDesc(kJitSize, kJitSize, kJitSize);
  kt_kernel *kernel = nullptr;
  CHECK(kt_gemm_lookup(ctx, &desc, &kernel) == KT_NOT_FOUND);
  CHECK(kernel == nullptr);
  CHECK_THAT(lastError(), Catch::Contains("exit status 2"));
  CHECK_THAT(lastError(), Catch::Contains("error: no such template"));
  CHECK_THAT(lastError(), Catch::Contains(compiler));
  kt_context_destroy(ctx);
}

TEST_CASE("a jit compile past jit_timeout_s is stopped", "[lookup][jit]") {
  TempDir dir;
  const std::string results = jitResults(dir);
  // Counts its runs, then hangs.
  const std::string runs = dir.file("runs.txt");
  const std::string compiler =
      script(dir, "hang.sh", "echo run >> '" + runs + "'\nexec sleep 60\n");

  kt_context_options opts;
  kt_context_options_init(&opts);
  opts.results_path = results.c_str();
  opts.jit = 1;
  opts.jit_compiler = compiler.c_str();
  opts.jit_timeout_s = 0.3;
  opts.record_misses = 0;
  kt_context *ctx = nullptr;
  REQUIRE(kt_context_create(&opts, &ctx) == KT_OK);
  kt_gemm_desc desc = gemmDesc(kJitSize, kJitSize, kJitSize);
  kt_kernel *kernel = nullptr;
  const auto start = std::chrono::steady_clock::now();
  CHECK(kt_gemm_lookup(ctx, &desc, &kernel) == KT_NOT_FOUND);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  CHECK(kernel == nullptr);
  CHECK_THAT(lastError(), Catch::Contains("jit_timeout_s (0.3 s)"));
  CHECK_THAT(lastError(), Catch::Contains(compiler));
  // Stopped at the limit, not after the script's minute (generous for a
  // loaded machine).
  CHECK(seconds < 30);
  // The entry stays failed; the next lookup does not compile again.
  CHECK(kt_gemm_lookup(ctx, &desc, &kernel) == KT_NOT_FOUND);
  CHECK_THAT(lastError(), Catch::Contains("jit_timeout_s"));
  CHECK(readFile(runs) == "run\n");
  kt_context_destroy(ctx);

  opts.jit_timeout_s = std::nan("");
  CHECK(kt_context_create(&opts, &ctx) == KT_INVALID_ARGUMENT);
  CHECK_THAT(lastError(), Catch::Contains("jit_timeout_s"));
}
