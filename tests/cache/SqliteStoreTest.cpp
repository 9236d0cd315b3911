// Tests for the SQLite results store: winners, persistence, bad files,
// code objects and concurrent writers.
#include "ktune/cache/ResultsStore.h"

#include "CacheTestUtil.h"

#include <sqlite3.h>

#include <filesystem>
#include <limits>
#include <thread>
#include <vector>

using namespace kt;
using kt::test::makeRecord;
using kt::test::TempDir;

namespace {

const std::string kKey = "gemm_f32_NN_64x64x64_ld_64_64_64";

std::unique_ptr<ResultsStore> mustOpen(const std::string &path,
                                       bool readOnly = false) {
  Result<std::unique_ptr<ResultsStore>> s = openSqliteStore(path, readOnly);
  INFO(s.status().toString());
  REQUIRE(s.isOk());
  return std::move(s).value();
}

/// Runs one SQL statement on `path` through the raw SQLite API.
void rawExec(const std::string &path, const char *sql) {
  sqlite3 *db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char *err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  INFO((err ? err : ""));
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

} // namespace

TEST_CASE("The fastest ok measurement wins", "[cache]") {
  TempDir dir;
  auto store = mustOpen(dir.file("results.db"));
  REQUIRE(store->put(makeRecord(kKey, "mr=4", 2.0)).isOk());
  REQUIRE(store->put(makeRecord(kKey, "mr=6", 1.0)).isOk());
  REQUIRE(store->put(makeRecord(kKey, "mr=8", 3.0)).isOk());
  TuningRecord failed = makeRecord(kKey, "mr=16", 0.1);
  failed.status = "numerics-mismatch";
  failed.message = "max error 3.5, tolerance 1";
  REQUIRE(store->put(failed).isOk());

  auto w = store->winner(kKey, "cpu", "");
  REQUIRE(w.isOk());
  REQUIRE(w->has_value());
  CHECK((*w)->params == "mr=6");
  CHECK((*w)->timeMs == 1.0);
  auto none = store->winner(kKey, "cuda:sm_90a", "");
  REQUIRE(none.isOk());
  CHECK_FALSE(none->has_value());

  auto all = store->measurements(kKey, "cpu");
  REQUIRE(all.isOk());
  REQUIRE(all->size() == 4);
  CHECK((*all)[3].status == "numerics-mismatch");
  CHECK((*all)[3].message == failed.message);

  // A tie does not replace the winner.
  REQUIRE(store->put(makeRecord(kKey, "mr=12", 1.0)).isOk());
  CHECK(store->winner(kKey, "cpu", "")->value().params == "mr=6");
}

TEST_CASE("Failed candidates never win", "[cache]") {
  TempDir dir;
  auto store = mustOpen(dir.file("results.db"));
  for (const char *status : {"compile-failed", "launch-failed", "timeout",
                             "numerics-mismatch", "pruned"}) {
    TuningRecord r = makeRecord(kKey, "mr=4", 0.001);
    r.status = status;
    REQUIRE(store->put(r).isOk());
  }
  auto w = store->winner(kKey, "cpu", "");
  REQUIRE(w.isOk());
  CHECK_FALSE(w->has_value());
  CHECK(store->winners()->empty());
  CHECK(store->measurements(kKey, "cpu")->size() == 5);

  TuningRecord noTime = makeRecord(kKey, "mr=4", 0);
  noTime.timeMs = std::numeric_limits<double>::quiet_NaN();
  Status st = store->put(noTime);
  CHECK(st.code() == StatusCode::InvalidArgument);
  TuningRecord noKey = makeRecord("", "mr=4", 1.0);
  CHECK(store->put(noKey).code() == StatusCode::InvalidArgument);
}

TEST_CASE("Results persist across reopen, exactly", "[cache]") {
  TempDir dir;
  std::string path = dir.file("results.db");
  TuningRecord r = makeRecord(kKey, "kc=256;mr=6;nr=16", 1.0 / 3.0);
  r.maxError = std::numeric_limits<double>::quiet_NaN();
  r.dispersion = 1e-300;
  r.message = "multi\nline, \"quoted\"";
  TuningRecord other =
      makeRecord("gemm_f32_NT_16x32x64_ld_64_64_32", "mr=4", 0.5);
  other.target = "cuda:sm_90a";
  {
    auto store = mustOpen(path);
    REQUIRE(store->put(r).isOk());
    REQUIRE(store->put(other).isOk());
  }
  auto store = mustOpen(path);
  auto w = store->winner(kKey, "cpu", "");
  REQUIRE(w.isOk());
  REQUIRE(w->has_value());
  test::requireSameRecord(**w, r);
  auto all = store->winners();
  REQUIRE(all.isOk());
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].problemKey == kKey); // Ordered by problem key.
  CHECK((*all)[1].target == "cuda:sm_90a");

  auto ro = mustOpen(path, /*readOnly=*/true);
  CHECK(ro->winner(kKey, "cpu", "")->has_value());
  Status st = ro->put(makeRecord(kKey, "mr=2", 0.1));
  CHECK(st.code() == StatusCode::FailedPrecondition);
  CHECK(st.message().find("read-only") != std::string::npos);
}

TEST_CASE("Opening bad paths gives clear errors", "[cache]") {
  TempDir dir;
  auto empty = openSqliteStore("");
  REQUIRE_FALSE(empty.isOk());
  CHECK(empty.status().code() == StatusCode::InvalidArgument);

  std::string missing = dir.file("missing.db");
  auto ro = openSqliteStore(missing, /*readOnly=*/true);
  REQUIRE_FALSE(ro.isOk());
  CHECK(ro.status().code() == StatusCode::NotFound);
  CHECK(ro.status().message().find(missing) != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(missing));

  std::string noDir = dir.file("no/such/dir/results.db");
  auto nd = openSqliteStore(noDir);
  REQUIRE_FALSE(nd.isOk());
  CHECK(nd.status().message().find("does not exist") != std::string::npos);

  auto isDir = openSqliteStore(dir.path.string());
  REQUIRE_FALSE(isDir.isOk());
  CHECK(isDir.status().message().find("directory") != std::string::npos);
}

TEST_CASE("A file that is not SQLite is reported and left unchanged",
          "[cache]") {
  TempDir dir;
  std::string path = dir.file("results.db");
  std::mt19937 rng(42);
  std::string bytes(8192, '\0');
  for (char &c : bytes) {
    c = static_cast<char>(rng());
  }
  test::writeBytes(path, bytes);
  for (bool readOnly : {false, true}) {
    auto s = openSqliteStore(path, readOnly);
    REQUIRE_FALSE(s.isOk());
    INFO(s.status().toString());
    CHECK(s.status().code() == StatusCode::DataLoss);
    CHECK(s.status().message().find(path) != std::string::npos);
    CHECK(s.status().message().find("not SQLite") != std::string::npos);
  }
  CHECK(test::readBytes(path) == bytes);
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));
  CHECK_FALSE(std::filesystem::exists(path + "-journal"));

  std::string text = dir.file("notes.txt");
  test::writeBytes(text, "this is a text file, not a database\n");
  auto t = openSqliteStore(text);
  REQUIRE_FALSE(t.isOk());
  CHECK(t.status().code() == StatusCode::DataLoss);
  CHECK(test::readBytes(text) == "this is a text file, not a database\n");
}

TEST_CASE("A foreign SQLite database is reported and left unchanged",
          "[cache]") {
  TempDir dir;
  std::string path = dir.file("other.db");
  rawExec(path, "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);"
                "INSERT INTO users(name) VALUES('ada');");
  std::string before = test::readBytes(path);
  auto s = openSqliteStore(path);
  REQUIRE_FALSE(s.isOk());
  INFO(s.status().toString());
  CHECK(s.status().code() == StatusCode::FailedPrecondition);
  CHECK(s.status().message().find("foreign") != std::string::npos);
  CHECK(s.status().message().find("users") != std::string::npos);
  CHECK(test::readBytes(path) == before);

  // A meta table that is not ktune's is foreign too.
  std::string meta = dir.file("meta.db");
  rawExec(meta, "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
                "INSERT INTO meta VALUES('application', 'other');");
  auto m = openSqliteStore(meta);
  REQUIRE_FALSE(m.isOk());
  CHECK(m.status().code() == StatusCode::FailedPrecondition);
}

TEST_CASE("A database from a newer ktune is refused", "[cache]") {
  TempDir dir;
  std::string path = dir.file("results.db");
  {
    auto store = mustOpen(path);
    REQUIRE(store->put(makeRecord(kKey, "mr=4", 1.0)).isOk());
  }
  rawExec(path, "UPDATE meta SET value = '3' WHERE key = 'schema_version'");
  auto s = openSqliteStore(path);
  REQUIRE_FALSE(s.isOk());
  CHECK(s.status().message().find("newer ktune") != std::string::npos);
}

TEST_CASE("Code objects round trip with NUL bytes", "[cache]") {
  TempDir dir;
  std::string path = dir.file("results.db");
  std::string bytes("\x7f"
                    "ELF\0\0\x01\x02\0binary\0",
                    15);
  REQUIRE(bytes.size() == 15);
  {
    auto store = mustOpen(path);
    REQUIRE(store->putBinary("h1", "cpu", bytes).isOk());
    REQUIRE(store->putBinary("h1", "cpu", bytes).isOk()); // Idempotent.
    REQUIRE(store->putBinary("empty", "cpu", "").isOk());
    CHECK(store->putBinary("", "cpu", bytes).code() ==
          StatusCode::InvalidArgument);
  }
  auto store = mustOpen(path, /*readOnly=*/true);
  auto got = store->getBinary("h1");
  REQUIRE(got.isOk());
  REQUIRE(got->has_value());
  CHECK(**got == bytes);
  auto empty = store->getBinary("empty");
  REQUIRE(empty.isOk());
  REQUIRE(empty->has_value());
  CHECK((*empty)->empty());
  auto missing = store->getBinary("nope");
  REQUIRE(missing.isOk());
  CHECK_FALSE(missing->has_value());
}

TEST_CASE("Two stores on one file write concurrently without losses",
          "[cache]") {
  TempDir dir;
  std::string path = dir.file("results.db");
  auto a = mustOpen(path);
  auto b = mustOpen(path);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 40;
  std::vector<Status> firstError(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    ResultsStore *store = (t % 2 == 0) ? a.get() : b.get();
    threads.emplace_back([store, t, &firstError]() {
      for (int i = 0; i < kPerThread; ++i) {
        TuningRecord r = makeRecord(
            kKey, "t=" + std::to_string(t) + ";i=" + std::to_string(i),
            1.0 + t * kPerThread + i);
        Status st = store->put(r);
        if (!st.isOk() && firstError[t].isOk()) {
          firstError[t] = st;
        }
      }
    });
  }
  for (std::thread &th : threads) {
    th.join();
  }
  for (const Status &st : firstError) {
    INFO(st.toString());
    CHECK(st.isOk());
  }
  auto fresh = mustOpen(path);
  auto all = fresh->measurements(kKey, "cpu");
  REQUIRE(all.isOk());
  CHECK(all->size() == kThreads * kPerThread);
  auto w = fresh->winner(kKey, "cpu", "");
  REQUIRE(w.isOk());
  REQUIRE(w->has_value());
  CHECK((*w)->params == "t=0;i=0");
}

TEST_CASE("Winners are kept per device model", "[cache]") {
  TempDir dir;
  auto store = mustOpen(dir.file("results.db"));
  TuningRecord h100 = makeRecord(kKey, "bn=128", 2.0);
  h100.target = "cuda:sm_90a";
  h100.deviceModel = "NVIDIA H100 80GB HBM3";
  h100.launch = "threads=384;smem=1024;tile=128x128;box_a=128x64;"
                "box_b=128x64;grid=persistent";
  TuningRecord h200 = h100;
  h200.deviceModel = "NVIDIA H200";
  h200.params = "bn=256";
  h200.timeMs = 1.5;
  REQUIRE(store->put(h100).isOk());
  REQUIRE(store->put(h200).isOk());

  auto a = store->winner(kKey, "cuda:sm_90a", h100.deviceModel);
  REQUIRE(a.isOk());
  REQUIRE(a->has_value());
  CHECK((*a)->params == "bn=128");
  CHECK((*a)->launch == h100.launch);
  auto any = store->winner(kKey, "cuda:sm_90a", "");
  REQUIRE(any->has_value());
  CHECK((*any)->params == "bn=256");
  CHECK_FALSE(store->winner(kKey, "cuda:sm_90a", "Other")->has_value());
  CHECK(store->winners()->size() == 2);
}

TEST_CASE("Misses add up across batches and processes", "[cache]") {
  TempDir dir;
  std::string path = dir.file("results.db");
  {
    auto store = mustOpen(path);
    REQUIRE(store
                ->putMisses({{kKey, "cpu", "CPU A", 3, 100, 200},
                             {"gemm_f32_NN_8x8x8_ld_8_8_8", "cpu", "CPU A", 1,
                              150, 150}})
                .isOk());
  }
  auto store = mustOpen(path);
  REQUIRE(store->putMisses({{kKey, "cpu", "CPU A", 2, 50, 300}}).isOk());
  auto misses = store->misses();
  REQUIRE(misses.isOk());
  REQUIRE(misses->size() == 2);
  const MissRecord &m = (*misses)[0];
  CHECK(m.problemKey == kKey);
  CHECK(m.count == 5);
  CHECK(m.firstUnix == 50);
  CHECK(m.lastUnix == 300);
  auto ro = mustOpen(path, /*readOnly=*/true);
  CHECK(ro->putMisses({{kKey, "cpu", "CPU A", 1, 1, 1}}).code() ==
        StatusCode::FailedPrecondition);
}

TEST_CASE("A version 1 file is read as it is and upgraded on write",
          "[cache]") {
  TempDir dir;
  std::string path = dir.file("v1.db");
  // The schema and content ktune wrote before version 2.
  rawExec(
      path,
      "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
      "CREATE TABLE measurements(id INTEGER PRIMARY KEY, problem_key TEXT "
      "NOT NULL, op TEXT, target TEXT NOT NULL, template_name TEXT, "
      "template_hash TEXT, params TEXT, status TEXT, message TEXT, time_ms "
      "REAL, dispersion REAL, warm_ms REAL, iterations INTEGER, max_error "
      "REAL, device_model TEXT, device_features TEXT, compiler_fingerprint "
      "TEXT, binary_hash TEXT, created_unix INTEGER);"
      "CREATE TABLE winners(problem_key TEXT NOT NULL, target TEXT NOT "
      "NULL, measurement_id INTEGER NOT NULL, PRIMARY KEY(problem_key, "
      "target));"
      "CREATE TABLE binaries(hash TEXT PRIMARY KEY, target TEXT, bytes "
      "BLOB);"
      "INSERT INTO meta VALUES('schema_version', '1'), ('application', "
      "'ktune');"
      "INSERT INTO measurements(id, problem_key, op, target, template_name, "
      "params, status, time_ms, device_model) VALUES(1, "
      "'gemm_f32_NN_64x64x64_ld_64_64_64', 'gemm', 'cpu', 'cpu.gemm.mlir', "
      "'mr=4', 'ok', 2.5, 'Old CPU'), (2, "
      "'gemm_f32_NN_64x64x64_ld_64_64_64', 'gemm', 'cpu', 'cpu.gemm.mlir', "
      "'mr=6', 'ok', 1.5, 'Old CPU');"
      "INSERT INTO winners VALUES('gemm_f32_NN_64x64x64_ld_64_64_64', "
      "'cpu', 2);");
  {
    auto ro = mustOpen(path, /*readOnly=*/true);
    CHECK(ro->schemaVersion() == 1);
    auto w = ro->winner(kKey, "cpu", "Old CPU");
    REQUIRE(w.isOk());
    REQUIRE(w->has_value());
    CHECK((*w)->params == "mr=6");
    CHECK((*w)->launch.empty());
    CHECK(ro->misses()->empty());
  }
  auto rw = mustOpen(path);
  CHECK(rw->schemaVersion() == 2);
  auto w = rw->winner(kKey, "cpu", "Old CPU");
  REQUIRE(w->has_value());
  CHECK((*w)->params == "mr=6");
  CHECK(rw->measurements(kKey, "cpu")->size() == 2);
  TuningRecord faster = makeRecord(kKey, "mr=8", 1.0);
  faster.deviceModel = "Old CPU";
  REQUIRE(rw->put(faster).isOk());
  CHECK(rw->winner(kKey, "cpu", "Old CPU")->value().params == "mr=8");
  REQUIRE(rw->putMisses({{kKey, "cpu", "Old CPU", 1, 1, 1}}).isOk());
}

TEST_CASE("A memory store works like a file", "[cache]") {
  auto store = openMemoryStore();
  REQUIRE(store.isOk());
  REQUIRE((*store)->put(makeRecord(kKey, "mr=4", 1.0)).isOk());
  CHECK((*store)->winner(kKey, "cpu", "")->has_value());
  CHECK((*store)->path() == "(in-memory results)");
}
