// CpuCompiler: MLIR source -> LLVM IR -> host object -> shared object, with
// the content-addressed binary cache in front.
#include "ktune/compiler/CpuCompiler.h"

#include "ktune/base/Hash.h"
#include "ktune/compiler/BinaryCache.h"
#include "ktune/compiler/HostCodegen.h"
#include "ktune/compiler/MlirPipeline.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/raw_ostream.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>

namespace kt {

Result<EmitStage> parseEmitStage(const std::string &s) {
  if (s == "mlir")
    return EmitStage::Mlir;
  if (s == "scheduled")
    return EmitStage::Scheduled;
  if (s == "llvm-dialect")
    return EmitStage::LlvmDialect;
  if (s == "llvm")
    return EmitStage::LlvmIr;
  if (s == "asm")
    return EmitStage::Asm;
  return invalidArgument(fmt::format(
      "unknown --emit '{}'; expected mlir, scheduled, llvm-dialect, llvm or "
      "asm",
      s));
}

CpuCompiler::CpuCompiler(TargetDesc target, std::string cacheDir)
    : target_(std::move(target)), cacheDir_(std::move(cacheDir)) {
  fingerprint_ = fmt::format("mlir-{};{};pipeline={}", LLVM_VERSION_STRING,
                             hostCodegenFingerprint(), mlirPipelineVersion());
}

std::string CpuCompiler::defaultCacheDir() {
  if (const char *d = std::getenv("KTUNE_CACHE_DIR")) {
    return d;
  }
  if (const char *x = std::getenv("XDG_CACHE_HOME")) {
    return std::string(x) + "/ktune/kernels";
  }
  if (const char *h = std::getenv("HOME")) {
    return std::string(h) + "/.cache/ktune/kernels";
  }
  return "";
}

namespace {

Result<std::unique_ptr<llvm::Module>> optimizedIr(const KernelSource &src,
                                                  llvm::LLVMContext &ctx) {
  if (src.language != "mlir") {
    return invalidArgument("the CPU compiler takes MLIR sources, got " +
                           src.language);
  }
  KT_ASSIGN_OR_RETURN(auto m, mlirToLlvmIr(src.text, ctx));
  KT_RETURN_IF_ERROR(optimizeForHost(*m));
  return std::move(m);
}

} // namespace

Result<CompiledKernel> CpuCompiler::compile(const KernelSource &src,
                                            const std::string &identity) const {
  auto t0 = std::chrono::steady_clock::now();
  BinaryCache cache(cacheDir_);
  const std::string key = sha256Hex(fingerprint_ + "\n" + target_.toString() +
                                    "\n" + identity + "\n" + src.text);
  CompiledKernel out;
  if (auto hit = cache.get(key)) {
    out.bytes = std::move(*hit);
    out.fromCache = true;
  } else {
    llvm::LLVMContext ctx;
    KT_ASSIGN_OR_RETURN(auto m, optimizedIr(src, ctx));
    KT_ASSIGN_OR_RETURN(std::string obj, emitHostCode(*m, /*assembly=*/false));
    KT_ASSIGN_OR_RETURN(out.bytes, linkSharedObject(obj));
    cache.put(key, out.bytes);
  }
  out.hash = sha256Hex(out.bytes);
  out.compileMs = std::chrono::duration<double, std::milli>(
                      std::chrono::steady_clock::now() - t0)
                      .count();
  return out;
}

Result<std::string> CpuCompiler::emit(const KernelSource &src,
                                      EmitStage stage) const {
  switch (stage) {
  case EmitStage::Mlir:
    return src.text;
  case EmitStage::Scheduled:
    return scheduleMlir(src.text);
  case EmitStage::LlvmDialect:
    return lowerMlirToLlvmDialect(src.text);
  case EmitStage::LlvmIr:
  case EmitStage::Asm: {
    llvm::LLVMContext ctx;
    KT_ASSIGN_OR_RETURN(auto m, optimizedIr(src, ctx));
    if (stage == EmitStage::Asm) {
      return emitHostCode(*m, /*assembly=*/true);
    }
    std::string s;
    llvm::raw_string_ostream os(s);
    m->print(os, nullptr);
    return s;
  }
  }
  return internalError("unreachable emit stage");
}

} // namespace kt
