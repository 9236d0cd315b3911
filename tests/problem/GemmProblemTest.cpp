// Tests for GemmProblem keys, validation and the TunableOp mapping.
#include "ktune/problem/GemmProblem.h"

#include <catch2/catch.hpp>

#include <cctype>

using namespace kt;

namespace {

bool contains(const std::string &haystack, const std::string &needle) {
  return haystack.find(needle) != std::string::npos;
}

} // namespace

TEST_CASE("DType names and sizes", "[problem]") {
  for (DType t : {DType::F32, DType::F64, DType::F16, DType::BF16}) {
    Result<DType> a = parseDType(dtypeName(t));
    Result<DType> b = parseDType(dtypeTunableOpName(t));
    REQUIRE(a.isOk());
    REQUIRE(b.isOk());
    CHECK(*a == t);
    CHECK(*b == t);
  }
  CHECK(parseDType("F32").isOk());
  CHECK(dtypeSize(DType::BF16) == 2);
  CHECK(dtypeSize(DType::F64) == 8);
  Result<DType> bad = parseDType("int8");
  REQUIRE_FALSE(bad.isOk());
  CHECK(contains(bad.status().message(), "'int8'"));
}

TEST_CASE("x @ W.T maps to an NT problem", "[problem]") {
  Result<GemmProblem> p = parseGemmProblem(
      "GemmTunableOp_float_TN,tn_4096_16_4096_ld_4096_4096_4096");
  REQUIRE(p.isOk());
  CHECK(p->dtype == DType::F32);
  CHECK(p->layout() == "NT");
  CHECK(p->m == 16);
  CHECK(p->n == 4096);
  CHECK(p->k == 4096);
  CHECK(p->lda == 4096);
  CHECK(p->ldb == 4096);
  CHECK(p->ldc == 4096);
  CHECK(p->key() == "gemm_f32_NT_16x4096x4096_ld_4096_4096_4096");
  CHECK(p->tunableOpSig() == "GemmTunableOp_float_TN");
  CHECK(p->tunableOpParams() == "tn_4096_16_4096_ld_4096_4096_4096");
  CHECK(p->flops() == 2.0 * 16 * 4096 * 4096);
}

TEST_CASE("TunableOp round trip for all layouts and dtypes", "[problem]") {
  for (DType t : {DType::F32, DType::F64, DType::F16, DType::BF16}) {
    for (int layout = 0; layout < 4; ++layout) {
      GemmProblem p;
      p.dtype = t;
      p.transA = (layout & 1) != 0;
      p.transB = (layout & 2) != 0;
      p.m = 33;
      p.n = 70;
      p.k = 129;
      p.lda = (p.transA ? p.m : p.k) + 3;
      p.ldb = (p.transB ? p.k : p.n) + 5;
      p.ldc = p.n + 7;
      REQUIRE(p.validate().isOk());
      INFO(p.key() << " " << p.tunableOpSig() << "," << p.tunableOpParams());

      Result<GemmProblem> fromTo =
          parseTunableOpGemm(p.tunableOpSig(), p.tunableOpParams());
      REQUIRE(fromTo.isOk());
      CHECK(*fromTo == p);
      Result<GemmProblem> fromPair =
          parseGemmProblem(p.tunableOpSig() + "," + p.tunableOpParams());
      REQUIRE(fromPair.isOk());
      CHECK(*fromPair == p);
      Result<GemmProblem> fromKey = parseGemmProblem(p.key());
      REQUIRE(fromKey.isOk());
      CHECK(*fromKey == p);

      // Op letters are the uppercase of the params letters; the BLAS A is
      // ktune's B.
      std::string sig = p.tunableOpSig();
      std::string params = p.tunableOpParams();
      CHECK(sig.substr(sig.size() - 2) ==
            std::string{char(std::toupper(params[0])),
                        char(std::toupper(params[1]))});
      CHECK((params[0] == 't') == p.transB);
      CHECK((params[1] == 't') == p.transA);
    }
  }
}

TEST_CASE("Formats without leading dimensions get packed defaults",
          "[problem]") {
  Result<GemmProblem> old =
      parseTunableOpGemm("GemmTunableOp_Half_NN", "nn_100_200_300");
  REQUIRE(old.isOk());
  CHECK(old->dtype == DType::F16);
  CHECK(old->layout() == "NN");
  CHECK(old->m == 200);
  CHECK(old->n == 100);
  CHECK(old->k == 300);
  CHECK(old->lda == 300);
  CHECK(old->ldb == 100);
  CHECK(old->ldc == 100);

  Result<GemmProblem> tt =
      parseGemmProblem("GemmTunableOp_BFloat16_TT,tt_8_16_32");
  REQUIRE(tt.isOk());
  CHECK(tt->layout() == "TT");
  CHECK(tt->lda == 16); // A stored K x M.
  CHECK(tt->ldb == 32); // B stored N x K.

  Result<GemmProblem> k = parseGemmProblem("  gemm_bf16_TN_16x32x64  ");
  REQUIRE(k.isOk());
  CHECK(k->key() == "gemm_bf16_TN_16x32x64_ld_16_32_32");
  Result<GemmProblem> again = parseGemmProblem(k->key());
  REQUIRE(again.isOk());
  CHECK(*again == *k);
}

TEST_CASE("Bad problems give messages that name the input", "[problem]") {
  struct Case {
    const char *sig;
    StatusCode code;
    const char *mentions;
  };
  const Case cases[] = {
      {"GemmTunableOp_Float8_e4m3fn_TN,tn_16_16_16", StatusCode::Unimplemented,
       "Float8_e4m3fn"},
      {"GemmStridedBatchedTunableOp_float_NN,nn_16_16_16_B_4",
       StatusCode::Unimplemented, "not supported yet"},
      {"ScaledGemmTunableOp_Float8_e4m3fn_TN,tn_16_16_16",
       StatusCode::Unimplemented, "not supported yet"},
      {"GemmTunableOp_float_TN", StatusCode::InvalidArgument, "params"},
      {"GemmTunableOp_float_TN,nt_16_16_16", StatusCode::InvalidArgument,
       "must agree"},
      {"GemmTunableOp_float_TX,tx_16_16_16", StatusCode::InvalidArgument,
       "'X'"},
      {"GemmTunableOp_float_NN,nn_16_16", StatusCode::InvalidArgument,
       "nn_16_16"},
      {"GemmTunableOp_float_NN,nn_16_16_16_ld_1_16_16",
       StatusCode::InvalidArgument, "ldb=1"},
      {"gemm_i8_NN_4x4x4", StatusCode::InvalidArgument, "'i8'"},
      {"gemm_f32_NN_0x4x4", StatusCode::InvalidArgument, "M=0"},
      {"gemm_f32_NN_4x4x2147483649", StatusCode::InvalidArgument,
       "K=2147483649"},
      {"gemm_f32_NN_4x4x99999999999999999999999", StatusCode::InvalidArgument,
       "99999999999999999999999"},
      {"gemm_f32_NN_4x-4x4", StatusCode::InvalidArgument, "'-4'"},
      {"gemm_f32_NN_4x4", StatusCode::InvalidArgument, "'4x4'"},
      {"gemm_f32_NX_4x4x4", StatusCode::InvalidArgument, "'X'"},
      {"gemm_f32_NN_4x8x16_ld_8_8_8", StatusCode::InvalidArgument, "lda=8"},
      {"gemm_f32_NN_4x8x16_ld_16_8_4", StatusCode::InvalidArgument, "ldc=4"},
      {"gemm_f32_TN_4x8x16_ld_3_8_8", StatusCode::InvalidArgument, "lda=3"},
      {"gemm_f32_NN_4x8x16_xx_16_8_8", StatusCode::InvalidArgument,
       "gemm_f32_NN_4x8x16_xx_16_8_8"},
      {"hello world", StatusCode::InvalidArgument, "'hello world'"},
      {"", StatusCode::InvalidArgument, "empty"},
  };
  for (const Case &c : cases) {
    INFO(c.sig);
    Result<GemmProblem> p = parseGemmProblem(c.sig);
    REQUIRE_FALSE(p.isOk());
    INFO(p.status().toString());
    CHECK(p.status().code() == c.code);
    CHECK(contains(p.status().message(), c.mentions));
  }
}

TEST_CASE("validate checks leading dimensions per stored layout", "[problem]") {
  GemmProblem p;
  p.m = 10;
  p.n = 20;
  p.k = 30;
  p.setDefaultLeadingDims();
  CHECK(p.lda == 30);
  CHECK(p.ldb == 20);
  CHECK(p.ldc == 20);
  CHECK(p.validate().isOk());
  p.transA = true;
  CHECK(p.validate().isOk()); // A stored K x M: lda=30 >= M=10.
  p.lda = 9;
  Status st = p.validate();
  REQUIRE_FALSE(st.isOk());
  CHECK(contains(st.message(), "lda=9"));
  p.lda = 10;
  p.transB = true;
  p.ldb = 29;
  st = p.validate();
  REQUIRE_FALSE(st.isOk());
  CHECK(contains(st.message(), "ldb=29"));
  p.ldb = 30;
  CHECK(p.validate().isOk());
  p.n = -1;
  CHECK_FALSE(p.validate().isOk());
}

TEST_CASE("f32out: an f32 C for bf16/f16 inputs, in the key only",
          "[problem]") {
  Result<GemmProblem> p = parseGemmProblem("gemm_bf16_f32out_NT_16x4096x2048");
  REQUIRE(p.isOk());
  CHECK(p->dtype == DType::BF16);
  CHECK(p->outF32);
  CHECK(p->cDtype() == DType::F32);
  CHECK(p->key() == "gemm_bf16_f32out_NT_16x4096x2048_ld_2048_2048_4096");
  Result<GemmProblem> again = parseGemmProblem(p->key());
  REQUIRE(again.isOk());
  CHECK(*again == *p);
  // Without the suffix C keeps the input type; the keys differ.
  Result<GemmProblem> plain = parseGemmProblem("gemm_bf16_NT_16x4096x2048");
  REQUIRE(plain.isOk());
  CHECK_FALSE(plain->outF32);
  CHECK(plain->cDtype() == DType::BF16);
  CHECK(plain->key() != p->key());
  CHECK_FALSE(*plain == *p);
  Result<GemmProblem> half =
      parseGemmProblem("gemm_f16_f32out_TT_7x9x11_ld_16_16_16");
  REQUIRE(half.isOk());
  CHECK(half->outF32);
  CHECK(half->key() == "gemm_f16_f32out_TT_7x9x11_ld_16_16_16");
  // TunableOp's plain GEMM has one element type: no pair for f32out.
  CHECK_FALSE(p->hasTunableOpForm());
  CHECK(plain->hasTunableOpForm());

  Result<GemmProblem> f32 = parseGemmProblem("gemm_f32_f32out_NT_8x8x8");
  REQUIRE_FALSE(f32.isOk());
  CHECK(contains(f32.status().message(), "f32out is for bf16/f16 inputs"));
  Result<GemmProblem> f16out = parseGemmProblem("gemm_bf16_f16out_NT_8x8x8");
  REQUIRE_FALSE(f16out.isOk());
  CHECK(contains(f16out.status().message(), "'f16out'"));
  CHECK(contains(f16out.status().message(), "only f32out"));
}
