// Tests that host detection reports sane values.
#include "ktune/device/HostInfo.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <thread>
#include <vector>

TEST_CASE("host info is sane", "[hostinfo]") {
  const kt::HostInfo &info = kt::hostInfo();
  CHECK_FALSE(info.cpuModel.empty());
  CHECK(info.logicalCores >= 1);
  CHECK(info.lastLevelCacheBytes > 0);
  CHECK(info.l1dBytes >= 0);
  CHECK(info.l2Bytes >= 0);
  if (info.l1dBytes > 0) {
    CHECK(info.lastLevelCacheBytes >= info.l1dBytes);
  }
  if (info.l2Bytes > 0) {
    CHECK(info.lastLevelCacheBytes >= info.l2Bytes);
  }
}

TEST_CASE("host features are known names, sorted and unique", "[hostinfo]") {
  const std::set<std::string> known = {"avx",      "avx2",     "avx512bf16",
                                       "avx512bw", "avx512dq", "avx512f",
                                       "avx512vl", "fma"};
  const std::vector<std::string> &features = kt::hostInfo().features;
  CHECK(std::is_sorted(features.begin(), features.end()));
  CHECK(std::adjacent_find(features.begin(), features.end()) == features.end());
  for (const std::string &f : features) {
    INFO(f);
    CHECK(known.count(f) == 1);
  }
  auto has = [&](const char *f) {
    return std::find(features.begin(), features.end(), f) != features.end();
  };
  // Extensions imply the ones they build on.
  if (has("avx2") || has("fma")) {
    CHECK(has("avx"));
  }
  if (has("avx512bw") || has("avx512dq") || has("avx512vl") ||
      has("avx512bf16")) {
    CHECK(has("avx512f"));
  }
}

TEST_CASE("host info is computed once and shared", "[hostinfo]") {
  const kt::HostInfo *seen[4] = {};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&seen, i] { seen[i] = &kt::hostInfo(); });
  }
  for (std::thread &t : threads) {
    t.join();
  }
  for (const kt::HostInfo *p : seen) {
    CHECK(p == &kt::hostInfo());
  }
}
