// runProcess: exit codes, output files, and the timeout that stops a child
// that never finishes (a hung compiler).
#include "ktune/base/Subprocess.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>

using namespace kt;

TEST_CASE("runProcess returns the exit code and keeps the output") {
  const std::string out =
      (std::filesystem::temp_directory_path() / "kt-subprocess-out.txt")
          .string();
  auto rc = runProcess({"/bin/sh", "-c", "echo hello; exit 3"}, out, "", 5);
  REQUIRE(rc.isOk());
  REQUIRE(*rc == 3);
  REQUIRE(readTextFile(out) == "hello\n");
  std::filesystem::remove(out);
  auto missing = runProcess({"/nonexistent/compiler"}, "", "");
  REQUIRE_FALSE(missing.isOk());
  REQUIRE_THAT(missing.status().message(),
               Catch::Contains("/nonexistent/compiler"));
}

TEST_CASE("runProcess stops a child that outlives its timeout") {
  const auto start = std::chrono::steady_clock::now();
  auto rc = runProcess({"/bin/sleep", "30"}, "", "", 0.3);
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  REQUIRE_FALSE(rc.isOk());
  REQUIRE(rc.status().code() == StatusCode::DeadlineExceeded);
  REQUIRE_THAT(rc.status().message(),
               Catch::Contains("/bin/sleep did not finish within 0.3 s"));
  // Killed, not waited for (the child would run 30 s).
  REQUIRE(took < 20);
  // A child that finishes in time is not disturbed.
  auto quick = runProcess({"/bin/sh", "-c", "exit 0"}, "", "", 10);
  REQUIRE(quick.isOk());
  REQUIRE(*quick == 0);
}
