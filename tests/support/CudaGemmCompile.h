// Shared test helper: compile one CUDA template instance for a sampled
// problem and check what every such kernel must satisfy per ptxas: a cubin,
// no spills, static shared memory within a bound, no warnings (serialised
// wgmma), and
// registers within the block's share of the register file; where nvdisasm
// exists, the tensor-core instructions in the SASS; and the PTX of an f32-C
// (f32out) epilogue.
#pragma once

#include "ktune/compiler/CudaCompiler.h"
#include "ktune/templates/GemmTemplate.h"
#include "support/GemmProblems.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <regex>
#include <span>
#include <string>

namespace kt::test {

/// A 1000 x 1000 x 4096 problem of `layout` with 16-byte row pitches (the
/// ragged M and N exercise the bounds checks).
inline GemmProblem sampledCudaProblem(const char *layout, DType dt) {
  GemmProblem p = gemmProblem(layout, 1000, 1000, 4096, dt);
  p.lda = p.transA ? 1000 : 4096;
  p.ldb = p.transB ? 4096 : 1000;
  p.ldc = 1000;
  return p;
}

/// Compiles `src` with `compiler` and checks the limits above for a block
/// of `threads` threads using at most `staticShared` bytes of static shared
/// memory; returns the binary for further checks.
inline CudaKernelBinary compileSourceWithinLimits(const CudaCompiler &compiler,
                                                  const KernelSource &src,
                                                  const std::string &identity,
                                                  int threads,
                                                  int staticShared = 0) {
  auto bin = compiler.compile(src, identity);
  INFO(bin.status().toString());
  REQUIRE(bin.isOk());
  REQUIRE(bin->cubin.compare(0, 4,
                             "\x7f"
                             "ELF") == 0);
  REQUIRE_THAT(bin->ptx, Catch::Contains(".target " + compiler.target().arch));
  const CudaResources &r = bin->resources;
  INFO(bin->log);
  REQUIRE(r.registers > 0);
  REQUIRE(r.registers * threads <= 65536);
  REQUIRE(r.reported); // Else the spill and shared-memory checks prove nothing.
  REQUIRE(r.spillStoreBytes == 0);
  REQUIRE(r.spillLoadBytes == 0);
  REQUIRE(r.staticSharedBytes <= staticShared);
  REQUIRE(r.warnings.empty());
  return std::move(*bin);
}

/// The same for the GEMM instance (t, c, p).
inline CudaKernelBinary compileWithinLimits(const CudaCompiler &compiler,
                                            const GemmTemplate &t,
                                            const Config &c,
                                            const GemmProblem &p, int threads,
                                            int staticShared = 0) {
  INFO(p.key() << " " << c.toString());
  REQUIRE(t.validate(c, p, compiler.target()).isOk());
  auto src = t.instantiate(c, p, compiler.target());
  REQUIRE(src.isOk());
  return compileSourceWithinLimits(compiler, *src, c.toString() + p.key(),
                                   threads, staticShared);
}

/// Where nvdisasm exists: the cubin's SASS matches the regular expression
/// `mnemonic` somewhere (e.g. HGMMA on sm_90a). Returns false (and says so
/// once) where it does not, so the PTX checks stand alone there.
inline bool sassContains(const CudaKernelBinary &bin,
                         const std::string &mnemonic) {
  auto sass = disassembleCubin(bin.cubin);
  if (!sass) {
    static bool said = false;
    if (!said) {
      said = true;
      std::printf("note: SASS not checked: %s\n",
                  sass.status().message().c_str());
    }
    return false;
  }
  INFO("SASS lacks " << mnemonic << ":\n" << sass->substr(0, 4000));
  REQUIRE(std::regex_search(*sass, std::regex(mnemonic)));
  return true;
}

/// An f32 C (outF32): the epilogue stores f32 pairs (a single f32 at a
/// ragged last column) and reads the old C as f32 pairs for beta; nothing
/// rounds to or packs bf16 / f16 and no 16-bit element is loaded or stored,
/// all of which a 16-bit C's epilogue does.
inline void requireF32Epilogue(const std::string &ptx) {
  REQUIRE_THAT(ptx, Catch::Contains("st.global.v2.f32"));
  REQUIRE_THAT(ptx, Catch::Contains("st.global.f32"));
  REQUIRE_THAT(ptx, Catch::Contains("ld.global.v2.f32"));
  for (const char *narrow : {"cvt.rn.bf16", "cvt.rn.f16", "st.global.u16",
                             "st.global.b16", "ld.global.u16"}) {
    REQUIRE_THAT(ptx, !Catch::Contains(narrow));
  }
}

/// A split-K instance counts its slices on the tile's semaphore, and the
/// PTX only a cluster kernel holds (`clusterPtx`) is there exactly when
/// the configuration asks for clusters of 2.
inline void
requireSplitKAndClusterPtx(const std::string &ptx, const Config &c,
                           std::span<const char *const> clusterPtx) {
  if (c.get("splitk") > 1) {
    REQUIRE_THAT(ptx, Catch::Contains("atom.global.add.u32"));
  }
  for (const char *only : clusterPtx) {
    if (c.get("cluster", 1) == 2) {
      REQUIRE_THAT(ptx, Catch::Contains(only));
    } else {
      REQUIRE_THAT(ptx, !Catch::Contains(only));
    }
  }
}

} // namespace kt::test
