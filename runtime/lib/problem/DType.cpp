// Element type names, sizes and parsing (ktune and TunableOp spellings).
#include "ktune/problem/DType.h"

#include <cctype>
#include <string>

namespace kt {

namespace {

/// Lowercase ASCII copy of `s`.
std::string toLower(std::string_view s) {
  std::string out(s);
  for (char &c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

} // namespace

const char *dtypeName(DType t) {
  switch (t) {
  case DType::F32:
    return "f32";
  case DType::F64:
    return "f64";
  case DType::F16:
    return "f16";
  case DType::BF16:
    return "bf16";
  }
  return "unknown";
}

const char *dtypeTunableOpName(DType t) {
  switch (t) {
  case DType::F32:
    return "float";
  case DType::F64:
    return "double";
  case DType::F16:
    return "Half";
  case DType::BF16:
    return "BFloat16";
  }
  return "unknown";
}

int dtypeSize(DType t) {
  switch (t) {
  case DType::F32:
    return 4;
  case DType::F64:
    return 8;
  case DType::F16:
  case DType::BF16:
    return 2;
  }
  return 0;
}

Result<DType> parseDType(std::string_view s) {
  std::string lower = toLower(s);
  if (lower == "f32" || lower == "float") {
    return DType::F32;
  }
  if (lower == "f64" || lower == "double") {
    return DType::F64;
  }
  if (lower == "f16" || lower == "half") {
    return DType::F16;
  }
  if (lower == "bf16" || lower == "bfloat16") {
    return DType::BF16;
  }
  return invalidArgument("unknown element type '" + std::string(s) +
                         "'; use f32, f64, f16 or bf16 (TunableOp spelling: "
                         "float, double, Half, BFloat16)");
}

} // namespace kt
