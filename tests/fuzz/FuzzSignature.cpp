// libFuzzer target: problem signatures (ktune's and TunableOp's). Any input
// must parse or be rejected without a crash; an accepted problem must
// survive its key and TunableOp round trips unchanged.
#include "ktune/problem/GemmProblem.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  kt::Result<kt::GemmProblem> p = kt::parseGemmProblem(text);
  if (!p.isOk()) {
    if (p.status().message().empty()) {
      __builtin_trap(); // Every rejection must say why.
    }
    return 0;
  }
  kt::Result<kt::GemmProblem> again = kt::parseGemmProblem(p->key());
  if (!again.isOk() || !(*again == *p)) {
    __builtin_trap();
  }
  if (!p->hasTunableOpForm()) {
    return 0;
  }
  kt::Result<kt::GemmProblem> viaTunableOp =
      kt::parseTunableOpGemm(p->tunableOpSig(), p->tunableOpParams());
  if (!viaTunableOp.isOk() || !(*viaTunableOp == *p)) {
    __builtin_trap();
  }
  return 0;
}
