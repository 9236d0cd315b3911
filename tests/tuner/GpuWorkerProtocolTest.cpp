// The client side of the worker protocol, driven by a scripted worker (a shell
// script that prints the lines a real worker prints), so that it runs on any
// machine: an "ok" result has an empty last field, a failure has a message,
// and a worker that dies mid-candidate costs that candidate alone.
#include "ktune/tuner/GpuWorker.h"
#include "support/GemmProblems.h"

#include "cache/CacheTestUtil.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using namespace kt;

namespace {

std::vector<Config> configs(int n) {
  std::vector<Config> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({{"bm", 64 << i}, {"bn", 128}, {"stages", 4}});
  }
  return out;
}

/// A worker that measures its first --config cleanly (writing the binary
/// where --binaries says), fails the second to compile, and dies (exit 0)
/// after starting the third; a restarted worker sees the rest.
const char *kScript = R"(#!/bin/sh
bins=""; n=0
while [ $# -gt 1 ]; do
  case "$1" in
    --binaries) bins="$2" ;;
    --config) n=$((n+1)); eval "cfg$n=\"\$2\"" ;;
  esac
  shift 2
done
printf 'ready\tScripted GPU\tsm_90a\t132\t0.250000\t4\tscripted-1\n'
i=1
while [ $i -le $n ]; do
  eval "c=\$cfg$i"
  printf 'start\t%s\n' "$c"
  case "$c" in
    bm=64\;*)
      printf 'ELF-bytes' > "$bins/h64.bin"
      printf 'result\t%s\tok\t0.125000\t0.0100\t80\t0.001\th64\t\n' "$c" ;;
    bm=128\;*)
      printf 'result\t%s\tcompile-failed\t0\t0\t0\t0\t\tptxas said no\n' "$c" ;;
    bm=256\;*)
      exit 0 ;;
    *)
      printf 'result\t%s\tok\t0.500000\t0.0200\t40\t0.002\th512\t\n' "$c" ;;
  esac
  i=$((i+1))
done
exit 0
)";

} // namespace

TEST_CASE("the worker client reads every result line, empty messages too") {
  test::TempDir dir;
  const std::string worker = dir.file("scripted-worker");
  std::ofstream(worker) << kScript;
  std::filesystem::permissions(worker, std::filesystem::perms::owner_all);

  GpuWorkerOptions o;
  o.worker = worker;
  std::vector<GpuCandidateResult> got;
  auto dev = measureInWorker(
      o, test::gemmProblem("NT", 256, 256, 256, DType::BF16).key(),
      "cuda.gemm.sm90", configs(4), 0, [&](const GpuCandidateResult &r) {
        got.push_back(r);
        return Status::ok();
      });
  INFO(dev.status().toString());
  REQUIRE(dev.isOk());
  CHECK(dev->name == "Scripted GPU");
  CHECK(dev->arch == "sm_90a");
  CHECK(dev->smCount == 132);
  CHECK(dev->compilerFingerprint == "scripted-1");
  REQUIRE(got.size() == 4);

  // Each result belongs to the configuration it names, in order.
  for (size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].config.toString() == configs(4)[i].toString());
  }
  CHECK(got[0].status == "ok");
  CHECK(got[0].message.empty());
  CHECK(got[0].ms == Approx(0.125));
  CHECK(got[0].iterations == 80);
  CHECK(got[0].binaryHash == "h64");
  CHECK(got[0].binary == "ELF-bytes");

  CHECK(got[1].status == "compile-failed");
  CHECK(got[1].message == "ptxas said no");

  CHECK(got[2].status == "launch-failed");
  CHECK_THAT(got[2].message, Catch::Contains("died running this candidate"));

  // Measured by the restarted worker.
  CHECK(got[3].status == "ok");
  CHECK(got[3].ms == Approx(0.5));
}
