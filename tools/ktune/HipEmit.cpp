#include "HipEmit.h"

#include <fmt/format.h>

namespace kt::cli {

Status checkHipEmit(const std::string &emit) {
  for (const char *e : {"hip", "llvm", "asm", "hsaco", "resources", "disasm"}) {
    if (emit == e) {
      return Status::ok();
    }
  }
  return invalidArgument(fmt::format(
      "unknown --emit '{}' for a hip target; expected hip, llvm, asm, hsaco, "
      "resources or disasm",
      emit));
}

Result<std::string> emitHip(const HipCompiler &compiler,
                            const KernelSource &src, const std::string &emit) {
  KT_RETURN_IF_ERROR(checkHipEmit(emit));
  if (emit == "hip") {
    return src.text;
  }
  if (emit == "llvm" || emit == "asm") {
    return compiler.emit(src, emit == "llvm");
  }
  KT_ASSIGN_OR_RETURN(HipKernelBinary bin, compiler.compile(src, ""));
  if (emit == "hsaco") {
    return bin.codeObject;
  }
  if (emit == "disasm") {
    return compiler.disassemble(bin.codeObject);
  }
  const HipResources &r = bin.resources;
  const std::string &arch = compiler.target().arch;
  return fmt::format(
      "vgprs: {}\nagprs: {}\nsgprs: {}\nvgpr spills: {}\nsgpr spills: {}\n"
      "lds: {} B\nscratch: {} B/lane\nwavefront: {}\nworkgroup: {} "
      "lanes\noccupancy: {} waves/SIMD on {}\nlaunch: {}\ncode object: {} B, "
      "sha256 {}\n",
      r.vgprs, r.agprs, r.sgprs, r.vgprSpills, r.sgprSpills, r.ldsBytes,
      r.scratchBytes, r.wavefrontSize, r.maxFlatWorkgroupSize,
      r.occupancy(arch), arch, src.launch, bin.codeObject.size(), bin.hash);
}

} // namespace kt::cli
