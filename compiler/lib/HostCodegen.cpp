// The LLVM half of the CPU path: host target machine, O3, object emission,
// and linking the object into a shared object with ld.lld.
#include "ktune/compiler/HostCodegen.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/OptimizationLevel.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <vector>

#ifndef KT_LLD_PATH
#define KT_LLD_PATH "ld.lld-22"
#endif

namespace kt {
namespace {

void initTargetsOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

/// Every feature the host reports, on ("+") and off ("-"). The off ones
/// matter: the CPU name implies its model's features, and a hypervisor may
/// hide some of them (AVX-512 on a Zen 4 guest), which the code must then
/// not use.
std::string hostFeatureString() {
  llvm::StringMap<bool> f = llvm::sys::getHostCPUFeatures();
  std::vector<std::string> all;
  for (const auto &kv : f) {
    all.push_back((kv.second ? "+" : "-") + kv.first().str());
  }
  std::sort(all.begin(), all.end());
  std::string s;
  for (const std::string &x : all) {
    s += (s.empty() ? "" : ",") + x;
  }
  return s;
}

Result<std::unique_ptr<llvm::TargetMachine>> hostMachine() {
  initTargetsOnce();
  std::string triple = llvm::sys::getProcessTriple();
  std::string err;
  const llvm::Target *t =
      llvm::TargetRegistry::lookupTarget(llvm::Triple(triple), err);
  if (!t) {
    return internalError("no LLVM target for " + triple + ": " + err);
  }
  llvm::TargetOptions opts;
  std::unique_ptr<llvm::TargetMachine> tm(
      t->createTargetMachine(llvm::Triple(triple), llvm::sys::getHostCPUName(),
                             hostFeatureString(), opts, llvm::Reloc::PIC_,
                             std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!tm) {
    return internalError("could not create a target machine for " + triple);
  }
  return std::move(tm);
}

} // namespace

std::string hostCodegenFingerprint() {
  return fmt::format("llvm-{};cpu={};features={}", LLVM_VERSION_STRING,
                     llvm::sys::getHostCPUName().str(), hostFeatureString());
}

Status optimizeForHost(llvm::Module &m) {
  KT_ASSIGN_OR_RETURN(auto tm, hostMachine());
  m.setDataLayout(tm->createDataLayout());
  m.setTargetTriple(tm->getTargetTriple());
  for (llvm::Function &f : m) {
    if (!f.isDeclaration()) {
      f.addFnAttr("target-cpu", tm->getTargetCPU());
      f.addFnAttr("target-features", tm->getTargetFeatureString());
    }
  }
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(tm.get());
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm =
      pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  mpm.run(m, mam);
  return Status::ok();
}

Result<std::string> emitHostCode(llvm::Module &m, bool assembly) {
  KT_ASSIGN_OR_RETURN(auto tm, hostMachine());
  llvm::SmallVector<char, 0> buf;
  llvm::raw_svector_ostream os(buf);
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, os, nullptr,
                              assembly ? llvm::CodeGenFileType::AssemblyFile
                                       : llvm::CodeGenFileType::ObjectFile)) {
    return internalError("the host target cannot emit this file type");
  }
  pm.run(m);
  return std::string(buf.begin(), buf.end());
}

Result<std::string> linkSharedObject(const std::string &object) {
  llvm::SmallString<128> objPath, soPath;
  int fd = -1;
  if (llvm::sys::fs::createTemporaryFile("ktune-kernel", "o", fd, objPath)) {
    return internalError("cannot create a temporary file for linking");
  }
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << object;
  }
  if (llvm::sys::fs::createTemporaryFile("ktune-kernel", "so", soPath)) {
    llvm::sys::fs::remove(objPath);
    return internalError("cannot create a temporary file for linking");
  }
  auto lld = llvm::sys::findProgramByName(KT_LLD_PATH);
  if (!lld) {
    llvm::sys::fs::remove(objPath);
    llvm::sys::fs::remove(soPath);
    return unavailable(fmt::format(
        "the linker '{}' was not found; install Debian's lld-22", KT_LLD_PATH));
  }
  std::string errMsg;
  llvm::SmallVector<llvm::StringRef, 8> args = {
      *lld, "-shared", "--no-undefined-version", "-O1", "-o", soPath, objPath};
  int rc =
      llvm::sys::ExecuteAndWait(*lld, args, std::nullopt, {}, 60, 0, &errMsg);
  llvm::sys::fs::remove(objPath);
  if (rc != 0) {
    llvm::sys::fs::remove(soPath);
    return internalError(fmt::format(
        "linking the kernel with {} failed ({}): {}", *lld, rc, errMsg));
  }
  auto buf = llvm::MemoryBuffer::getFile(soPath);
  llvm::sys::fs::remove(soPath);
  if (!buf) {
    return internalError("cannot read the linked kernel back");
  }
  return (*buf)->getBuffer().str();
}

} // namespace kt
