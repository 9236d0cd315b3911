// The LLVM half of the CPU path: optimise for the host, emit an object or
// assembly, link a shared object. Internal to compiler/.
#pragma once

#include "ktune/base/Status.h"

#include <string>

namespace llvm {
class Module;
} // namespace llvm

namespace kt {

/// "cpu=<llvm host cpu>;features=+avx2,..." of the machine compiled for.
std::string hostCodegenFingerprint();
/// Optimises `m` at O3 for the host CPU in place.
Status optimizeForHost(llvm::Module &m);
/// Host assembly or an ELF relocatable object of `m`.
Result<std::string> emitHostCode(llvm::Module &m, bool assembly);
/// Links an object into a shared object with ld.lld (lld-22).
Result<std::string> linkSharedObject(const std::string &object);

} // namespace kt
