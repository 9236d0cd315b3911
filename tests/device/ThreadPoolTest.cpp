// Tests that ThreadPool runs every index exactly once.
#include "ktune/device/ThreadPool.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace {

/// Runs parallelFor(count) and checks each index ran exactly once.
void checkEachIndexOnce(kt::ThreadPool &pool, int64_t count) {
  std::vector<std::atomic<int>> hits(static_cast<size_t>(count));
  for (auto &h : hits) {
    h.store(0);
  }
  // Catch2 assertions are not thread-safe, so workers only count.
  std::atomic<int64_t> outOfRange{0};
  pool.parallelFor(count, [&](int64_t i) {
    if (i < 0 || i >= count) {
      outOfRange.fetch_add(1);
      return;
    }
    hits[size_t(i)].fetch_add(1, std::memory_order_relaxed);
  });
  CHECK(outOfRange.load() == 0);
  int64_t wrong = 0;
  for (auto &h : hits) {
    wrong += h.load() != 1;
  }
  CHECK(wrong == 0);
}

} // namespace

TEST_CASE("parallelFor runs every index exactly once", "[threadpool]") {
  for (int size : {1, 2, 4}) {
    kt::ThreadPool pool(size);
    CHECK(pool.size() == size);
    for (int64_t count : {0, 1, 7, 10000}) {
      INFO("size " << size << " count " << count);
      checkEachIndexOnce(pool, count);
    }
  }
}

TEST_CASE("non-positive sizes mean the calling thread only", "[threadpool]") {
  kt::ThreadPool pool(0);
  CHECK(pool.size() == 1);
  std::thread::id caller = std::this_thread::get_id();
  bool allOnCaller = true;
  pool.parallelFor(50, [&](int64_t) {
    allOnCaller = allOnCaller && std::this_thread::get_id() == caller;
  });
  CHECK(allOnCaller);
}

TEST_CASE("a pool is reusable many times", "[threadpool]") {
  kt::ThreadPool pool(4);
  std::atomic<int64_t> sum{0};
  for (int round = 0; round < 500; ++round) {
    pool.parallelFor(round % 9, [&](int64_t i) { sum.fetch_add(i + 1); });
  }
  int64_t expected = 0;
  for (int round = 0; round < 500; ++round) {
    int64_t n = round % 9;
    expected += n * (n + 1) / 2;
  }
  CHECK(sum.load() == expected);
}

TEST_CASE("parallelFor results are visible to the caller", "[threadpool]") {
  kt::ThreadPool pool(4);
  std::vector<int64_t> out(1000, -1); // Plain writes, no atomics.
  pool.parallelFor(1000, [&](int64_t i) { out[size_t(i)] = i * i; });
  bool ok = true;
  for (int64_t i = 0; i < 1000; ++i) {
    ok = ok && out[size_t(i)] == i * i;
  }
  CHECK(ok);
}

TEST_CASE("work is shared among threads", "[threadpool]") {
  kt::ThreadPool pool(4);
  std::mutex m;
  std::set<std::thread::id> ids;
  pool.parallelFor(64, [&](int64_t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    std::lock_guard<std::mutex> lock(m);
    ids.insert(std::this_thread::get_id());
  });
  CHECK(ids.size() > 1);
}

TEST_CASE("concurrent callers are serialised safely", "[threadpool]") {
  for (int size : {1, 2, 4}) {
    INFO("size " << size);
    kt::ThreadPool pool(size);
    std::atomic<int> failures{0};
    auto caller = [&](int64_t count) {
      for (int round = 0; round < 50; ++round) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(count));
        for (auto &h : hits) {
          h.store(0);
        }
        pool.parallelFor(count, [&](int64_t i) { hits[size_t(i)]++; });
        for (auto &h : hits) {
          failures += h.load() != 1;
        }
      }
    };
    std::thread a(caller, 1000);
    std::thread b(caller, 777);
    a.join();
    b.join();
    CHECK(failures.load() == 0);
  }
}

TEST_CASE("destroying an idle pool joins its workers", "[threadpool]") {
  for (int i = 0; i < 20; ++i) {
    auto pool = std::make_unique<kt::ThreadPool>(3);
    if (i % 2 == 0) {
      checkEachIndexOnce(*pool, 5);
    }
    pool.reset();
  }
  SUCCEED();
}

TEST_CASE("a caller that does not run leaves every index to the workers",
          "[threadpool]") {
  kt::ThreadPool pool(3);
  for (int64_t count : {1, 2, 7, 1000}) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(count));
    std::atomic<bool> onCaller{false};
    const std::thread::id caller = std::this_thread::get_id();
    pool.parallelFor(
        count,
        [&](int64_t i) {
          hits[size_t(i)].fetch_add(1);
          if (std::this_thread::get_id() == caller) {
            onCaller = true;
          }
        },
        /*callerRuns=*/false);
    for (auto &h : hits) {
      CHECK(h.load() == 1);
    }
    CHECK_FALSE(onCaller.load());
  }
}

TEST_CASE("workers have stacks of at least 8 MiB", "[threadpool][stack]") {
  // Whatever `ulimit -s` says: CTest also runs this case under
  // `ulimit -s 1024` (ThreadPoolSmallStack), where the system's default
  // for new threads is 1 MiB.
  CHECK(kt::ThreadPool::workerStackBytes() >=
        kt::ThreadPool::kMinWorkerStackBytes);
  kt::ThreadPool pool(3);
  REQUIRE(pool.size() == 3);
  std::mutex m;
  std::vector<int64_t> left;
  // Workers only (callerRuns false): the caller's stack is not the pool's.
  pool.parallelFor(
      64,
      [&](int64_t) {
        const int64_t bytes = kt::threadStackBytesLeft();
        std::lock_guard<std::mutex> lock(m);
        left.push_back(bytes);
      },
      false);
  REQUIRE(left.size() == 64);
  for (int64_t bytes : left) {
    CHECK(bytes > kt::ThreadPool::kMinWorkerStackBytes - (int64_t(64) << 10));
  }
}
