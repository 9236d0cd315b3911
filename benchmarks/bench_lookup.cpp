// bench_lookup: latency of kt.h GEMM lookups (hits and misses) on a results
// file of many tuned problems, from 1 and 8 threads, beside the plain
// approach in the same run: a std::unordered_map<std::string, ...> keyed by
// the TunableOp signature the engine formats for each call.
//
// Each lookup is timed on its own with steady_clock; the clock's own cost
// (the median of back-to-back reads, printed) is subtracted.
#include "kt/kt.h"
#include "ktune/base/Hash.h"
#include "ktune/cache/ResultsStore.h"
#include "ktune/device/HostInfo.h"
#include "ktune/device/TargetDesc.h"
#include "ktune/problem/GemmProblem.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <unistd.h>

#ifndef KT_BENCH_GEMM_KERNEL_PATH
#error "KT_BENCH_GEMM_KERNEL_PATH must name a CPU GEMM code object"
#endif

namespace {

using Clock = std::chrono::steady_clock;

struct Percentiles {
  double p50 = 0, p99 = 0;
};

Percentiles percentiles(std::vector<double> &ns) {
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) { return ns[size_t(q * double(ns.size() - 1))]; };
  return {at(0.50), at(0.99)};
}

double clockOverheadNs() {
  std::vector<double> d(20000);
  for (double &x : d) {
    auto t0 = Clock::now();
    auto t1 = Clock::now();
    x = std::chrono::duration<double, std::nano>(t1 - t0).count();
  }
  return percentiles(d).p50;
}

/// Runs `one(thread, i)` `perThread` times on each of `threads` threads,
/// timing each call; returns all latencies in ns, minus the clock overhead.
template <typename F>
std::vector<double> timeEach(int threads, int perThread, double overhead,
                             F &&one) {
  std::vector<std::vector<double>> per(threads);
  std::atomic<int> ready{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::vector<double> &out = per[t];
      out.reserve(perThread);
      ready.fetch_add(1);
      while (ready.load() < threads) {
        std::this_thread::yield();
      }
      for (int i = 0; i < perThread; ++i) {
        auto t0 = Clock::now();
        one(t, i);
        auto t1 = Clock::now();
        out.push_back(std::max(
            0.0, std::chrono::duration<double, std::nano>(t1 - t0).count() -
                     overhead));
      }
    });
  }
  for (std::thread &th : pool) {
    th.join();
  }
  std::vector<double> all;
  for (auto &v : per) {
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// The TunableOp-style key an engine would format for each call.
std::string tunableOpKey(const kt_gemm_desc &d) {
  return fmt::format("GemmTunableOp_float_{}{},{}{}_{}_{}_{}",
                     d.trans_b ? 'T' : 'N', d.trans_a ? 'T' : 'N',
                     d.trans_b ? 't' : 'n', d.trans_a ? 't' : 'n', d.n, d.m,
                     d.k);
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"kt.h lookup latency against a string-keyed map"};
  int entries = 100000;
  int lookups = 200000;
  std::string json, dir;
  app.add_option("--entries", entries, "Tuned problems in the results file")
      ->capture_default_str();
  app.add_option("--lookups", lookups, "Timed lookups per thread")
      ->capture_default_str();
  app.add_option("--json", json, "Write results as JSON to this file");
  app.add_option("--dir", dir,
                 "Where to write the results file (default: a "
                 "temporary directory)");
  CLI11_PARSE(app, argc, argv);
  if (entries < 1 || lookups < 1) {
    fmt::print(stderr, "bench_lookup: --entries and --lookups must be >= 1\n");
    return 1;
  }

  namespace fs = std::filesystem;
  fs::path work = dir.empty()
                      ? fs::temp_directory_path() /
                            fmt::format("ktune-bench-lookup-{}", ::getpid())
                      : fs::path(dir);
  fs::create_directories(work);
  std::string db = (work / "results.db").string();
  fs::remove(db);

  // N distinct f32 problems, each with the same (real) code object, as the
  // tuner would store them on this machine.
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int64_t> size(1, 16384);
  std::vector<kt_gemm_desc> descs;
  std::unordered_set<std::string> seen;
  std::vector<kt::TuningRecord> records;
  std::string bytes = readFile(KT_BENCH_GEMM_KERNEL_PATH);
  std::string hash = kt::sha256Hex(bytes);
  std::string features = kt::TargetDesc::host().featureString();
  while (int(descs.size()) < entries) {
    kt_gemm_desc d;
    kt_gemm_desc_init(&d);
    d.m = size(rng);
    d.n = size(rng);
    d.k = size(rng);
    d.trans_b = int(rng() % 2);
    kt::GemmProblem p;
    p.transB = d.trans_b != 0;
    p.m = d.m;
    p.n = d.n;
    p.k = d.k;
    p.setDefaultLeadingDims();
    if (!seen.insert(p.key()).second) {
      continue;
    }
    descs.push_back(d);
    kt::TuningRecord r;
    r.problemKey = p.key();
    r.target = "cpu";
    r.templateName = "bench";
    r.params = "x=1";
    r.timeMs = 1.0;
    r.deviceModel = kt::hostInfo().cpuModel;
    r.deviceFeatures = features;
    r.binaryHash = hash;
    records.push_back(std::move(r));
  }
  {
    auto store = kt::openSqliteStore(db);
    if (!store.isOk() || !(*store)->putBinary(hash, "cpu", bytes).isOk() ||
        !(*store)->putBatch(records).isOk()) {
      fmt::print(stderr, "bench_lookup: cannot write {}: {}\n", db,
                 store.isOk() ? "put failed" : store.status().message());
      return 1;
    }
  }

  kt_context_options opts;
  kt_context_options_init(&opts);
  opts.results_path = db.c_str();
  opts.num_threads = 1;
  opts.record_misses = 0;
  kt_context *ctx = nullptr;
  auto t0 = Clock::now();
  if (kt_context_create(&opts, &ctx) != KT_OK) {
    fmt::print(stderr, "bench_lookup: {}\n", kt_context_last_error(nullptr));
    return 1;
  }
  double openMs =
      std::chrono::duration<double, std::milli>(Clock::now() - t0).count();

  // The baseline: string keys to the same kernel pointers.
  std::unordered_map<std::string, kt_kernel *> map;
  for (const kt_gemm_desc &d : descs) {
    kt_kernel *k = nullptr;
    if (kt_gemm_lookup(ctx, &d, &k) != KT_OK) {
      fmt::print(stderr, "bench_lookup: a stored problem missed: {}\n",
                 kt_context_last_error(nullptr));
      return 1;
    }
    map.emplace(tunableOpKey(d), k);
  }

  // Each thread looks up its own random sequence of stored problems: over
  // all of them (cold: most lookups miss the CPU caches), or over 64 of
  // them (hot: an engine serving one model calls a few shapes again and
  // again).
  auto makeOrder = [&](size_t span) {
    std::vector<std::vector<uint32_t>> order(8);
    for (auto &o : order) {
      o.resize(lookups);
      for (uint32_t &i : o) {
        i = uint32_t(rng() % std::min(span, descs.size()));
      }
    }
    return order;
  };
  kt_gemm_desc missDesc = descs.front();
  missDesc.m = 16385; // Outside the generated sizes: never stored.

  double overhead = clockOverheadNs();
  fmt::print("bench_lookup: {} tuned problems in {} (context opened in {:.0f} "
             "ms); {} lookups per thread; clock overhead {:.0f} ns "
             "subtracted; {} logical cores\n",
             entries, db, openMs, lookups, overhead,
             kt::hostInfo().logicalCores);
  fmt::print("{:>7} {:>7} {:>10} {:>10} {:>14} {:>14} {:>10} {:>12}\n",
             "pattern", "threads", "p50 ns", "p99 ns", "map p50 ns",
             "map p99 ns", "ratio", "miss p50 ns");
  std::string out = "[\n";
  // Results go to a per-thread slot so the threads share no cache line.
  struct alignas(64) Sink {
    uintptr_t value = 0;
  };
  std::vector<Sink> sink(8);
  bool first = true;
  for (const char *pattern : {"random", "hot"}) {
    const auto order = makeOrder(pattern[0] == 'h' ? 64 : descs.size());
    for (int threads : {1, 8}) {
      auto hit = timeEach(threads, lookups, overhead, [&](int t, int i) {
        kt_kernel *k = nullptr;
        kt_gemm_lookup(ctx, &descs[order[t][i]], &k);
        sink[t].value += uintptr_t(k);
      });
      auto base = timeEach(threads, lookups, overhead, [&](int t, int i) {
        auto it = map.find(tunableOpKey(descs[order[t][i]]));
        sink[t].value += uintptr_t(it->second);
      });
      auto miss = timeEach(threads, lookups / 10, overhead, [&](int, int) {
        kt_kernel *k = nullptr;
        kt_gemm_lookup(ctx, &missDesc, &k);
      });
      Percentiles h = percentiles(hit), b = percentiles(base),
                  m = percentiles(miss);
      double ratio = h.p50 > 0 ? b.p50 / h.p50 : 0;
      fmt::print("{:>7} {:>7} {:>10.0f} {:>10.0f} {:>14.0f} {:>14.0f} "
                 "{:>9.2f}x {:>12.0f}\n",
                 pattern, threads, h.p50, h.p99, b.p50, b.p99, ratio, m.p50);
      out += fmt::format("{}  {{\"pattern\": \"{}\", \"threads\": {}, "
                         "\"entries\": {}, \"p50_ns\": {:.1f}, \"p99_ns\": "
                         "{:.1f}, \"baseline_p50_ns\": {:.1f}, "
                         "\"baseline_p99_ns\": {:.1f}, \"miss_p50_ns\": "
                         "{:.1f}}}",
                         first ? "" : ",\n", pattern, threads, entries, h.p50,
                         h.p99, b.p50, b.p99, m.p50);
      first = false;
    }
  }
  out += "\n]\n";
  fmt::print("ratio = map p50 / kt.h p50 (above 1: kt.h is faster)\n");
  kt_context_destroy(ctx);
  if (dir.empty()) {
    fs::remove_all(work);
  }
  if (!json.empty()) {
    std::ofstream(json) << out;
  }
  return sink[0].value == 0 ? 1 : 0;
}
