// The MLIR half of the CPU path, through MLIR's C++ API (in process).
#include "ktune/compiler/MlirPipeline.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Transform/IR/TransformOps.h"
#include "mlir/Dialect/Transform/Transforms/TransformInterpreterUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include "ktune/base/ScratchDir.h"

#include <filesystem>
#include <mutex>

namespace kt {
namespace {

// The lowering after the schedule (passes nested in builtin.module). Everything
// is static-shaped, so memrefs cross the function boundary as bare pointers
// (CpuGemmAbi.h).
constexpr const char *kLowering =
    "func.func(promote-buffers-to-stack{max-alloc-size-in-"
    "bytes=262144 "
    "max-rank-of-allocated-memref=4}),buffer-deallocation-pipeline,"
    "func.func(canonicalize,cse,canonicalize,convert-linalg-to-loops,"
    "convert-vector-"
    "to-scf{full-unroll=true},lower-affine,convert-scf-to-cf),expand-strided-"
    "metadata,lower-affine,finalize-memref-to-llvm,convert-vector-to-llvm{"
    "enable-x86vector=1},"
    "convert-math-to-llvm,convert-arith-to-llvm,convert-index-to-llvm,"
    "convert-func-to-llvm{use-bare-ptr-memref-call-conv=1},convert-cf-to-"
    "llvm,convert-ub-to-llvm,reconcile-unrealized-casts";

const mlir::DialectRegistry &registry() {
  static const mlir::DialectRegistry *reg = [] {
    auto *r = new mlir::DialectRegistry();
    mlir::registerAllDialects(*r);
    mlir::registerAllExtensions(*r);
    mlir::registerAllToLLVMIRTranslations(*r);
    return r;
  }();
  return *reg;
}

void registerPassesOnce() {
  static std::once_flag once;
  std::call_once(once, [] { mlir::registerAllPasses(); });
}

/// An MLIR context whose diagnostics are collected into a string.
struct Session {
  mlir::MLIRContext ctx{registry(), mlir::MLIRContext::Threading::DISABLED};
  std::string diags;
  mlir::ScopedDiagnosticHandler handler{&ctx, [this](mlir::Diagnostic &d) {
                                          llvm::raw_string_ostream os(diags);
                                          os << d.getLocation() << ": " << d
                                             << "\n";
                                          return mlir::success();
                                        }};
  Session() {
    registerPassesOnce();
    ctx.loadAllAvailableDialects();
  }
  Status error(const std::string &what) const {
    return internalError(what + (diags.empty() ? "" : ":\n" + diags));
  }
};

std::string print(mlir::ModuleOp m) {
  std::string s;
  llvm::raw_string_ostream os(s);
  m.print(os);
  return s;
}

Result<mlir::OwningOpRef<mlir::ModuleOp>> parse(Session &s,
                                                const std::string &text) {
  auto m = mlir::parseSourceString<mlir::ModuleOp>(text, &s.ctx);
  if (!m) {
    return s.error("the kernel source is not valid MLIR (template bug)");
  }
  return m;
}

/// Applies the module's @__transform_main schedule to the kernel function
/// and erases the schedule.
Status schedule(Session &s, mlir::ModuleOp m) {
  mlir::transform::TransformOpInterface entry =
      mlir::transform::detail::findTransformEntryPoint(m, m);
  if (!entry) {
    return s.error("the kernel source has no @__transform_main schedule");
  }
  mlir::transform::TransformOptions opts;
  if (mlir::failed(
          mlir::transform::applyTransformNamedSequence(m, entry, m, opts))) {
    return s.error("the transform schedule failed");
  }
  llvm::SmallVector<mlir::Operation *> seqs;
  m.walk([&](mlir::transform::NamedSequenceOp op) { seqs.push_back(op); });
  for (mlir::Operation *op : seqs) {
    op->erase();
  }
  m->removeAttr(mlir::transform::TransformDialect::kWithNamedSequenceAttrName);
  return Status::ok();
}

/// Kernels that call math.exp (attention's softmax) get MLIR's polynomial
/// approximation, which vectorises, instead of one libm call per lane.
/// Modules without math.exp (the GEMMs) are left exactly as they were.
Status approximateMath(Session &s, mlir::ModuleOp m) {
  bool hasExp = false;
  m.walk([&](mlir::math::ExpOp) { hasExp = true; });
  if (!hasExp) {
    return Status::ok();
  }
  mlir::RewritePatternSet patterns(&s.ctx);
  mlir::populateMathPolynomialApproximationPatterns(patterns);
  if (mlir::failed(mlir::applyPatternsGreedily(m, std::move(patterns)))) {
    return s.error("approximating math.exp failed");
  }
  return Status::ok();
}

Status lower(Session &s, mlir::ModuleOp m) {
  KT_RETURN_IF_ERROR(approximateMath(s, m));
  mlir::PassManager pm(&s.ctx, mlir::ModuleOp::getOperationName());
  std::string err;
  llvm::raw_string_ostream es(err);
  if (mlir::failed(mlir::parsePassPipeline(kLowering, pm, es))) {
    return internalError("bad lowering pipeline: " + err);
  }
  if (std::getenv("KT_DEBUG_PIPELINE")) {
    pm.printAsTextualPipeline(llvm::errs());
    llvm::errs() << "\n";
  }
  if (mlir::failed(pm.run(m))) {
    return s.error("lowering to the LLVM dialect failed");
  }
  return Status::ok();
}

} // namespace

const char *mlirPipelineVersion() { return "kt-cpu-lower/3"; }

std::string nvvmPipeline(const std::string &arch, const char *format) {
  // sm_100a needs PTX 8.6, sm_90a 8.0; kernels are specialised to static
  // shapes, so memrefs cross the launch as bare pointers.
  const char *ptx = arch == "sm_100a" ? "+ptx86" : "+ptx80";
  return "gpu-lower-to-nvvm-pipeline{cubin-chip=" + arch +
         " cubin-features=" + ptx + " cubin-format=" + format +
         " kernel-bare-ptr-calling-convention=1}";
}

namespace {

Status runGpuPipeline(Session &s, mlir::ModuleOp m, const std::string &arch,
                      const char *format) {
  mlir::PassManager pm(&s.ctx, mlir::ModuleOp::getOperationName());
  std::string err;
  llvm::raw_string_ostream es(err);
  if (mlir::failed(
          mlir::parsePassPipeline(nvvmPipeline(arch, format), pm, es))) {
    return internalError("bad NVVM pipeline: " + err);
  }
  if (mlir::failed(pm.run(m))) {
    return s.error("lowering the GPU kernel to NVVM / PTX for " + arch +
                   " failed");
  }
  return Status::ok();
}

} // namespace

std::string rocdlPipeline(const std::string &arch) {
  return "gpu.module(convert-scf-to-cf,convert-gpu-to-rocdl{chipset=" + arch +
         " use-bare-ptr-memref-call-conv=true}),reconcile-unrealized-casts";
}

namespace {

/// The only object of the module's gpu.binary (PTX text or an ELF code
/// object).
std::string binaryObject(mlir::ModuleOp m) {
  std::string out;
  m->walk([&](mlir::gpu::BinaryOp bin) {
    for (mlir::Attribute a : bin.getObjects()) {
      if (auto obj = llvm::dyn_cast<mlir::gpu::ObjectAttr>(a)) {
        out = obj.getObject().str();
      }
    }
  });
  return out;
}

} // namespace

namespace {

/// The ROCDL lowering and gpu-module-to-binary in `format`: "bin" (a code
/// object linked by ld.lld), "isa" (the AMDGPU backend's assembly) or "llvm"
/// (the optimised LLVM bitcode the backend reads).
Result<std::string> rocdlObject(const std::string &text,
                                const std::string &arch, const char *format) {
  Session s;
  KT_ASSIGN_OR_RETURN(auto m, parse(s, text));
  // gpu-module-to-binary links with <toolkit>/llvm/bin/ld.lld: a private
  // toolkit folder holding a link to ld.lld-22. Device libraries are not
  // needed (the kernels call no device-library math).
  ScratchDir toolkit("ktune-rocdl");
  std::error_code ec;
  std::filesystem::create_directories(toolkit.path / "llvm" / "bin", ec);
  std::filesystem::create_symlink(KT_LLD_PATH,
                                  toolkit.path / "llvm" / "bin" / "ld.lld", ec);
  if (ec || toolkit.path.empty()) {
    return internalError("cannot prepare a linker folder for the ROCDL path: " +
                         ec.message());
  }
  mlir::PassManager pm(&s.ctx, mlir::ModuleOp::getOperationName());
  std::string err;
  llvm::raw_string_ostream es(err);
  const std::string pipeline = rocdlPipeline(arch) +
                               ",gpu-module-to-binary{format=" + format +
                               " toolkit=" + toolkit.path.string() + "}";
  if (mlir::failed(mlir::parsePassPipeline(pipeline, pm, es))) {
    return internalError("bad ROCDL pipeline: " + err);
  }
  if (mlir::failed(pm.run(*m))) {
    return s.error("lowering the GPU kernel to ROCDL / a code object for " +
                   arch + " failed");
  }
  std::string object = binaryObject(*m);
  if (object.empty()) {
    const std::string_view f = format;
    return s.error(std::string("the ROCDL pipeline produced no ") +
                   (f == "bin"   ? "code object"
                    : f == "isa" ? "assembly"
                                 : "LLVM bitcode"));
  }
  return object;
}

} // namespace

Result<std::string> mlirGpuToHsaco(const std::string &text,
                                   const std::string &arch) {
  return rocdlObject(text, arch, "bin");
}

Result<std::string> mlirGpuToAmdgpuText(const std::string &text,
                                        const std::string &arch, bool llvmIr) {
  if (!llvmIr) {
    return rocdlObject(text, arch, "isa");
  }
  KT_ASSIGN_OR_RETURN(std::string bitcode, rocdlObject(text, arch, "llvm"));
  llvm::LLVMContext ctx;
  auto module = llvm::parseBitcodeFile(
      llvm::MemoryBufferRef(bitcode, "rocdl-bitcode"), ctx);
  if (!module) {
    return internalError("the ROCDL pipeline's LLVM bitcode cannot be read: " +
                         llvm::toString(module.takeError()));
  }
  std::string ir;
  llvm::raw_string_ostream os(ir);
  (*module)->print(os, nullptr);
  return ir;
}

Result<std::string> mlirGpuToPtx(const std::string &text,
                                 const std::string &arch) {
  Session s;
  KT_ASSIGN_OR_RETURN(auto m, parse(s, text));
  KT_RETURN_IF_ERROR(runGpuPipeline(s, *m, arch, "isa"));
  std::string ptx = binaryObject(*m);
  if (ptx.empty()) {
    return s.error("the NVVM pipeline produced no PTX object");
  }
  return ptx;
}

Result<std::string> scheduleMlir(const std::string &text) {
  Session s;
  KT_ASSIGN_OR_RETURN(auto m, parse(s, text));
  KT_RETURN_IF_ERROR(schedule(s, *m));
  return print(*m);
}

Result<std::string> lowerMlirToLlvmDialect(const std::string &text) {
  Session s;
  KT_ASSIGN_OR_RETURN(auto m, parse(s, text));
  KT_RETURN_IF_ERROR(schedule(s, *m));
  KT_RETURN_IF_ERROR(lower(s, *m));
  return print(*m);
}

Result<std::unique_ptr<llvm::Module>> mlirToLlvmIr(const std::string &text,
                                                   llvm::LLVMContext &ctx) {
  Session s;
  KT_ASSIGN_OR_RETURN(auto m, parse(s, text));
  KT_RETURN_IF_ERROR(schedule(s, *m));
  KT_RETURN_IF_ERROR(lower(s, *m));
  std::unique_ptr<llvm::Module> llvmModule =
      mlir::translateModuleToLLVMIR(*m, ctx, "ktune_kernel");
  if (!llvmModule) {
    return s.error("translation to LLVM IR failed");
  }
  return llvmModule;
}

void registerKtPasses() {
  registerPassesOnce();
  static std::once_flag once;
  std::call_once(once, [] {
    mlir::PassPipelineRegistration<>(
        "kt-cpu-lower",
        "ktune's lowering of a scheduled CPU kernel to the LLVM dialect",
        [](mlir::OpPassManager &pm) {
          (void)mlir::parsePassPipeline(kLowering, pm);
        });
  });
}

} // namespace kt
