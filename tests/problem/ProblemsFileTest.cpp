// Tests for the problems-file reader.
#include "ktune/problem/ProblemsFile.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>

using namespace kt;
namespace fs = std::filesystem;

namespace {

/// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    std::random_device rd;
    path = fs::temp_directory_path() /
           ("ktune-problems-test-" + std::to_string(rd()) + "-" +
            std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string &name, const std::string &text) const {
    std::string p = (path / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
};

} // namespace

TEST_CASE("Problems file mixes formats and reports bad lines", "[problem]") {
  TempDir dir;
  std::string path =
      dir.file("problems.csv",
               "signature\n"                                                // 1
               "# a comment\n"                                              // 2
               "gemm_f32_NT_16x4096x4096,3\n"                               // 3
               "\n"                                                         // 4
               "GemmTunableOp_float_TN,tn_4096_16_4096_ld_4096_4096_4096\n" // 5
               "gemm_f32_NN_0x4x4\n"                                        // 6
               "GemmTunableOp_Half_NN,nn_64_32_16\r\n"                      // 7
               "Validator,PT_VERSION,2.5.0\n"                               // 8
               "GemmTunableOp_BFloat16_NT,nt_8_8_8,Gemm_Hipblaslt_1,0.01\n" // 9
               "GemmTunableOp_Float8_e4m3fn_TN,tn_16_16_16\n" // 10
               "  gemm_f64_TT_2x3x4_ld_2_4_3  \n");           // 11
  Result<ProblemsFileContents> r = readProblemsFile(path);
  REQUIRE(r.isOk());
  REQUIRE(r->problems.size() == 4);
  CHECK(r->problems[0].key() == "gemm_f32_NT_16x4096x4096_ld_4096_4096_4096");
  CHECK(r->problems[1].key() == "gemm_f16_NN_32x64x16_ld_16_64_64");
  CHECK(r->problems[2].key() == "gemm_bf16_TN_8x8x8_ld_8_8_8");
  CHECK(r->problems[3].key() == "gemm_f64_TT_2x3x4_ld_2_4_3");
  REQUIRE(r->errors.size() == 2);
  CHECK(r->errors[0].rfind(path + ":6: ", 0) == 0);
  CHECK(r->errors[0].find("M=0") != std::string::npos);
  CHECK(r->errors[1].rfind(path + ":10: ", 0) == 0);
  CHECK(r->errors[1].find("Float8_e4m3fn") != std::string::npos);
}

TEST_CASE("Missing problems file is an error naming it", "[problem]") {
  TempDir dir;
  std::string path = (dir.path / "nope.csv").string();
  Result<ProblemsFileContents> r = readProblemsFile(path);
  REQUIRE_FALSE(r.isOk());
  CHECK(r.status().code() == StatusCode::NotFound);
  CHECK(r.status().message().find(path) != std::string::npos);
  Result<ProblemsFileContents> d = readProblemsFile(dir.path.string());
  REQUIRE_FALSE(d.isOk());
  CHECK(d.status().message().find("directory") != std::string::npos);
}

TEST_CASE("Empty problems file has no problems", "[problem]") {
  TempDir dir;
  Result<ProblemsFileContents> r =
      readProblemsFile(dir.file("empty.csv", "signature\n# nothing\n"));
  REQUIRE(r.isOk());
  CHECK(r->problems.empty());
  CHECK(r->errors.empty());
}
