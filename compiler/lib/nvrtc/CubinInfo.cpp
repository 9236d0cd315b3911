// What a cubin says about its own kernels: the NVIDIA ELF keeps per-kernel
// attributes in ".nv.info" sections, each a sequence of
//   u8 format, u8 attribute, then (format 4, "sized") u16 size + payload
//   or (formats 2, 3) a 2-byte value, or (format 1) nothing;
// a sized REGCOUNT or FRAME_SIZE payload is {u32 symbol index, u32 value}.
// The kernel is found by its symbol in ".symtab". Every offset is checked:
// the bytes may come from a damaged cache file.
#include "ktune/compiler/CudaCompiler.h"

#include <fmt/format.h>

#include <cstdint>
#include <cstring>
#include <optional>

namespace kt {
namespace {

constexpr uint8_t kFormatNone = 1, kFormatSized = 4;
constexpr uint8_t kAttrFrameSize = 0x11, kAttrRegCount = 0x2f;
constexpr uint32_t kSymtab = 2;

struct Section {
  std::string name;
  uint32_t type = 0, link = 0;
  uint64_t offset = 0, size = 0;
};

class Elf {
public:
  explicit Elf(const std::string &bytes) : b_(bytes) {}

  template <class T> std::optional<T> read(uint64_t at) const {
    if (at > b_.size() || b_.size() - at < sizeof(T)) {
      return std::nullopt;
    }
    T v;
    std::memcpy(&v, b_.data() + at, sizeof(T));
    return v;
  }

  std::optional<std::string> cString(uint64_t at) const {
    if (at >= b_.size()) {
      return std::nullopt;
    }
    const size_t end = b_.find('\0', at);
    if (end == std::string::npos) {
      return std::nullopt;
    }
    return b_.substr(at, end - at);
  }

  /// Every section, or nullopt if the headers are damaged.
  std::optional<std::vector<Section>> sections() const {
    if (b_.size() < 64 ||
        b_.compare(0, 4,
                   "\x7f"
                   "ELF") != 0 ||
        b_[4] != 2 /* 64-bit */) {
      return std::nullopt;
    }
    auto shoff = read<uint64_t>(0x28);
    auto entSize = read<uint16_t>(0x3A);
    auto count = read<uint16_t>(0x3C);
    auto names = read<uint16_t>(0x3E);
    if (!shoff || !entSize || !count || !names || *entSize < 64 ||
        *names >= *count) {
      return std::nullopt;
    }
    std::vector<Section> out(*count);
    std::vector<uint32_t> nameAt(*count);
    for (uint16_t i = 0; i < *count; ++i) {
      const uint64_t h = *shoff + uint64_t(i) * *entSize;
      auto name = read<uint32_t>(h);
      auto type = read<uint32_t>(h + 4);
      auto offset = read<uint64_t>(h + 0x18);
      auto size = read<uint64_t>(h + 0x20);
      auto link = read<uint32_t>(h + 0x28);
      if (!name || !type || !offset || !size || !link) {
        return std::nullopt;
      }
      nameAt[i] = *name;
      out[i].type = *type;
      out[i].offset = *offset;
      out[i].size = *size;
      out[i].link = *link;
    }
    const Section &strings = out[*names];
    for (uint16_t i = 0; i < *count; ++i) {
      auto n = cString(strings.offset + nameAt[i]);
      if (!n) {
        return std::nullopt;
      }
      out[i].name = *n;
    }
    return out;
  }

  bool contains(const Section &s) const {
    return s.offset <= b_.size() && s.size <= b_.size() - s.offset;
  }

private:
  const std::string &b_;
};

/// The index of `entry` in the symbol table.
std::optional<uint32_t> symbolIndex(const Elf &elf,
                                    const std::vector<Section> &secs,
                                    const std::string &entry) {
  for (const Section &s : secs) {
    if (s.type != kSymtab || !elf.contains(s) || s.link >= secs.size()) {
      continue;
    }
    const Section &names = secs[s.link];
    for (uint64_t at = 0; at + 24 <= s.size; at += 24) {
      auto name = elf.read<uint32_t>(s.offset + at);
      if (!name) {
        return std::nullopt;
      }
      if (elf.cString(names.offset + *name) == entry) {
        return uint32_t(at / 24);
      }
    }
  }
  return std::nullopt;
}

} // namespace

Result<CudaResources> readCubinResources(const std::string &cubin,
                                         const std::string &entry) {
  Elf elf(cubin);
  auto secs = elf.sections();
  if (!secs) {
    return invalidArgument(fmt::format(
        "the code object for '{}' is not a readable cubin (ELF64); it may be "
        "damaged: clear the kernel cache and compile again",
        entry));
  }
  auto symbol = symbolIndex(elf, *secs, entry);
  if (!symbol) {
    return notFound(fmt::format(
        "the cubin has no kernel named '{}' in its symbols", entry));
  }
  CudaResources r;
  bool haveRegisters = false;
  for (const Section &s : *secs) {
    if ((s.name != ".nv.info" && s.name != ".nv.info." + entry) ||
        !elf.contains(s)) {
      continue;
    }
    for (uint64_t at = s.offset, end = s.offset + s.size; at + 2 <= end;) {
      const uint8_t format = uint8_t(cubin[at]), attr = uint8_t(cubin[at + 1]);
      if (format == kFormatNone) {
        at += 2;
        continue;
      }
      if (format != kFormatSized) {
        at += 4;
        continue;
      }
      auto size = elf.read<uint16_t>(at + 2);
      if (!size || at + 4 + *size > end) {
        break;
      }
      if ((attr == kAttrRegCount || attr == kAttrFrameSize) && *size == 8) {
        auto sym = elf.read<uint32_t>(at + 4);
        auto value = elf.read<uint32_t>(at + 8);
        if (sym && value && *sym == *symbol) {
          if (attr == kAttrRegCount) {
            r.registers = int(*value);
            haveRegisters = true;
          } else {
            r.stackBytes = int(*value);
          }
        }
      }
      at += 4 + *size;
    }
  }
  if (!haveRegisters) {
    return notFound(fmt::format(
        "the cubin records no register count for '{}' (.nv.info)", entry));
  }
  return r;
}

} // namespace kt
