// GemmProblem: canonical keys, validation, and the TunableOp mapping.
#include "ktune/problem/GemmProblem.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <vector>

namespace kt {

namespace {

/// Largest accepted size or leading dimension (2^31).
constexpr int64_t kMaxDim = int64_t(1) << 31;

constexpr std::string_view kKtuneForm =
    "gemm_<dtype>[_f32out]_<layout>_<M>x<N>x<K>[_ld_<lda>_<ldb>_<ldc>], e.g. "
    "gemm_f32_NT_16x4096x4096 or gemm_bf16_f32out_NT_16x4096x4096";
constexpr std::string_view kTunableOpForm =
    "'GemmTunableOp_<float|double|Half|BFloat16>_<NN|NT|TN|TT>' with params "
    "'<ab>_<m>_<n>_<k>[_ld_<lda>_<ldb>_<ldc>]', e.g. "
    "GemmTunableOp_float_TN,tn_4096_16_4096";

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

/// Parses a non-negative decimal integer (digits only).
Result<int64_t> parseDim(std::string_view text, std::string_view what,
                         std::string_view sig) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || text.front() == '-' || ec != std::errc() ||
      ptr != text.data() + text.size()) {
    return invalidArgument(
        fmt::format("problem '{}': {} '{}' is not a non-negative integer "
                    "up to 2^31; fix the number",
                    sig, what, text));
  }
  return v;
}

/// Maps one transpose letter ('N'/'T', either case) to a bool.
Result<bool> parseTransLetter(char c, std::string_view sig) {
  char u = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (u == 'N' || u == 'T') {
    return u == 'T';
  }
  return invalidArgument(fmt::format(
      "problem '{}': transpose letter '{}' must be N or T", sig, c));
}

/// Parses "M", "N", "K" and optional leading dims from string pieces.
Status parseSizes(std::string_view sig, const std::string_view *dims,
                  const std::string_view *lds, bool haveLd, int64_t &a,
                  int64_t &b, int64_t &c, int64_t *ld) {
  KT_ASSIGN_OR_RETURN(a, parseDim(dims[0], "size", sig));
  KT_ASSIGN_OR_RETURN(b, parseDim(dims[1], "size", sig));
  KT_ASSIGN_OR_RETURN(c, parseDim(dims[2], "size", sig));
  if (haveLd) {
    for (int i = 0; i < 3; ++i) {
      KT_ASSIGN_OR_RETURN(ld[i], parseDim(lds[i], "leading dimension", sig));
    }
  }
  return Status::ok();
}

Result<GemmProblem> parseKtuneSig(std::string_view sig) {
  std::vector<std::string_view> parts = split(sig, '_');
  // "_<type>out" after the dtype names C's type where it differs.
  bool outF32 = false;
  if (parts.size() > 2 && parts[2].size() > 3 &&
      parts[2].substr(parts[2].size() - 3) == "out") {
    if (parts[2] != "f32out") {
      return invalidArgument(fmt::format(
          "problem '{}': output type '{}' is not offered; only f32out (an "
          "f32 C for bf16/f16 inputs) may follow the dtype",
          sig, parts[2]));
    }
    outF32 = true;
    parts.erase(parts.begin() + 2);
  }
  bool haveLd = parts.size() == 8 && parts[4] == "ld";
  if (parts.size() != 4 && !haveLd) {
    return invalidArgument(fmt::format(
        "problem '{}' is not a GEMM signature; expected {}", sig, kKtuneForm));
  }
  GemmProblem p;
  Result<DType> dtype = parseDType(parts[1]);
  if (!dtype.isOk()) {
    return dtype.status().withContext(fmt::format("problem '{}'", sig));
  }
  p.dtype = *dtype;
  p.outF32 = outF32;
  if (parts[2].size() != 2) {
    return invalidArgument(fmt::format(
        "problem '{}': layout '{}' must be NN, NT, TN or TT", sig, parts[2]));
  }
  KT_ASSIGN_OR_RETURN(p.transA, parseTransLetter(parts[2][0], sig));
  KT_ASSIGN_OR_RETURN(p.transB, parseTransLetter(parts[2][1], sig));
  std::vector<std::string_view> dims = split(parts[3], 'x');
  if (dims.size() != 3) {
    return invalidArgument(fmt::format(
        "problem '{}': sizes '{}' must be <M>x<N>x<K>, e.g. 16x4096x4096", sig,
        parts[3]));
  }
  int64_t ld[3] = {0, 0, 0};
  KT_RETURN_IF_ERROR(parseSizes(sig, dims.data(), haveLd ? &parts[5] : nullptr,
                                haveLd, p.m, p.n, p.k, ld));
  p.lda = ld[0];
  p.ldb = ld[1];
  p.ldc = ld[2];
  if (!haveLd) {
    p.setDefaultLeadingDims();
  }
  KT_RETURN_IF_ERROR(
      p.validate().withContext(fmt::format("problem '{}'", sig)));
  return p;
}

} // namespace

void GemmProblem::setDefaultLeadingDims() {
  if (lda == 0) {
    lda = transA ? m : k;
  }
  if (ldb == 0) {
    ldb = transB ? k : n;
  }
  if (ldc == 0) {
    ldc = n;
  }
}

Status GemmProblem::validate() const {
  if (outF32 && dtype != DType::BF16 && dtype != DType::F16) {
    return invalidArgument(fmt::format(
        "GEMM {}: f32out is for bf16/f16 inputs (a {} GEMM's C is already "
        "{}); drop _f32out",
        key(), dtypeName(dtype), dtypeName(dtype)));
  }
  const std::pair<const char *, int64_t> sizes[] = {
      {"M", m}, {"N", n}, {"K", k}};
  for (const auto &[name, v] : sizes) {
    if (v <= 0 || v > kMaxDim) {
      return invalidArgument(fmt::format(
          "GEMM {}: {}={} is out of range; sizes must be in [1, 2^31]", key(),
          name, v));
    }
  }
  struct LdCheck {
    const char *name;
    int64_t value;
    int64_t minimum;
    const char *stored;
  };
  const LdCheck checks[] = {
      {"lda", lda, transA ? m : k,
       transA ? "A is stored K x M" : "A is stored M x K"},
      {"ldb", ldb, transB ? k : n,
       transB ? "B is stored N x K" : "B is stored K x N"},
      {"ldc", ldc, n, "C is stored M x N"},
  };
  for (const LdCheck &c : checks) {
    if (c.value < c.minimum || c.value > kMaxDim) {
      return invalidArgument(fmt::format(
          "GEMM {}: {}={} is invalid ({} row-major, so {} must be in [{}, "
          "2^31]); fix the leading dimension or omit _ld_ for packed "
          "matrices",
          key(), c.name, c.value, c.stored, c.name, c.minimum));
    }
  }
  return Status::ok();
}

std::string GemmProblem::layout() const {
  return std::string(1, transA ? 'T' : 'N') + (transB ? 'T' : 'N');
}

std::string GemmProblem::key() const {
  return fmt::format("gemm_{}{}_{}_{}x{}x{}_ld_{}_{}_{}", dtypeName(dtype),
                     outF32 ? "_f32out" : "", layout(), m, n, k, lda, ldb, ldc);
}

// BLAS (column-major) sees the same memory transposed: its A is our B and
// its B is our A, with m and n swapped.
std::string GemmProblem::tunableOpSig() const {
  return fmt::format("GemmTunableOp_{}_{}{}", dtypeTunableOpName(dtype),
                     transB ? 'T' : 'N', transA ? 'T' : 'N');
}

std::string GemmProblem::tunableOpParams() const {
  return fmt::format("{}{}_{}_{}_{}_ld_{}_{}_{}", transB ? 't' : 'n',
                     transA ? 't' : 'n', n, m, k, ldb, lda, ldc);
}

Result<GemmProblem> parseTunableOpGemm(std::string_view opSig,
                                       std::string_view paramsSig) {
  opSig = trim(opSig);
  paramsSig = trim(paramsSig);
  std::string both = fmt::format("{},{}", opSig, paramsSig);
  constexpr std::string_view kPrefix = "GemmTunableOp_";
  if (opSig.substr(0, kPrefix.size()) != kPrefix) {
    if (opSig.find("TunableOp") != std::string_view::npos) {
      return unimplemented(fmt::format(
          "TunableOp op '{}' is not supported yet; ktune tunes only plain "
          "GEMMs ({}); drop this line or tune it with PyTorch",
          opSig, kTunableOpForm));
    }
    return invalidArgument(
        fmt::format("'{}' is not a TunableOp GEMM signature; expected {}", both,
                    kTunableOpForm));
  }
  std::string_view rest = opSig.substr(kPrefix.size());
  size_t us = rest.rfind('_');
  if (us == std::string_view::npos || rest.size() - us - 1 != 2) {
    return invalidArgument(fmt::format(
        "TunableOp op '{}' must end in _<dtype>_<NN|NT|TN|TT>; expected {}",
        opSig, kTunableOpForm));
  }
  std::string_view dtypeText = rest.substr(0, us);
  std::string_view letters = rest.substr(us + 1);
  GemmProblem p;
  bool known = false;
  for (DType t : {DType::F32, DType::F64, DType::F16, DType::BF16}) {
    if (dtypeText == dtypeTunableOpName(t)) {
      p.dtype = t;
      known = true;
    }
  }
  if (!known) {
    return unimplemented(fmt::format(
        "TunableOp op '{}': element type '{}' is not supported; ktune tunes "
        "float, double, Half and BFloat16 GEMMs",
        opSig, dtypeText));
  }
  std::vector<std::string_view> parts = split(paramsSig, '_');
  bool haveLd = parts.size() == 8 && parts[4] == "ld";
  if ((parts.size() != 4 && !haveLd) || parts[0].size() != 2) {
    return invalidArgument(
        fmt::format("TunableOp params '{}' (op '{}') must be <ab>_<m>_<n>_<k>"
                    "[_ld_<lda>_<ldb>_<ldc>], e.g. tn_4096_16_4096",
                    paramsSig, opSig));
  }
  bool blasTransA = false, blasTransB = false;
  KT_ASSIGN_OR_RETURN(blasTransA, parseTransLetter(letters[0], both));
  KT_ASSIGN_OR_RETURN(blasTransB, parseTransLetter(letters[1], both));
  bool paramsTransA = false, paramsTransB = false;
  KT_ASSIGN_OR_RETURN(paramsTransA, parseTransLetter(parts[0][0], both));
  KT_ASSIGN_OR_RETURN(paramsTransB, parseTransLetter(parts[0][1], both));
  if (paramsTransA != blasTransA || paramsTransB != blasTransB) {
    return invalidArgument(fmt::format(
        "'{}': the op says layout {} but the params say {}; they must agree "
        "(params letters are the lowercase of the op letters)",
        both, letters, parts[0]));
  }
  int64_t blasM = 0, blasN = 0, k = 0;
  int64_t ld[3] = {0, 0, 0};
  KT_RETURN_IF_ERROR(parseSizes(both, &parts[1], haveLd ? &parts[5] : nullptr,
                                haveLd, blasM, blasN, k, ld));
  p.m = blasN;
  p.n = blasM;
  p.k = k;
  p.transA = blasTransB;
  p.transB = blasTransA;
  p.lda = ld[1];
  p.ldb = ld[0];
  p.ldc = ld[2];
  if (!haveLd) {
    p.setDefaultLeadingDims();
  }
  KT_RETURN_IF_ERROR(
      p.validate().withContext(fmt::format("TunableOp problem '{}'", both)));
  return p;
}

Result<GemmProblem> parseGemmProblem(std::string_view sig) {
  sig = trim(sig);
  size_t comma = sig.find(',');
  if (comma != std::string_view::npos) {
    return parseTunableOpGemm(sig.substr(0, comma), sig.substr(comma + 1));
  }
  if (sig.substr(0, 5) == "gemm_") {
    return parseKtuneSig(sig);
  }
  if (sig.find("TunableOp") != std::string_view::npos) {
    return invalidArgument(
        fmt::format("TunableOp op '{}' needs its params signature too; write "
                    "'OP,PARAMS', e.g. GemmTunableOp_float_TN,tn_4096_16_4096",
                    sig));
  }
  if (sig.empty()) {
    return invalidArgument(
        fmt::format("empty problem signature; expected {}", kKtuneForm));
  }
  return invalidArgument(fmt::format(
      "'{}' is not a GEMM problem; expected {} or a TunableOp pair {}", sig,
      kKtuneForm, kTunableOpForm));
}

} // namespace kt
