// libFuzzer target: results CSV files (ktune CSV and TunableOp results) and
// problems files. Any bytes must be imported line by line or rejected with a
// message, never crash; whatever is imported must export again.
#include "ktune/cache/CsvFormats.h"
#include "ktune/cache/ResultsStore.h"
#include "ktune/problem/ProblemsFile.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include <unistd.h>

namespace {

/// The input as a file, since the readers take paths.
std::string inputFile(const uint8_t *data, size_t size) {
  static const std::string path =
      "/tmp/ktune-fuzz-csv-" + std::to_string(::getpid()) + ".csv";
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    __builtin_trap();
  }
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  return path;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string path = inputFile(data, size);
  auto problems = kt::readProblemsFile(path);
  if (!problems.isOk() && problems.status().message().empty()) {
    __builtin_trap();
  }
  auto store = kt::openMemoryStore();
  if (!store.isOk()) {
    __builtin_trap();
  }
  auto report = kt::importCsv(**store, path, "cpu");
  if (!report.isOk()) {
    if (report.status().message().empty()) {
      __builtin_trap();
    }
    return 0;
  }
  const std::string out = path + ".out";
  if (!kt::exportKtuneCsv(**store, out).isOk() ||
      !kt::exportTunableOp(**store, out).isOk()) {
    __builtin_trap();
  }
  std::remove(out.c_str());
  return 0;
}
