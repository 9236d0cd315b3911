// AttentionProblem: keys, parsing and validation.
#include "ktune/problem/AttentionProblem.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <map>
#include <vector>

namespace kt {

namespace {

constexpr std::string_view kForm =
    "attn_<dtype>_<BSHD|BHSD>_b<batch>_hq<heads>_hkv<kv heads>_sq<query "
    "length>_skv<key length>_d<head dim>[_causal], e.g. "
    "attn_f32_BSHD_b1_hq32_hkv8_sq1_skv4096_d128";

constexpr int64_t kMaxDim = int64_t(1) << 31;

} // namespace

bool isAttentionSignature(std::string_view sig) {
  while (!sig.empty() && std::isspace(static_cast<unsigned char>(sig[0]))) {
    sig.remove_prefix(1);
  }
  return sig.rfind("attn_", 0) == 0;
}

Status AttentionProblem::validate() const {
  const std::string k = key();
  for (auto [name, v] : {std::pair{"batch", batch},
                         {"hq", hq},
                         {"hkv", hkv},
                         {"sq", sq},
                         {"skv", skv},
                         {"d", d}}) {
    if (v <= 0 || v > kMaxDim) {
      return invalidArgument(
          fmt::format("attention problem {}: {}={} must be between 1 and 2^31",
                      k, name, v));
    }
  }
  if (hq % hkv != 0) {
    return invalidArgument(fmt::format(
        "attention problem {}: hq={} is not a multiple of hkv={} (GQA "
        "groups query heads evenly over key/value heads)",
        k, hq, hkv));
  }
  if (d % 8 != 0 || d > 256) {
    return invalidArgument(fmt::format(
        "attention problem {}: head dim d={} must be a multiple of 8 up to "
        "256",
        k, d));
  }
  return Status::ok();
}

std::string AttentionProblem::key() const {
  return fmt::format("attn_{}_{}_b{}_hq{}_hkv{}_sq{}_skv{}_d{}{}",
                     dtypeName(dtype), layoutName(), batch, hq, hkv, sq, skv, d,
                     causal ? "_causal" : "");
}

double AttentionProblem::flops() const {
  double f =
      4.0 * double(batch) * double(hq) * double(sq) * double(skv) * double(d);
  return causal ? f / 2 : f;
}

Result<AttentionProblem> parseAttentionProblem(std::string_view sig) {
  while (!sig.empty() && std::isspace(static_cast<unsigned char>(sig[0]))) {
    sig.remove_prefix(1);
  }
  while (!sig.empty() && std::isspace(static_cast<unsigned char>(sig.back()))) {
    sig.remove_suffix(1);
  }
  auto bad = [&](const std::string &why) {
    return invalidArgument(fmt::format(
        "attention problem '{}': {}; expected {}", sig, why, kForm));
  };
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t pos = sig.find('_', start);
    parts.push_back(sig.substr(start, pos - start));
    if (pos == std::string_view::npos) {
      break;
    }
    start = pos + 1;
  }
  if (parts.size() < 3 || parts[0] != "attn") {
    return bad("it does not start with attn_<dtype>_<layout>");
  }
  AttentionProblem p;
  Result<DType> dt = parseDType(parts[1]);
  if (!dt.isOk()) {
    return bad(dt.status().message());
  }
  p.dtype = *dt;
  if (parts[2] == "BSHD") {
    p.layout = AttentionProblem::Layout::BSHD;
  } else if (parts[2] == "BHSD") {
    p.layout = AttentionProblem::Layout::BHSD;
  } else {
    return bad(fmt::format("layout '{}' is not BSHD or BHSD", parts[2]));
  }
  std::map<std::string_view, int64_t *> fields = {
      {"b", &p.batch}, {"hq", &p.hq},   {"hkv", &p.hkv},
      {"sq", &p.sq},   {"skv", &p.skv}, {"d", &p.d}};
  std::map<std::string_view, bool> seen;
  for (size_t i = 3; i < parts.size(); ++i) {
    std::string_view f = parts[i];
    if (f == "causal") {
      p.causal = true;
      continue;
    }
    size_t digits = 0;
    while (digits < f.size() &&
           !std::isdigit(static_cast<unsigned char>(f[digits]))) {
      ++digits;
    }
    std::string_view name = f.substr(0, digits);
    auto it = fields.find(name);
    if (it == fields.end() || digits == f.size()) {
      return bad(fmt::format("field '{}' is not one of b, hq, hkv, sq, skv, "
                             "d followed by a number, or causal",
                             f));
    }
    if (seen[name]) {
      return bad(fmt::format("field '{}' appears twice", name));
    }
    seen[name] = true;
    std::string_view num = f.substr(digits);
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
    if (ec != std::errc() || ptr != num.data() + num.size()) {
      return bad(fmt::format("'{}' in field '{}' is not a number", num, f));
    }
    *it->second = v;
  }
  for (const auto &[name, ptr] : fields) {
    if (!seen[name]) {
      return bad(fmt::format("field '{}' is missing", name));
    }
  }
  KT_RETURN_IF_ERROR(p.validate());
  return p;
}

} // namespace kt
