// Target descriptions: string form, parsing and the host CPU target.
#include "ktune/device/TargetDesc.h"

#include "ktune/device/HostInfo.h"

#include <algorithm>
#include <cctype>

namespace kt {
namespace {

constexpr const char *kExpectedForms = "expected cpu, cuda:sm_XX or hip:gfxNNN";

bool isDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)); }
bool isLowerAlnum(char c) { return isDigit(c) || (c >= 'a' && c <= 'z'); }

/// "sm_" then digits, then an optional lowercase suffix ("sm_90a").
bool isCudaArch(std::string_view arch) {
  if (arch.substr(0, 3) != "sm_") {
    return false;
  }
  std::string_view rest = arch.substr(3);
  size_t digits = 0;
  while (digits < rest.size() && isDigit(rest[digits])) {
    ++digits;
  }
  if (digits == 0) {
    return false;
  }
  return std::all_of(rest.begin() + digits, rest.end(),
                     [](char c) { return c >= 'a' && c <= 'z'; });
}

/// "gfx" then lowercase letters or digits ("gfx90a", "gfx950", "gfx1100").
bool isHipArch(std::string_view arch) {
  if (arch.substr(0, 3) != "gfx" || arch.size() == 3) {
    return false;
  }
  return isDigit(arch[3]) &&
         std::all_of(arch.begin() + 3, arch.end(), isLowerAlnum);
}

} // namespace

std::string TargetDesc::toString() const {
  switch (kind) {
  case TargetKind::Cpu:
    return "cpu";
  case TargetKind::Cuda:
    return "cuda:" + arch;
  case TargetKind::Hip:
    return "hip:" + arch;
  }
  return "unknown";
}

std::string TargetDesc::featureString() const {
  std::string out;
  for (const std::string &f : features) {
    out += (out.empty() ? "" : ",") + f;
  }
  return out;
}

bool TargetDesc::hasFeature(std::string_view f) const {
  return std::find(features.begin(), features.end(), f) != features.end();
}

TargetDesc TargetDesc::host() {
  TargetDesc desc;
  desc.kind = TargetKind::Cpu;
  desc.features = hostInfo().features;
  return desc;
}

Result<TargetDesc> parseTarget(std::string_view s) {
  std::string text(s);
  size_t colon = s.find(':');
  std::string_view kindName = s.substr(0, colon);
  bool hasArch = colon != std::string_view::npos;
  std::string_view arch = hasArch ? s.substr(colon + 1) : std::string_view();

  if (kindName == "cpu") {
    if (hasArch) {
      return invalidArgument("target '" + text +
                             "': the cpu target takes no architecture; use "
                             "'cpu' (the host is detected)");
    }
    return TargetDesc::host();
  }

  if (kindName == "cuda" || kindName == "hip") {
    bool isCuda = kindName == "cuda";
    const char *example = isCuda ? "cuda:sm_90a" : "hip:gfx950";
    if (arch.empty()) {
      return invalidArgument("target '" + text + "' names no architecture; " +
                             "expected e.g. " + example);
    }
    if (isCuda ? !isCudaArch(arch) : !isHipArch(arch)) {
      return invalidArgument("target '" + text + "' has malformed " +
                             "architecture '" + std::string(arch) +
                             "'; expected e.g. " + example);
    }
    TargetDesc desc;
    desc.kind = isCuda ? TargetKind::Cuda : TargetKind::Hip;
    desc.arch = std::string(arch);
    return desc;
  }

  return invalidArgument("unknown target '" + text + "'; " + kExpectedForms);
}

} // namespace kt
