// The GEMM table the GPU benchmarks share: the shapes (4096^3, 8192^3 and
// the LLM projections), one row per shape with ktune's tuned TFLOP/s beside
// the vendor library's, the geometric-mean ratio, and the JSON rows
// (m, n, k, layout, dtype, ktune_tflops, ref_tflops, ratio).
#pragma once

#include "ktune/problem/GemmProblem.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace kt::bench {

struct GemmRow {
  GemmProblem problem;
  std::string family, params;
  double ktuneTflops = 0, refTflops = 0, ratio = 0;
  std::string note;
};

/// bf16 NT (torch x @ W.T: A tokens x in, B weights out x in).
inline GemmProblem nt(int64_t m, int64_t n, int64_t k) {
  GemmProblem p;
  p.dtype = DType::BF16;
  p.transA = false;
  p.transB = true;
  p.m = m;
  p.n = n;
  p.k = k;
  p.setDefaultLeadingDims();
  return p;
}

inline std::vector<GemmProblem> gemmShapes(bool quick) {
  std::vector<GemmProblem> out = {nt(4096, 4096, 4096)};
  if (!quick) {
    out.push_back(nt(8192, 8192, 8192));
  }
  // (N, K) of the projections: Llama-3-8B (hidden 4096, MLP 14336),
  // Llama-2-70B (8192, 28672), gpt-oss-120b (2880, experts 2880 -> 5760).
  std::vector<std::pair<int64_t, int64_t>> nk = {
      {4096, 4096},  {14336, 4096}, {4096, 14336}, {8192, 8192},
      {28672, 8192}, {8192, 28672}, {2880, 2880},  {5760, 2880}};
  std::vector<int64_t> ms = {1, 16, 64, 128, 512, 4096};
  if (quick) {
    nk = {{4096, 4096}, {14336, 4096}};
    ms = {1, 128, 4096};
  }
  for (auto [n, k] : nk) {
    for (int64_t m : ms) {
      out.push_back(nt(m, n, k));
    }
  }
  return out;
}

inline double tflops(const GemmProblem &p, double ms) {
  return ms > 0 ? p.flops() / (ms * 1e9) : 0;
}

inline void printGemmHeader(const char *vendor) {
  fmt::print("{:<40} {:>12} {:>12} {:>7}  {}\n", "problem (bf16)", "ktune TF/s",
             vendor, "ratio", "winner");
}

inline void printGemmRow(const GemmRow &row) {
  const GemmProblem &p = row.problem;
  fmt::print("{:<40} {:>12.1f} {:>12.1f} {:>7.2f}  {} {}{}\n",
             fmt::format("{}x{}x{} {}", p.m, p.n, p.k, p.layout()),
             row.ktuneTflops, row.refTflops, row.ratio, row.family, row.params,
             row.note.empty() ? "" : "  (" + row.note + ")");
  std::fflush(stdout);
}

/// The geometric mean of the ratios, printed as a last line.
inline void printGeomean(const std::vector<GemmRow> &rows, const char *vendor) {
  double logSum = 0;
  int counted = 0;
  for (const GemmRow &r : rows) {
    if (r.ratio > 0) {
      logSum += std::log(r.ratio);
      ++counted;
    }
  }
  if (counted) {
    fmt::print("geomean ratio (ktune / {}) over {} shapes: {:.3f}\n", vendor,
               counted, std::exp(logSum / counted));
  }
}

/// Writes the rows as a JSON array; false if the file cannot be written.
inline bool writeGemmJson(const std::string &path,
                          const std::vector<GemmRow> &rows,
                          const std::string &device) {
  std::FILE *f = std::fopen(path.c_str(), "w");
  if (!f) {
    return false;
  }
  fmt::print(f, "[\n");
  for (size_t i = 0; i < rows.size(); ++i) {
    const GemmRow &r = rows[i];
    fmt::print(f,
               "  {{\"m\": {}, \"n\": {}, \"k\": {}, \"layout\": \"{}\", "
               "\"dtype\": \"bf16\", \"ktune_tflops\": {:.3f}, "
               "\"ref_tflops\": {:.3f}, \"ratio\": {:.4f}, \"device\": "
               "\"{}\", \"winner\": \"{} {}\"}}{}\n",
               r.problem.m, r.problem.n, r.problem.k, r.problem.layout(),
               r.ktuneTflops, r.refTflops, r.ratio, device, r.family, r.params,
               i + 1 < rows.size() ? "," : "");
  }
  fmt::print(f, "]\n");
  return std::fclose(f) == 0;
}

} // namespace kt::bench
