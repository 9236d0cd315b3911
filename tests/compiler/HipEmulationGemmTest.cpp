// hip.gemm.mfma's generated kernels executed on the host CPU under an
// emulation of the wave64 execution model and the MFMA instructions
// (HipEmulation.h), against a double-precision host reference.
//
// This is verification of the same template on another target: it checks
// the kernel's logic (tile and wave indexing, fragment layouts, LDS staging
// and its double buffering, ragged edges and leading dimensions, split-K
// slicing and merging, alpha / beta) given our reading of the documented
// MFMA operand and result layouts; it does not check the hardware, whose
// actual layouts, memory-model ordering, concurrency and timing only an AMD
// GPU can show. Workgroups run one after another, so the split-K semaphore
// sees slices in sequence and cannot expose a race.
//
// Each kernel runs twice: workgroups and work-items in order, then both
// reversed (the last split-K slice to arrive is then slice 0, and LDS reads
// that a missing barrier would leave stale differ); the two outputs must be
// bitwise equal and the semaphores zero after each. C's padding columns and
// the workspace start as NaN, A and B are read-only with NaN padding, and
// every buffer ends at an inaccessible page. Problems with an f32 C
// (outF32) are checked against a tolerance an f32 result meets and one
// rounded through bf16 does not.
#include "compiler/HipEmulation.h"
#include "compiler/HipEmulationText.h"
#include "ktune/drivers/hip/HipGemmLaunch.h"
#include "ktune/templates/gemm/HipGemmMfma.h"
#include "support/HalfFloat.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

using namespace kt;
using namespace kt::test;

namespace {

struct GemmCase {
  std::string arch;
  std::string layout; // "NN", "NT", "TN", "TT"
  DType dtype;
  int64_t m, n, k;
  Config config = {}; // empty: the family's default configuration
  float alpha = 1.0f, beta = 0.0f;
  bool outF32 = false; // C in f32 (bf16 / f16 A and B)
};

Config cfg(int64_t bm, int64_t bn, int64_t wm, int64_t wn, int64_t bk,
           int64_t pad, int64_t mi, int64_t splitk, int64_t unroll) {
  return {{"bm", bm}, {"bn", bn},         {"wm", wm},
          {"wn", wn}, {"bk", bk},         {"pad", pad},
          {"mi", mi}, {"splitk", splitk}, {"unroll", unroll}};
}

int64_t roundUp8(int64_t v) { return (v + 7) / 8 * 8; }

/// The case's problem, with padded leading dimensions (A and B multiples of
/// 8, as the family requires; C ragged).
GemmProblem problemOf(const GemmCase &c) {
  GemmProblem p;
  p.dtype = c.dtype;
  p.outF32 = c.outF32;
  p.transA = c.layout[0] == 'T';
  p.transB = c.layout[1] == 'T';
  p.m = c.m;
  p.n = c.n;
  p.k = c.k;
  p.lda = roundUp8(p.transA ? p.m : p.k) + 8;
  p.ldb = roundUp8(p.transB ? p.k : p.n) + 8;
  p.ldc = p.n + 3;
  return p;
}

std::vector<GemmCase> gemmCases() {
  std::vector<GemmCase> out;
  const DType bf = DType::BF16, f16 = DType::F16;
  for (const char *arch : {"gfx950", "gfx942"}) {
    // Default configurations (128 x 128 tiles of four 64 x 64 waves): K long
    // enough that they split K (2 slices on gfx950, 4 with a short last one
    // on gfx942); every layout and type.
    for (const char *layout : {"NN", "NT", "TN", "TT"}) {
      for (DType dt : {bf, f16}) {
        out.push_back({arch, layout, dt, 136, 200, 300, {}});
      }
    }
    // Defaults that do not split (K of one or two steps), alpha / beta.
    out.push_back({arch, "NN", bf, 100, 72, 40, {}, 1.5f, -0.75f});
    out.push_back({arch, "TT", f16, 77, 130, 56, {}, -0.5f, 0.25f});
    // The skinny default: 32 x 128 tiles split 4 (gfx950) or 8 (gfx942).
    out.push_back({arch, "NT", bf, 20, 300, 512, {}});
    // 32x32 MFMA blocks, ragged K (3 steps, the last of 8), beta.
    out.push_back({arch, "TN", f16, 100, 150, 72,
                   cfg(64, 128, 32, 64, 32, 8, 32, 1, 1), 1.0f, 0.5f});
    // 32x32 blocks, unroll=2 over slices of 3 steps, split-K 2.
    out.push_back(
        {arch, "NT", bf, 130, 70, 330, cfg(128, 64, 64, 32, 64, 8, 32, 2, 2)});
    // Split-K 4 over 5 steps: slices of 2, 2, 1 and an empty one; unroll=2
    // with an odd tail; no padding.
    out.push_back(
        {arch, "TT", bf, 90, 100, 130, cfg(64, 64, 32, 32, 32, 0, 16, 4, 2)});
    // Split-K 2 over 3 steps of 128 (the last slice short), 16-row waves,
    // alpha / beta.
    out.push_back({arch, "NN", f16, 70, 90, 300,
                   cfg(32, 64, 16, 32, 128, 8, 16, 2, 1), -1.0f, 2.0f});
  }
  return out;
}

/// f32-output problems over the epilogues: plain, split-K (the last slice's
/// sum), unroll=2, 16x16 and 32x32 blocks, alpha / beta, ragged edges,
/// both input types.
std::vector<GemmCase> f32OutCases() {
  std::vector<GemmCase> out;
  const DType bf = DType::BF16, f16 = DType::F16;
  for (const char *arch : {"gfx950", "gfx942"}) {
    // The default configuration, split K (2 slices on gfx950, 4 on gfx942).
    out.push_back({arch, "NT", bf, 136, 200, 300, {}, 1.0f, 0.0f, true});
    // The default unsplit, alpha / beta.
    out.push_back({arch, "TN", f16, 77, 130, 56, {}, -0.5f, 0.25f, true});
    // 32x32 blocks, unroll=2, split-K 2, beta.
    out.push_back({arch, "TT", bf, 130, 70, 330,
                   cfg(128, 64, 64, 32, 64, 8, 32, 2, 2), 1.5f, -0.75f, true});
    // 16x16 blocks, split-K 4 with an empty last slice, unroll=2, beta.
    out.push_back({arch, "NN", f16, 90, 100, 130,
                   cfg(64, 64, 32, 32, 32, 0, 16, 4, 2), 1.0f, 2.0f, true});
  }
  return out;
}

/// kt_gemm's signature; C is u16 or float.
template <class CT>
using KernelFn = void (*)(const uint16_t *, const uint16_t *, CT *, int, int,
                          int, int, int, int, float, float, float *,
                          unsigned *);

float bitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

/// What two launches of a kernel gave.
struct Outcome {
  Status status;              ///< Of the launches (the emulation's checks).
  bool semaphoresZero = true; ///< After each launch.
  bool sameBits = true;       ///< Both orders wrote the same C.
  int bad = 0;                ///< Elements outside the tolerance or padding.
  double worst = 0;           ///< Largest error / tolerance.
  bool ok() const {
    return status.isOk() && semaphoresZero && sameBits && bad == 0;
  }
};

/// Runs one instantiated kernel on the case, twice.
Outcome runGemm(const hipemu::HostKernel &kernel, const KernelSource &src,
                const GemmProblem &p, float alpha, float beta, uint32_t seed) {
  auto spec = hip::parseGemmLaunchSpec(src.launch);
  REQUIRE(spec.isOk());
  REQUIRE(spec->args == hip::GemmLaunchSpec::Args::Dims);
  const unsigned grid = hip::gemmGridSize(*spec, p);
  const uint64_t wsBytes = hip::gemmWorkspaceBytes(*spec, p);
  const uint64_t sems = hip::gemmSemaphores(*spec, p);

  const DType dt = p.dtype;
  const uint16_t nan = dt == DType::BF16 ? 0x7FC0 : 0x7E00;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const int64_t aRows = p.transA ? p.k : p.m, aCols = p.transA ? p.m : p.k;
  const int64_t bRows = p.transB ? p.n : p.k, bCols = p.transB ? p.k : p.n;
  // Stored matrices, NaN in the padding past each row.
  auto matrix = [&](int64_t rows, int64_t cols, int64_t ld, bool fill) {
    std::vector<uint16_t> v(size_t(rows * ld), nan);
    for (int64_t r = 0; r < rows && fill; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        v[size_t(r * ld + c)] = toBits(dt, dist(rng));
      }
    }
    return v;
  };
  const std::vector<uint16_t> a = matrix(aRows, aCols, p.lda, true);
  const std::vector<uint16_t> b = matrix(bRows, bCols, p.ldb, true);
  // C as element bits (16 or 32 of them), NaN in its padding; an f32 C
  // starts with values no 16-bit type holds, so a beta that read it
  // rounded would show.
  const bool f32 = p.outF32;
  const size_t cElem = f32 ? 4 : 2;
  std::vector<uint32_t> c0(size_t(p.m * p.ldc), f32 ? 0x7FC00000u : nan);
  for (int64_t r = 0; r < p.m && beta != 0.0f; ++r) {
    for (int64_t c = 0; c < p.n; ++c) {
      const float v = dist(rng);
      c0[size_t(r * p.ldc + c)] = f32 ? floatBits(v) : toBits(dt, v);
    }
  }
  auto cValue = [&](uint32_t bits) {
    return f32 ? double(bitsFloat(bits)) : double(fromBits(dt, uint16_t(bits)));
  };

  hipemu::DeviceBuffer dA("A", a.size() * 2), dB("B", b.size() * 2),
      dC("C", c0.size() * cElem), dWs("workspace", wsBytes),
      dSem("semaphores", sems * 4);
  // C's bits to and from the device buffer.
  auto putC = [&] {
    for (size_t i = 0; i < c0.size(); ++i) {
      if (f32) {
        dC.as<uint32_t>()[i] = c0[i];
      } else {
        dC.as<uint16_t>()[i] = uint16_t(c0[i]);
      }
    }
  };
  auto getC = [&] {
    std::vector<uint32_t> v(c0.size());
    for (size_t i = 0; i < v.size(); ++i) {
      v[i] = f32 ? dC.as<uint32_t>()[i] : dC.as<uint16_t>()[i];
    }
    return v;
  };
  std::memcpy(dA.data(), a.data(), a.size() * 2);
  std::memcpy(dB.data(), b.data(), b.size() * 2);
  if (sems > 0) {
    std::memset(dSem.data(), 0, sems * 4); // zeroed once, left zeroed
  }
  dA.setReadOnly(true);
  dB.setReadOnly(true);
  hip::GemmOperands ops;
  ops.a = reinterpret_cast<uint64_t>(dA.data());
  ops.b = reinterpret_cast<uint64_t>(dB.data());
  ops.c = reinterpret_cast<uint64_t>(dC.data());
  ops.alpha = alpha;
  ops.beta = beta;
  ops.workspace = reinterpret_cast<uint64_t>(dWs.data());
  ops.semaphores = reinterpret_cast<uint64_t>(dSem.data());
  Status check = hip::checkGemmOperands(*spec, p, ops);
  INFO(check.toString());
  REQUIRE(check.isOk());

  Outcome o;
  std::vector<uint32_t> out[2];
  for (int run = 0; run < 2; ++run) {
    putC();
    if (wsBytes > 0) {
      std::memset(dWs.data(), 0xFF, wsBytes);
    }
    o.status = hipemu::launch(
        kernel, unsigned(spec->threads), hipemu::gridOrder(grid, run == 1),
        run == 1, [&] {
          const uint16_t *ga = dA.as<uint16_t>(), *gb = dB.as<uint16_t>();
          if (f32) {
            reinterpret_cast<KernelFn<float>>(kernel.entry())(
                ga, gb, dC.as<float>(), int(p.m), int(p.n), int(p.k),
                int(p.lda), int(p.ldb), int(p.ldc), alpha, beta,
                dWs.as<float>(), dSem.as<unsigned>());
          } else {
            reinterpret_cast<KernelFn<uint16_t>>(kernel.entry())(
                ga, gb, dC.as<uint16_t>(), int(p.m), int(p.n), int(p.k),
                int(p.lda), int(p.ldb), int(p.ldc), alpha, beta,
                dWs.as<float>(), dSem.as<unsigned>());
          }
        });
    if (!o.status.isOk()) {
      o.status = o.status.withContext(run == 0 ? "in order" : "reversed");
      return o;
    }
    for (uint64_t i = 0; i < sems; ++i) {
      o.semaphoresZero = o.semaphoresZero && dSem.as<unsigned>()[i] == 0;
    }
    out[run] = getC();
  }
  // The same bits whichever order the workgroups and work-items ran in.
  o.sameBits = out[0] == out[1];

  // 16-bit C: the rounding of the type, 1e-4 of the magnitudes. f32 C:
  // 2^-16 |ref| and 2^-20 of the magnitudes (f32 accumulation in any order
  // stays far within; bf16's 2^-9 rounding of |ref| does not).
  const double rel = std::ldexp(1.0, f32 ? -16 : dt == DType::BF16 ? -7 : -10);
  const double magRel = f32 ? std::ldexp(1.0, -20) : 1e-4;
  const double absTol = f32 ? 1e-6 : 1e-3;
  int &bad = o.bad;
  for (int64_t i = 0; i < p.m; ++i) {
    for (int64_t j = 0; j < p.ldc; ++j) {
      const uint32_t got = out[0][size_t(i * p.ldc + j)];
      if (j >= p.n) {
        // Padding past N: never written.
        if (got != c0[size_t(i * p.ldc + j)] && bad++ < 5) {
          UNSCOPED_INFO("C[" << i << "][" << j << "] (padding) was written");
        }
        continue;
      }
      double acc = 0, mag = 0;
      for (int64_t kk = 0; kk < p.k; ++kk) {
        const double x =
            fromBits(dt, a[size_t(p.transA ? kk * p.lda + i : i * p.lda + kk)]);
        const double y =
            fromBits(dt, b[size_t(p.transB ? j * p.ldb + kk : kk * p.ldb + j)]);
        acc += x * y;
        mag += std::fabs(x * y);
      }
      double ref = alpha * acc;
      mag *= std::fabs(alpha);
      if (beta != 0.0f) {
        const double c = cValue(c0[size_t(i * p.ldc + j)]);
        ref += beta * c;
        mag += std::fabs(beta * c);
      }
      const double v = cValue(got);
      const double tol = rel * std::fabs(ref) + magRel * mag + absTol;
      o.worst = std::max(o.worst, std::fabs(v - ref) / tol);
      if (!(std::fabs(v - ref) <= tol) && bad++ < 5) {
        UNSCOPED_INFO("C[" << i << "][" << j << "] = " << v << ", expected "
                           << ref);
      }
    }
  }
  return o;
}

/// Instantiates `config` for `p` on `arch`.
KernelSource instantiate(const std::string &arch, const GemmProblem &p,
                         const Config &config) {
  return instantiateValid(HipGemmMfma(), arch, p, config);
}

/// Instantiates each case (its configuration, or the default), runs it and
/// requires it to pass; returns the largest error / tolerance seen.
double runCases(const std::vector<GemmCase> &cases, uint32_t seed) {
  HipGemmMfma t;
  std::vector<KernelSource> sources;
  std::vector<GemmProblem> problems;
  std::vector<Config> configs;
  std::vector<std::pair<std::string, std::string>> texts;
  for (const GemmCase &c : cases) {
    const GemmProblem p = problemOf(c);
    auto target = parseTarget("hip:" + c.arch);
    REQUIRE(target.isOk());
    configs.push_back(c.config.values().empty() ? t.defaultConfig(p, *target)
                                                : c.config);
    sources.push_back(instantiate(c.arch, p, configs.back()));
    texts.emplace_back(sources.back().text, sources.back().entry);
    problems.push_back(p);
  }
  hipemu::KernelBuilder builder(texts, 2);
  double worst = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const GemmCase &c = cases[i];
    INFO(c.arch << " " << problems[i].key() << " " << configs[i].toString()
                << " alpha=" << c.alpha << " beta=" << c.beta);
    auto kernel = builder.take(i);
    INFO(kernel.status().toString());
    REQUIRE(kernel.isOk());
    const Outcome o = runGemm(**kernel, sources[i], problems[i], c.alpha,
                              c.beta, uint32_t(seed + i));
    INFO(o.status.toString());
    REQUIRE(o.status.isOk());
    REQUIRE(o.semaphoresZero);
    REQUIRE(o.sameBits);
    REQUIRE(o.bad == 0);
    worst = std::max(worst, o.worst);
  }
  return worst;
}

} // namespace

TEST_CASE("hip.gemm.mfma kernels compute the product under the host "
          "emulation of wave64 and MFMA") {
  runCases(gemmCases(), 1234);
}

TEST_CASE("hip.gemm.mfma kernels with an f32 C store the f32 sum unrounded "
          "under the host emulation") {
  const std::vector<GemmCase> cases = f32OutCases();
  for (const GemmCase &c : cases) {
    // Every epilogue stores f32 and beta reads f32.
    const KernelSource src =
        instantiate(c.arch, problemOf(c),
                    c.config.values().empty()
                        ? HipGemmMfma().defaultConfig(
                              problemOf(c), *parseTarget("hip:" + c.arch))
                        : c.config);
    REQUIRE_THAT(src.text, Catch::Contains("float *__restrict__ C,"));
    REQUIRE_THAT(src.text, !Catch::Contains("kt_from_f32(out)"));
  }
  const double worst = runCases(cases, 4321);
  // The tolerance leaves room: f32 results land well inside it.
  UNSCOPED_INFO("worst error " << worst << " x the tolerance");
  REQUIRE(worst < 0.25);
}

TEST_CASE("sampled hip.gemm.mfma configurations of the tuning space "
          "compute the product under the host emulation") {
  HipGemmMfma t;
  std::vector<GemmCase> cases;
  std::vector<KernelSource> sources;
  std::vector<std::pair<std::string, std::string>> texts;
  for (const char *arch : {"gfx950", "gfx942"}) {
    // Eight configurations spread over the space of a small ragged problem.
    const GemmCase c{arch, "TN", DType::F16, 96, 160, 264};
    const GemmProblem p = problemOf(c);
    auto target = parseTarget(std::string("hip:") + arch);
    REQUIRE(target.isOk());
    const std::vector<Config> space = t.space(p, *target);
    REQUIRE(space.size() >= 8);
    for (size_t i = 0; i < 8; ++i) {
      cases.push_back(c);
      cases.back().config = space[(2 * i + 1) * space.size() / 16];
      sources.push_back(instantiate(arch, p, cases.back().config));
      texts.emplace_back(sources.back().text, sources.back().entry);
    }
  }
  hipemu::KernelBuilder builder(texts, 2);
  for (size_t i = 0; i < cases.size(); ++i) {
    const GemmProblem p = problemOf(cases[i]);
    INFO(cases[i].arch << " " << p.key() << " " << cases[i].config.toString());
    auto kernel = builder.take(i);
    INFO(kernel.status().toString());
    REQUIRE(kernel.isOk());
    const Outcome o =
        runGemm(**kernel, sources[i], p, 1.0f, 0.0f, uint32_t(555 + i));
    INFO(o.status.toString());
    REQUIRE(o.status.isOk());
    REQUIRE(o.semaphoresZero);
    REQUIRE(o.sameBits);
    REQUIRE(o.bad == 0);
  }
}

// The checks above would notice a broken kernel: each mutation of a
// correct kernel text must fail them.
TEST_CASE("the GEMM emulation fails kernels with wrong layouts, missing "
          "barriers, a wrong split-K merge or a divergent MFMA") {
  GemmCase c{"gfx950",
             "NT",
             DType::BF16,
             100,
             90,
             200,
             cfg(64, 64, 32, 32, 32, 8, 16, 2, 1)};
  const GemmProblem p = problemOf(c);
  const KernelSource src = instantiate(c.arch, p, c.config);
  struct Mutation {
    const char *what, *from, *to;
  } mutations[] = {
      {"result rows transposed within their group of four",
       "return (r / 4) * (256 / KT_MI) + (lane / KT_MI) * 4 + r % 4;",
       "return (r / 4) * (256 / KT_MI) + (r % 4) * 4 + lane / KT_MI;"},
      {"no barrier between a step's LDS stores and the next step's reads",
       "      kt_barrier();\n    };\n", "    };\n"},
      {"the merge leaves out the last slice",
       "for (int s = 1; s < KT_SPLIT; ++s) {",
       "for (int s = 1; s < KT_SPLIT - 1; ++s) {"},
      {"an MFMA issued by half of the wave", "acc[i][j] = KT_MFMA_BLOCK(",
       "if (lane < 32) acc[i][j] = KT_MFMA_BLOCK("},
  };
  std::vector<std::pair<std::string, std::string>> texts;
  for (const Mutation &m : mutations) {
    texts.emplace_back(mutateOnce(src.text, m.from, m.to), src.entry);
  }
  hipemu::KernelBuilder builder(texts, 2);
  for (size_t i = 0; i < texts.size(); ++i) {
    INFO(mutations[i].what);
    auto kernel = builder.take(i);
    INFO(kernel.status().toString());
    REQUIRE(kernel.isOk());
    const Outcome o = runGemm(**kernel, src, p, 1.0f, 0.0f, 99);
    INFO(o.status.toString()
         << " semaphores zero " << o.semaphoresZero << ", same bits "
         << o.sameBits << ", bad " << o.bad);
    REQUIRE(!o.ok());
  }
}

// An f32 C that went through bf16 on the way, stored or read back, fails
// the f32 tolerance.
TEST_CASE("the GEMM emulation fails an f32-output kernel that rounds C "
          "through bf16") {
  // Split-K 2 (the last slice's sum) with beta.
  GemmCase c{"gfx950",
             "NT",
             DType::BF16,
             100,
             90,
             200,
             cfg(64, 64, 32, 32, 32, 8, 16, 2, 1),
             1.0f,
             0.5f,
             true};
  const GemmProblem p = problemOf(c);
  const KernelSource src = instantiate(c.arch, p, c.config);
  struct Mutation {
    const char *what, *from, *to;
  } mutations[] = {
      {"C stored rounded to bf16", "*c = out;",
       "*c = kt_to_f32(kt_from_f32(out));"},
      {"the old C read rounded to bf16", "out += beta * *c;",
       "out += beta * kt_to_f32(kt_from_f32(*c));"},
  };
  std::vector<std::pair<std::string, std::string>> texts = {
      {src.text, src.entry}};
  for (const Mutation &m : mutations) {
    texts.emplace_back(mutateOnce(src.text, m.from, m.to), src.entry);
  }
  hipemu::KernelBuilder builder(texts, 2);
  for (size_t i = 0; i < texts.size(); ++i) {
    INFO((i == 0 ? "the kernel as generated" : mutations[i - 1].what));
    auto kernel = builder.take(i);
    INFO(kernel.status().toString());
    REQUIRE(kernel.isOk());
    const Outcome o = runGemm(**kernel, src, p, c.alpha, c.beta, 77);
    INFO(o.status.toString()
         << " semaphores zero " << o.semaphoresZero << ", same bits "
         << o.sameBits << ", bad " << o.bad << ", worst " << o.worst);
    REQUIRE(o.status.isOk());
    if (i == 0) {
      REQUIRE(o.ok());
    } else {
      REQUIRE(o.bad > 0); // beyond the f32 tolerance
    }
  }
}
