#include "ktune/compiler/HipCompiler.h"

#include "ktune/base/Hash.h"
#include "ktune/base/ScratchDir.h"
#include "ktune/base/Subprocess.h"
#include "ktune/compiler/BinaryCache.h"
#include "ktune/compiler/Hiprtc.h"
#include "ktune/compiler/MlirPipeline.h"

#include "llvm/BinaryFormat/ELF.h"
#include "llvm/BinaryFormat/MsgPackDocument.h"
#include "llvm/Object/ELFObjectFile.h"
#include "llvm/Support/MemoryBuffer.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>

namespace kt {
namespace {

const std::vector<std::string> &clangFlags() {
  // Device-only HIP, no ROCm headers or device libraries: the templates use
  // clang builtins only.
  static const std::vector<std::string> flags = {"-x",
                                                 "hip",
                                                 "--cuda-device-only",
                                                 "--no-gpu-bundle-output",
                                                 "-nogpulib",
                                                 "-nogpuinc",
                                                 "-O3",
                                                 "-std=c++17"};
  return flags;
}

// hiprtc predefines HIP's qualifiers; the templates spell them with clang
// attributes themselves, so redefinitions are expected.
const std::vector<std::string> &hiprtcFlags() {
  static const std::vector<std::string> flags = {"-O3", "-std=c++17",
                                                 "-Wno-macro-redefined"};
  return flags;
}

std::string joined(const std::vector<std::string> &flags) {
  std::string out;
  for (const std::string &f : flags) {
    out += (out.empty() ? "" : " ") + f;
  }
  return out;
}

Status clangAvailable() {
  if (::access(KT_CLANG_PATH, X_OK) != 0) {
    return unavailable(std::string("no HIP compiler: ") + KT_CLANG_PATH +
                       " is missing; install clang-22");
  }
  return Status::ok();
}

Status requireHip(const KernelSource &src) {
  if (src.language != "hip") {
    return invalidArgument(fmt::format(
        "HipCompiler compiles HIP C++ or MLIR, not '{}' source", src.language));
  }
  return Status::ok();
}

int metaInt(llvm::msgpack::MapDocNode &m, const char *key) {
  auto it = m.find(key);
  if (it == m.end()) {
    return 0;
  }
  llvm::msgpack::DocNode &n = it->second;
  if (n.getKind() == llvm::msgpack::Type::UInt) {
    return int(n.getUInt());
  }
  if (n.getKind() == llvm::msgpack::Type::Int) {
    return int(n.getInt());
  }
  return 0;
}

} // namespace

int HipResources::occupancy(const std::string &arch) const {
  // CDNA3/4: one 512-entry register file per SIMD lane holds VGPRs and AGPRs
  // (the metadata's .vgpr_count is already their unified total there),
  // allocated in granules of 8; at most 8 waves per SIMD; the 4 SIMDs of a
  // CU share its LDS.
  const int regs = std::max(1, (vgprs + 7) / 8 * 8);
  int waves = std::min(8, 512 / regs);
  if (ldsBytes > 0 && maxFlatWorkgroupSize > 0) {
    const int lds = arch == "gfx950" ? 160 * 1024 : 64 * 1024;
    const int groups = lds / ldsBytes;
    const int wavesPerGroup = (maxFlatWorkgroupSize + 63) / 64;
    // The busiest SIMD's share of the waves the CU's LDS admits.
    waves = std::min(waves, (groups * wavesPerGroup + 3) / 4);
  }
  return std::max(0, waves);
}

Result<HipResources> readHipMetadata(const std::string &codeObject,
                                     const std::string &entry) {
  auto buffer = llvm::MemoryBuffer::getMemBuffer(
      llvm::StringRef(codeObject.data(), codeObject.size()), "code-object",
      false);
  auto obj =
      llvm::object::ObjectFile::createELFObjectFile(buffer->getMemBufferRef());
  if (!obj) {
    llvm::consumeError(obj.takeError());
    return invalidArgument("the code object is not an ELF file");
  }
  auto *elf = llvm::dyn_cast<llvm::object::ELF64LEObjectFile>(obj->get());
  if (!elf || elf->getELFFile().getHeader().e_machine != llvm::ELF::EM_AMDGPU) {
    return invalidArgument("the code object is not an AMDGPU ELF file");
  }
  const auto &file = elf->getELFFile();
  auto sections = file.sections();
  if (!sections) {
    llvm::consumeError(sections.takeError());
    return invalidArgument("the code object's sections cannot be read");
  }
  for (const auto &sec : *sections) {
    if (sec.sh_type != llvm::ELF::SHT_NOTE) {
      continue;
    }
    llvm::Error err = llvm::Error::success();
    for (const auto &note : file.notes(sec, err)) {
      if (note.getName() != "AMDGPU" ||
          note.getType() != llvm::ELF::NT_AMDGPU_METADATA) {
        continue;
      }
      llvm::ArrayRef<uint8_t> desc = note.getDesc(sec.sh_addralign);
      llvm::msgpack::Document doc;
      if (!doc.readFromBlob(
              llvm::StringRef(reinterpret_cast<const char *>(desc.data()),
                              desc.size()),
              false)) {
        llvm::consumeError(std::move(err));
        return invalidArgument("the AMDGPU metadata note is not MessagePack");
      }
      auto &root = doc.getRoot().getMap(true);
      auto kernels = root.find("amdhsa.kernels");
      if (kernels == root.end() || !kernels->second.isArray()) {
        continue;
      }
      for (llvm::msgpack::DocNode &k : kernels->second.getArray()) {
        if (!k.isMap()) {
          continue;
        }
        auto &m = k.getMap();
        auto name = m.find(".name");
        if (name == m.end() || !name->second.isString() ||
            name->second.getString() != entry) {
          continue;
        }
        HipResources r;
        r.vgprs = metaInt(m, ".vgpr_count");
        r.agprs = metaInt(m, ".agpr_count");
        r.sgprs = metaInt(m, ".sgpr_count");
        r.vgprSpills = metaInt(m, ".vgpr_spill_count");
        r.sgprSpills = metaInt(m, ".sgpr_spill_count");
        r.ldsBytes = metaInt(m, ".group_segment_fixed_size");
        r.scratchBytes = metaInt(m, ".private_segment_fixed_size");
        r.wavefrontSize = metaInt(m, ".wavefront_size");
        r.maxFlatWorkgroupSize = metaInt(m, ".max_flat_workgroup_size");
        llvm::consumeError(std::move(err));
        return r;
      }
    }
    llvm::consumeError(std::move(err));
  }
  return notFound(fmt::format(
      "the code object has no AMDGPU metadata for kernel '{}'", entry));
}

Result<HipFrontend> parseHipFrontend(std::string_view text) {
  if (text == "auto") {
    return HipFrontend::Auto;
  }
  if (text == "hiprtc") {
    return HipFrontend::Hiprtc;
  }
  if (text == "clang") {
    return HipFrontend::Clang;
  }
  return invalidArgument(fmt::format(
      "unknown HIP compiler '{}': use auto, hiprtc or clang", text));
}

const char *hipFrontendName(HipFrontend f) {
  switch (f) {
  case HipFrontend::Auto:
    return "auto";
  case HipFrontend::Hiprtc:
    return "hiprtc";
  case HipFrontend::Clang:
    return "clang";
  }
  return "auto";
}

Result<HipCompiler> HipCompiler::create(TargetDesc target, std::string cacheDir,
                                        HipFrontend frontend) {
  if (target.kind != TargetKind::Hip) {
    return invalidArgument("HipCompiler needs a hip target, got " +
                           target.toString());
  }
  HipCompiler c;
  c.target_ = std::move(target);
  c.cacheDir_ = std::move(cacheDir);
  // hiprtc first (Auto, Hiprtc): the front end of the ROCm install that
  // will run the code; clang otherwise.
  Status hiprtcWhy = Status::ok();
  if (frontend != HipFrontend::Clang) {
    auto rtc = Hiprtc::get();
    hiprtcWhy = rtc ? (*rtc)->supports(c.target_.arch) : rtc.status();
    if (hiprtcWhy.isOk()) {
      c.frontend_ = HipFrontend::Hiprtc;
      c.fingerprint_ =
          fmt::format("hiprtc-{}.{};{};{}", (*rtc)->major(), (*rtc)->minor(),
                      c.target_.arch, joined(hiprtcFlags()));
      return c;
    }
    if (frontend == HipFrontend::Hiprtc) {
      return hiprtcWhy;
    }
  }
  if (Status s = clangAvailable(); !s.isOk()) {
    if (frontend == HipFrontend::Auto) {
      return unavailable(
          fmt::format("{}; and {}", s.message(), hiprtcWhy.message()));
    }
    return s;
  }
  c.frontend_ = HipFrontend::Clang;
  c.fingerprint_ =
      fmt::format("clang-{};hip-device-only;{};{}", LLVM_VERSION_STRING,
                  c.target_.arch, joined(clangFlags()));
  return c;
}

Result<std::string> HipCompiler::runClang(const KernelSource &src,
                                          const std::vector<std::string> &extra,
                                          std::string *log) const {
  KT_RETURN_IF_ERROR(requireHip(src));
  KT_RETURN_IF_ERROR(clangAvailable());
  ScratchDir dir("ktune-hip");
  if (dir.path.empty()) {
    return internalError("cannot create a scratch folder for clang");
  }
  const std::string in = (dir.path / (src.entry + ".hip")).string();
  const std::string out = (dir.path / "out").string();
  const std::string err = (dir.path / "stderr").string();
  {
    std::ofstream f(in);
    f << src.text;
  }
  std::vector<std::string> argv = {KT_CLANG_PATH};
  argv.insert(argv.end(), clangFlags().begin(), clangFlags().end());
  argv.push_back("--offload-arch=" + target_.arch);
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.insert(argv.end(), {in, "-o", out});
  KT_ASSIGN_OR_RETURN(int rc, runProcess(argv, "", err, clangTimeoutSeconds_));
  std::string messages = readTextFile(err);
  if (rc != 0) {
    return invalidArgument(
        fmt::format("clang could not compile {} for {} (exit {}):\n{}",
                    src.entry, target_.arch, rc, messages));
  }
  if (log) {
    *log = messages;
  }
  return readTextFile(out);
}

Result<HipKernelBinary>
HipCompiler::compile(const KernelSource &src,
                     const std::string &identity) const {
  BinaryCache cache(cacheDir_);
  const bool isMlir = src.language == "mlir";
  const std::string key =
      sha256Hex((isMlir ? mlirFingerprint() : fingerprint_) + "\n" + identity +
                "\n" + src.text);
  HipKernelBinary out;
  if (auto hit = cache.get(key)) {
    out.codeObject = std::move(*hit);
    out.fromCache = true;
  } else {
    auto start = std::chrono::steady_clock::now();
    if (isMlir) {
      KT_ASSIGN_OR_RETURN(out.codeObject,
                          mlirGpuToHsaco(src.text, target_.arch));
    } else if (frontend_ == HipFrontend::Hiprtc) {
      KT_RETURN_IF_ERROR(requireHip(src));
      KT_ASSIGN_OR_RETURN(const Hiprtc *rtc, Hiprtc::get());
      KT_ASSIGN_OR_RETURN(out.codeObject,
                          rtc->compile(src.text, src.entry, target_.arch,
                                       hiprtcFlags(), &out.log));
    } else {
      KT_ASSIGN_OR_RETURN(out.codeObject, runClang(src, {}, &out.log));
    }
    out.compileMs = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    cache.put(key, out.codeObject);
  }
  KT_ASSIGN_OR_RETURN(out.resources,
                      readHipMetadata(out.codeObject, src.entry));
  out.hash = sha256Hex(out.codeObject);
  return out;
}

std::string HipCompiler::mlirFingerprint() const {
  return fmt::format("mlir-{};{};ld.lld", LLVM_VERSION_STRING,
                     rocdlPipeline(target_.arch));
}

Result<std::string> HipCompiler::emit(const KernelSource &src,
                                      bool llvmIr) const {
  if (src.language == "mlir") {
    return mlirGpuToAmdgpuText(src.text, target_.arch, llvmIr);
  }
  if (llvmIr) {
    return runClang(src, {"-S", "-emit-llvm"}, nullptr);
  }
  return runClang(src, {"-S"}, nullptr);
}

Result<std::string>
HipCompiler::disassemble(const std::string &codeObject) const {
  ScratchDir dir("ktune-hip");
  if (dir.path.empty()) {
    return internalError("cannot create a scratch folder for llvm-objdump");
  }
  const std::string in = (dir.path / "kernel.hsaco").string();
  const std::string out = (dir.path / "out").string();
  const std::string err = (dir.path / "stderr").string();
  {
    std::ofstream f(in, std::ios::binary);
    f.write(codeObject.data(), std::streamsize(codeObject.size()));
  }
  KT_ASSIGN_OR_RETURN(
      int rc, runProcess({KT_OBJDUMP_PATH, "-d", "--mcpu=" + target_.arch, in},
                         out, err));
  if (rc != 0) {
    return internalError(fmt::format("llvm-objdump failed (exit {}):\n{}", rc,
                                     readTextFile(err)));
  }
  return readTextFile(out);
}

} // namespace kt
