#include "HipEmit.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdlib>

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

std::string defaultHipCompiler() {
  const char *env = std::getenv("KTUNE_HIP_COMPILER");
  return env && *env ? env : "auto";
}

void addHipCompilerOption(CLI::App *command, std::string &value) {
  command
      ->add_option("--hip-compiler", value,
                   "HIP C++ front end for hip targets: auto (hiprtc where "
                   "a ROCm install can target the arch, else clang-22) | "
                   "hiprtc | clang (default: $KTUNE_HIP_COMPILER or auto)")
      ->capture_default_str()
      ->check(
          [](const std::string &text) -> std::string {
            auto f = parseHipFrontend(text);
            return f ? std::string() : f.status().message();
          },
          "auto|hiprtc|clang");
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
      "sha256 {}\ncompiler: {}\n",
      r.vgprs, r.agprs, r.sgprs, r.vgprSpills, r.sgprSpills, r.ldsBytes,
      r.scratchBytes, r.wavefrontSize, r.maxFlatWorkgroupSize,
      r.occupancy(arch), arch, src.launch, bin.codeObject.size(), bin.hash,
      compiler.fingerprint());
}

} // namespace kt::cli
