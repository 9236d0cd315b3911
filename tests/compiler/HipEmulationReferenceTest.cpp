// The tuner's AMD reference kernels (hipReferenceSource(): kt_ref, kt_check
// and kt_attn_ref, which every candidate on an AMD GPU is checked against)
// executed on the host CPU under the emulation of wave64 (HipEmulation.h),
// launched as the tuner launches them (GemmSets.h, GpuMeasure.h,
// AttentionSets.h), against double-precision host references.
//
// As for the families, this checks the kernels' logic (2-D indexing, LDS
// tiles and their barriers, ragged edges and layouts, the grid-stride loop,
// the verdict's count and worst ratio, 16-bit and f32 outputs, the online
// softmax over key tiles, causal limits), not the hardware. Each kernel runs
// twice, in order and with workgroups and work-items reversed, and must give
// the same bits; outputs start as NaN, inputs are read-only with NaN padding,
// and every buffer ends at an inaccessible page.
#include "compiler/HipEmulation.h"
#include "compiler/HipEmulationText.h"
#include "ktune/tuner/HipGemmBench.h"
#include "support/AttentionReference.h"
#include "support/HalfFloat.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <random>

using namespace kt;
using namespace kt::test;

namespace {

// The reference text has no KT_THREADS: each entry is built with the
// workgroup size its launches use.
std::pair<std::string, std::string> referenceText(const std::string &entry,
                                                  int threads) {
  return {"#define KT_THREADS " + std::to_string(threads) + "\n" +
              hipReferenceSource(),
          entry};
}

uint16_t nanBits(DType dt) { return dt == DType::BF16 ? 0x7FC0 : 0x7E00; }

uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float bitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// --- kt_ref ---------------------------------------------------------------

using RefFn = void (*)(const uint16_t *, const uint16_t *, float *, float *,
                       int, int, int, int, int, int, int, int);

struct GemmRefCase {
  const char *layout; // "NN", "NT", "TN", "TT"
  DType dtype;
  int m, n, k;
};

/// Runs kt_ref on the case twice (grid ceil(N/16) x ceil(M/16) of 16 x 16
/// work-items); the number of elements of ref / mag outside the bound, or
/// -1 if the two runs differ.
int runGemmRef(const hipemu::HostKernel &kernel, const GemmRefCase &c,
               uint32_t seed) {
  const DType dt = c.dtype;
  const bool ta = c.layout[0] == 'T', tb = c.layout[1] == 'T';
  const int aRows = ta ? c.k : c.m, aCols = ta ? c.m : c.k;
  const int bRows = tb ? c.n : c.k, bCols = tb ? c.k : c.n;
  const int lda = aCols + 5, ldb = bCols + 3;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  // Stored matrices, NaN in the padding past each row.
  auto matrix = [&](int rows, int cols, int ld) {
    std::vector<uint16_t> v(size_t(rows) * size_t(ld), nanBits(dt));
    for (int r = 0; r < rows; ++r) {
      for (int col = 0; col < cols; ++col) {
        v[size_t(r) * size_t(ld) + size_t(col)] = toBits(dt, dist(rng));
      }
    }
    return v;
  };
  const std::vector<uint16_t> a = matrix(aRows, aCols, lda);
  const std::vector<uint16_t> b = matrix(bRows, bCols, ldb);
  const size_t mn = size_t(c.m) * size_t(c.n);
  hipemu::DeviceBuffer dA("A", a.size() * 2), dB("B", b.size() * 2),
      dRef("ref", mn * 4), dMag("mag", mn * 4);
  std::memcpy(dA.data(), a.data(), a.size() * 2);
  std::memcpy(dB.data(), b.data(), b.size() * 2);
  dA.setReadOnly(true);
  dB.setReadOnly(true);

  const auto fn = reinterpret_cast<RefFn>(kernel.entry());
  const hipemu::Dims grid{unsigned((c.n + 15) / 16), unsigned((c.m + 15) / 16)};
  std::vector<float> ref[2], mag[2];
  for (int run = 0; run < 2; ++run) {
    std::memset(dRef.data(), 0xFF, mn * 4);
    std::memset(dMag.data(), 0xFF, mn * 4);
    const Status s = hipemu::launch(
        kernel, {16, 16}, grid, hipemu::gridOrder(grid.x * grid.y, run == 1),
        run == 1, [&] {
          fn(dA.as<uint16_t>(), dB.as<uint16_t>(), dRef.as<float>(),
             dMag.as<float>(), c.m, c.n, c.k, lda, ldb, int(ta), int(tb),
             int(dt == DType::BF16));
        });
    INFO(s.toString());
    REQUIRE(s.isOk());
    ref[run].assign(dRef.as<float>(), dRef.as<float>() + mn);
    mag[run].assign(dMag.as<float>(), dMag.as<float>() + mn);
  }
  if (std::memcmp(ref[0].data(), ref[1].data(), mn * 4) != 0 ||
      std::memcmp(mag[0].data(), mag[1].data(), mn * 4) != 0) {
    return -1;
  }
  // Products of 16-bit values are exact in f32: K additions in f32 are off
  // by at most K 2^-24 sum |a b|.
  int bad = 0;
  for (int i = 0; i < c.m; ++i) {
    for (int j = 0; j < c.n; ++j) {
      double acc = 0, sum = 0;
      for (int kk = 0; kk < c.k; ++kk) {
        const double x =
            fromBits(dt, a[size_t(ta ? kk * lda + i : i * lda + kk)]);
        const double y =
            fromBits(dt, b[size_t(tb ? j * ldb + kk : kk * ldb + j)]);
        acc += x * y;
        sum += std::fabs(x * y);
      }
      const double tol = std::ldexp(double(c.k + 1), -24) * sum;
      const size_t e = size_t(i) * size_t(c.n) + size_t(j);
      const double gotRef = ref[0][e], gotMag = mag[0][e];
      if (!(std::fabs(gotRef - acc) <= tol && std::fabs(gotMag - sum) <= tol) &&
          bad++ < 5) {
        UNSCOPED_INFO("ref[" << i << "][" << j << "] = " << gotRef << ", mag = "
                             << gotMag << "; expected " << acc << ", " << sum);
      }
    }
  }
  return bad;
}

// --- kt_check -------------------------------------------------------------

// kt_check(C, ldc, ref, mag, M, N, alpha, fmt, absTol, verdict), C's
// element type fmt: 0 fp16, 1 bf16, 2 f32.
using CheckFn = void (*)(const void *, int, const float *, const float *, int,
                         int, float, int, float, uint32_t *);

// Bf16Rounded: an f32 output each of whose elements went through bf16.
enum class Output { Exact, Few, NaNRows, All, Bf16Rounded };

struct CheckCase {
  const char *what;
  DType dtype; // of a 16-bit C; ignored with outF32
  bool withMag;
  float alpha, absTol;
  int m, n, ldc;
  unsigned workgroups; // 0: the tuner's min(ceil(M N / 256), 4096)
  Output output;
  bool outF32 = false; // C in f32 (fmt 2)
};

int fmtOf(const CheckCase &k) {
  return k.outF32 ? 2 : k.dtype == DType::BF16 ? 1 : 0;
}

struct Verdict {
  uint32_t count = 0, worst = 0;
};

/// The candidate output of the case, and the verdict kt_check should give
/// (the kernel's arithmetic in f32 on the host).
struct CheckData {
  std::vector<float> ref, mag;
  std::vector<uint32_t> c; // element bits, 16 or 32 of them
  Verdict expected;
  uint32_t perturbed = 0; // elements made wrong on purpose
};

CheckData checkData(const CheckCase &k, uint32_t seed) {
  const DType dt = k.dtype;
  const size_t mn = size_t(k.m) * size_t(k.n);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f), unit(0.0f, 1.0f);
  CheckData d;
  d.ref.resize(mn);
  d.mag.resize(mn);
  for (size_t e = 0; e < mn; ++e) {
    d.ref[e] = dist(rng);
    d.mag[e] = std::fabs(d.ref[e]) + 4.0f * unit(rng);
  }
  // C's element from and to a float: f32, or 16-bit bits.
  auto toC = [&](float v) -> uint32_t {
    return k.outF32 ? floatBits(v) : toBits(dt, v);
  };
  auto fromC = [&](uint32_t bits) {
    return k.outF32 ? bitsFloat(bits) : fromBits(dt, uint16_t(bits));
  };
  const uint32_t nanC = k.outF32 ? 0x7FC00000u : nanBits(dt);
  auto tolOf = [&](size_t e) {
    const float want = k.alpha * d.ref[e];
    return std::ldexp(std::fabs(want), k.outF32 ? -16 : -7) +
           (k.withMag ? 1e-4f * std::fabs(k.alpha) * d.mag[e] : 0.0f) +
           k.absTol;
  };
  // C: alpha ref rounded, NaN in its padding columns.
  d.c.assign(size_t(k.m) * size_t(k.ldc), nanC);
  for (int i = 0; i < k.m; ++i) {
    for (int j = 0; j < k.n; ++j) {
      const size_t e = size_t(i) * size_t(k.n) + size_t(j);
      float v = k.alpha * d.ref[e];
      bool wrong = false;
      switch (k.output) {
      case Output::Exact:
        break;
      case Output::Few: {
        // The first and last elements and five spread between them, from
        // 2 to 8 times the tolerance off, either way.
        const size_t step = mn / 6;
        if (e == 0 || e == mn - 1 || (e % step == step / 2 && e / step < 5)) {
          const float times = 2.0f + float(d.perturbed);
          v += (d.perturbed % 2 ? -times : times) * tolOf(e);
          wrong = true;
        }
        break;
      }
      case Output::NaNRows:
        wrong = i % 5 == 2;
        break;
      case Output::All:
        v += (e % 2 ? -1.0f : 1.0f) * (2.0f + unit(rng)) * tolOf(e);
        wrong = true;
        break;
      case Output::Bf16Rounded: {
        // Off by up to 2^-9 |v|: wrong where that exceeds the tolerance.
        const float rounded = fromBf16(toBf16(v));
        wrong = !(std::fabs(rounded - v) <= tolOf(e));
        v = rounded;
        break;
      }
      }
      d.perturbed += wrong;
      d.c[size_t(i) * size_t(k.ldc) + size_t(j)] =
          k.output == Output::NaNRows && wrong ? nanC : toC(v);
    }
  }
  for (int i = 0; i < k.m; ++i) {
    for (int j = 0; j < k.n; ++j) {
      const size_t e = size_t(i) * size_t(k.n) + size_t(j);
      const float want = k.alpha * d.ref[e];
      const float got = fromC(d.c[size_t(i) * size_t(k.ldc) + size_t(j)]);
      const float tol = tolOf(e), err = std::fabs(got - want);
      float ratio = err / tol;
      if (!(err <= tol)) {
        ++d.expected.count;
        if (std::isnan(ratio)) {
          ratio = 3.0e38f;
        }
      }
      d.expected.worst = std::max(d.expected.worst, floatBits(ratio));
    }
  }
  return d;
}

/// Runs kt_check twice (workgroups of 256); fails unless both runs give the
/// same verdict and leave the verdict's other words alone.
Verdict runCheck(const hipemu::HostKernel &kernel, const CheckCase &k,
                 const CheckData &d) {
  const size_t mn = size_t(k.m) * size_t(k.n);
  hipemu::DeviceBuffer dC("C", d.c.size() * (k.outF32 ? 4 : 2)),
      dRef("ref", mn * 4), dMag("mag", mn * 4), dVerdict("verdict", 16);
  for (size_t i = 0; i < d.c.size(); ++i) {
    if (k.outF32) {
      dC.as<uint32_t>()[i] = d.c[i];
    } else {
      dC.as<uint16_t>()[i] = uint16_t(d.c[i]);
    }
  }
  std::memcpy(dRef.data(), d.ref.data(), mn * 4);
  std::memcpy(dMag.data(), d.mag.data(), mn * 4);
  dC.setReadOnly(true);
  dRef.setReadOnly(true);
  dMag.setReadOnly(true);
  const unsigned workgroups =
      k.workgroups ? k.workgroups
                   : unsigned(std::min<size_t>((mn + 255) / 256, 4096));
  const auto fn = reinterpret_cast<CheckFn>(kernel.entry());
  Verdict v[2];
  for (int run = 0; run < 2; ++run) {
    uint32_t *words = dVerdict.as<uint32_t>();
    words[0] = words[1] = 0;
    words[2] = 0xAAAAAAAAu;
    words[3] = 0x55555555u;
    const Status s =
        hipemu::launch(kernel, {256, 1}, {workgroups, 1},
                       hipemu::gridOrder(workgroups, run == 1), run == 1, [&] {
                         fn(dC.data(), k.ldc, dRef.as<float>(),
                            k.withMag ? dMag.as<float>() : nullptr, k.m, k.n,
                            k.alpha, fmtOf(k), k.absTol, words);
                       });
    INFO(s.toString());
    REQUIRE(s.isOk());
    REQUIRE(words[2] == 0xAAAAAAAAu);
    REQUIRE(words[3] == 0x55555555u);
    v[run] = {words[0], words[1]};
  }
  REQUIRE(v[0].count == v[1].count);
  REQUIRE(v[0].worst == v[1].worst);
  return v[0];
}

std::vector<CheckCase> checkCases() {
  const DType bf = DType::BF16, f16 = DType::F16;
  // 45 x 70 = 3150 elements: 13 workgroups of 256 in the tuner's launch;
  // the smaller grids loop over the elements 3 to 13 times.
  return {
      {"exact bf16, magnitudes, 5 workgroups", bf, true, 1.0f, 1e-3f, 45, 70,
       75, 5, Output::Exact},
      {"exact f16, no magnitudes, alpha -1.5, the tuner's grid", f16, false,
       -1.5f, 8e-3f, 45, 70, 72, 0, Output::Exact},
      {"seven elements off, bf16, 3 workgroups", bf, true, 1.0f, 1e-3f, 45, 70,
       75, 3, Output::Few},
      {"seven elements off, f16, alpha 0.75, 7 workgroups", f16, true, 0.75f,
       1e-3f, 45, 70, 70, 7, Output::Few},
      {"NaN rows, bf16, no magnitudes, 4 workgroups", bf, false, 1.0f, 8e-3f,
       45, 70, 71, 4, Output::NaNRows},
      {"NaN rows, f16, the tuner's grid", f16, true, 1.0f, 1e-3f, 45, 70, 75, 0,
       Output::NaNRows},
      {"every element off, bf16, one workgroup", bf, true, 1.0f, 1e-3f, 45, 70,
       70, 1, Output::All},
      {"every element off, f16, a grid larger than the output", f16, true,
       -1.0f, 1e-3f, 9, 20, 21, 2, Output::All},
      // f32 outputs (fmt 2): the tolerance 2^-16 |want| + absTol.
      {"exact f32, no magnitudes, alpha 1.25, 6 workgroups", bf, false, 1.25f,
       1e-6f, 45, 70, 73, 6, Output::Exact, true},
      {"exact f32, magnitudes, the tuner's grid", f16, true, -0.5f, 1e-6f, 45,
       70, 70, 0, Output::Exact, true},
      {"seven elements off by 2 to 8 f32 tolerances, 3 workgroups", bf, false,
       1.0f, 1e-6f, 45, 70, 74, 3, Output::Few, true},
      {"f32 rounded through bf16, the tuner's grid", bf, false, 1.0f, 1e-6f, 45,
       70, 71, 0, Output::Bf16Rounded, true},
      {"NaN rows, f32, 4 workgroups", bf, false, 1.0f, 1e-6f, 45, 70, 72, 4,
       Output::NaNRows, true},
      {"every element off, f32, magnitudes, one workgroup", f16, true, 2.0f,
       1e-6f, 45, 70, 70, 1, Output::All, true},
  };
}

// --- kt_attn_ref ----------------------------------------------------------

using AttnFn = void (*)(const uint16_t *, const uint16_t *, const uint16_t *,
                        float *, int, int, int, int, int, int, int, float, int);

constexpr auto problem = &test::attentionProblem;

struct AttnCase {
  const char *what;
  AttentionProblem p;
  float qRange; // Q uniform in [-qRange, qRange]; K and V in [-1, 1]
  double tol;   // |ref - exact| <= tol (1 + |exact|)
};

std::vector<AttnCase> attnCases() {
  using L = AttentionProblem::Layout;
  const DType bf = DType::BF16, f16 = DType::F16;
  return {
      {"GQA 2:1, BSHD, 300 keys (tiles of 128, 128, 44), d 64",
       problem(bf, L::BSHD, 2, 4, 2, 7, 300, 64, false), 1.0f, 2e-6},
      {"causal with sq < skv (252 to 271 keys), BHSD, MQA, d 256",
       problem(f16, L::BHSD, 1, 2, 1, 20, 271, 256, true), 1.0f, 2e-6},
      {"causal with sq > skv (the first 20 rows see no key), BHSD, d 64",
       problem(bf, L::BHSD, 1, 3, 3, 160, 140, 64, true), 1.0f, 2e-6},
      {"scores of hundreds (exp overflows without the running maximum), "
       "BSHD, GQA 4:1, d 128",
       problem(f16, L::BSHD, 1, 4, 1, 5, 400, 128, false), 150.0f, 2e-5},
      {"causal with sq > skv, BSHD, GQA 3:1, d 256, 2 batches",
       problem(bf, L::BSHD, 2, 3, 1, 6, 5, 256, true), 1.0f, 2e-6},
  };
}

/// Runs kt_attn_ref on the case twice (b hq sq workgroups of 128) at the
/// tuner's scale 1 / sqrt(d); the number of elements outside the bound, or
/// -1 if the two runs differ.
int runAttnRef(const hipemu::HostKernel &kernel, const AttnCase &c,
               uint32_t seed) {
  const AttentionProblem &p = c.p;
  const DType dt = p.dtype;
  std::mt19937 rng(seed);
  auto tensor = [&](int64_t n, float range, std::vector<float> &rounded) {
    const std::vector<float> x = randomTensor(n, rng, range);
    std::vector<uint16_t> bits(x.size());
    rounded.resize(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      bits[i] = toBits(dt, x[i]);
      rounded[i] = fromBits(dt, bits[i]);
    }
    return bits;
  };
  std::vector<float> qf, kf, vf;
  const std::vector<uint16_t> q = tensor(p.qElements(), c.qRange, qf);
  const std::vector<uint16_t> k = tensor(p.kvElements(), 1.0f, kf);
  const std::vector<uint16_t> v = tensor(p.kvElements(), 1.0f, vf);
  const double scale = 1.0 / std::sqrt(double(p.d));
  const std::vector<double> want = attentionReference(p, qf, kf, vf, scale);

  hipemu::DeviceBuffer dQ("Q", q.size() * 2), dK("K", k.size() * 2),
      dV("V", v.size() * 2), dRef("ref", q.size() * 4);
  std::memcpy(dQ.data(), q.data(), q.size() * 2);
  std::memcpy(dK.data(), k.data(), k.size() * 2);
  std::memcpy(dV.data(), v.data(), v.size() * 2);
  dQ.setReadOnly(true);
  dK.setReadOnly(true);
  dV.setReadOnly(true);
  const auto fn = reinterpret_cast<AttnFn>(kernel.entry());
  const unsigned workgroups = unsigned(p.batch * p.hq * p.sq);
  std::vector<float> out[2];
  for (int run = 0; run < 2; ++run) {
    std::memset(dRef.data(), 0xFF, q.size() * 4);
    const Status s = hipemu::launch(
        kernel, {128, 1}, {workgroups, 1},
        hipemu::gridOrder(workgroups, run == 1), run == 1, [&] {
          fn(dQ.as<uint16_t>(), dK.as<uint16_t>(), dV.as<uint16_t>(),
             dRef.as<float>(), int(p.hq), int(p.hkv), int(p.sq), int(p.skv),
             int(p.d), int(p.layout == AttentionProblem::Layout::BSHD),
             int(p.causal), float(scale), int(dt == DType::BF16));
        });
    INFO(s.toString());
    REQUIRE(s.isOk());
    out[run].assign(dRef.as<float>(), dRef.as<float>() + q.size());
  }
  if (std::memcmp(out[0].data(), out[1].data(), q.size() * 4) != 0) {
    return -1;
  }
  int bad = 0;
  double worst = 0;
  for (int64_t b = 0; b < p.batch; ++b) {
    for (int64_t h = 0; h < p.hq; ++h) {
      for (int64_t i = 0; i < p.sq; ++i) {
        for (int64_t e = 0; e < p.d; ++e) {
          const size_t at = size_t(p.qOffset(b, h, i) + e);
          const double got = out[0][at], exact = want[at];
          const double err = std::fabs(got - exact);
          worst = std::max(worst, err / (1 + std::fabs(exact)));
          // Rows that see no key are exactly 0.
          const bool ok = p.keyLimit(i) == 0
                              ? out[0][at] == 0.0f
                              : err <= c.tol * (1 + std::fabs(exact));
          if (!ok && bad++ < 5) {
            UNSCOPED_INFO("ref (" << b << ", " << h << ", " << i << ", " << e
                                  << ") = " << got << ", expected " << exact);
          }
        }
      }
    }
  }
  UNSCOPED_INFO("worst error " << worst << " x (1 + |ref|)");
  return bad;
}

} // namespace

TEST_CASE("the AMD reference GEMM kt_ref computes the product and its "
          "magnitudes under the host emulation, in every layout") {
  hipemu::KernelBuilder builder({referenceText("kt_ref", 256)}, 1);
  auto kernel = builder.take(0);
  INFO(kernel.status().toString());
  REQUIRE(kernel.isOk());
  const DType bf = DType::BF16, f16 = DType::F16;
  const GemmRefCase cases[] = {
      {"NN", bf, 37, 50, 45},  {"NN", f16, 70, 33, 100},
      {"NT", bf, 50, 37, 7},   {"NT", f16, 33, 70, 64},
      {"TN", bf, 16, 48, 130}, {"TN", f16, 61, 17, 33},
      {"TT", bf, 40, 41, 90},  {"TT", f16, 5, 90, 16},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    const GemmRefCase &c = cases[i];
    INFO(c.layout << " " << dtypeName(c.dtype) << " " << c.m << " x " << c.n
                  << " x " << c.k);
    REQUIRE(runGemmRef(**kernel, c, uint32_t(40 + i)) == 0);
  }
}

TEST_CASE("the AMD reference check kt_check counts the outputs beyond the "
          "tolerance and their worst ratio under the host emulation") {
  hipemu::KernelBuilder builder({referenceText("kt_check", 256)}, 1);
  auto kernel = builder.take(0);
  INFO(kernel.status().toString());
  REQUIRE(kernel.isOk());
  const std::vector<CheckCase> cases = checkCases();
  for (size_t i = 0; i < cases.size(); ++i) {
    const CheckCase &k = cases[i];
    INFO(k.what);
    const CheckData d = checkData(k, uint32_t(7 + i));
    const Verdict v = runCheck(**kernel, k, d);
    const float worst = bitsFloat(v.worst),
                expected = bitsFloat(d.expected.worst);
    INFO(v.count << " mismatches, worst ratio " << worst << "; expected "
                 << d.expected.count << ", " << expected);
    switch (k.output) {
    case Output::Exact:
      REQUIRE(d.expected.count == 0);
      REQUIRE(v.count == 0);
      REQUIRE(worst < 0.6f);
      break;
    case Output::Few:
      REQUIRE(d.expected.count == 7);
      REQUIRE(v.count == 7);
      REQUIRE(worst > 1.0f);
      break;
    case Output::NaNRows:
      REQUIRE(d.expected.count == 9u * unsigned(k.n));
      REQUIRE(v.count == d.expected.count);
      REQUIRE(v.worst == floatBits(3.0e38f));
      break;
    case Output::All:
      REQUIRE(d.expected.count == unsigned(k.m * k.n));
      REQUIRE(v.count == d.expected.count);
      REQUIRE(worst > 1.0f);
      break;
    case Output::Bf16Rounded:
      // Nearly every element: bf16 keeps 8 bits, the check wants 16.
      REQUIRE(d.expected.count > unsigned(k.m * k.n) * 9 / 10);
      REQUIRE(v.count == d.expected.count);
      REQUIRE(worst > 16.0f);
      break;
    }
    REQUIRE(d.perturbed == d.expected.count);
    // The same worst ratio as the host's f32 arithmetic (up to contraction).
    REQUIRE(std::fabs(worst - expected) <= 1e-5f * expected);
  }
}

TEST_CASE("the AMD reference attention kt_attn_ref computes attention "
          "under the host emulation") {
  hipemu::KernelBuilder builder({referenceText("kt_attn_ref", 128)}, 1);
  auto kernel = builder.take(0);
  INFO(kernel.status().toString());
  REQUIRE(kernel.isOk());
  const std::vector<AttnCase> cases = attnCases();
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO(cases[i].what << ": " << cases[i].p.key());
    REQUIRE(runAttnRef(**kernel, cases[i], uint32_t(90 + i)) == 0);
  }
}

// The checks above would notice a broken reference: each mutation of the
// reference text must fail them.
TEST_CASE("the reference kernels' emulation fails a reference with a wrong "
          "tile index, a check without its grid stride or its f32 "
          "tolerance, or a softmax without its running maximum") {
  auto mutated = [&](const std::string &entry, int threads,
                     const std::string &from, const std::string &to) {
    std::pair<std::string, std::string> t = referenceText(entry, threads);
    t.first = mutateOnce(t.first, from, to);
    return t;
  };
  hipemu::KernelBuilder builder(
      {mutated("kt_ref", 256, "const int ak = k0 + tx, bk = k0 + ty;",
               "const int ak = k0 + ty, bk = k0 + tx;"),
       mutated("kt_check", 256,
               "const long long stride = __builtin_amdgcn_grid_size_x();",
               "const long long stride = 256;"),
       mutated("kt_attn_ref", 128, "const float next = __builtin_fmaxf(m, mx);",
               "const float next = 0.0f;"),
       mutated("kt_check", 256, "fmt == 2 ? -16 : -7", "-7")},
      2);
  {
    INFO("kt_ref with its LDS tiles' K index transposed");
    auto kernel = builder.take(0);
    INFO(kernel.status().toString());
    REQUIRE(kernel.isOk());
    REQUIRE(runGemmRef(**kernel, {"NT", DType::BF16, 37, 50, 45}, 1) != 0);
  }
  {
    INFO("kt_check striding by one workgroup");
    auto kernel = builder.take(1);
    INFO(kernel.status().toString());
    REQUIRE(kernel.isOk());
    CheckCase k = checkCases()[6]; // every element off
    k.workgroups = 4;
    const CheckData d = checkData(k, 3);
    REQUIRE(runCheck(**kernel, k, d).count != d.expected.count);
  }
  {
    INFO("kt_attn_ref without the running maximum");
    auto kernel = builder.take(2);
    INFO(kernel.status().toString());
    REQUIRE(kernel.isOk());
    REQUIRE(runAttnRef(**kernel, attnCases()[3], 5) != 0);
  }
  {
    INFO("kt_check with the 16-bit tolerance for an f32 output");
    auto kernel = builder.take(3);
    INFO(kernel.status().toString());
    REQUIRE(kernel.isOk());
    const std::vector<CheckCase> cases = checkCases();
    const auto rounded =
        std::find_if(cases.begin(), cases.end(), [](const CheckCase &k) {
          return k.output == Output::Bf16Rounded;
        });
    REQUIRE(rounded != cases.end());
    const CheckData d = checkData(*rounded, 11);
    REQUIRE(d.expected.count > 0);
    REQUIRE(runCheck(**kernel, *rounded, d).count == 0); // lets it through
  }
}
