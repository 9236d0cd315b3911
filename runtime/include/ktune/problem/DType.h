// Element types and their names in ktune and in PyTorch TunableOp signatures.
#pragma once

#include "ktune/base/Status.h"

#include <string>
#include <string_view>

namespace kt {

enum class DType { F32, F64, F16, BF16 };

/// "f32", "f64", "f16", "bf16".
const char *dtypeName(DType t);
/// TunableOp spelling: "float", "double", "Half", "BFloat16".
const char *dtypeTunableOpName(DType t);
/// Bytes per element.
int dtypeSize(DType t);
/// Accepts either spelling (case-insensitive for ktune names).
Result<DType> parseDType(std::string_view s);

} // namespace kt
