// Detects the host CPU's model, ISA features and cache sizes once.
#include "ktune/device/HostInfo.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define KT_HOST_X86 1
#else
#define KT_HOST_X86 0
#endif

namespace kt {
namespace {

/// Used only when neither sysfs nor sysconf report a last-level cache, so
/// that cost models always see a positive size.
constexpr int64_t kFallbackLastLevelCacheBytes = int64_t(8) << 20;

std::string trim(const std::string &s) {
  size_t begin = 0, end = s.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(s[begin]))) {
    ++begin;
  }
  while (end > begin && std::isspace(static_cast<unsigned char>(s[end - 1]))) {
    --end;
  }
  return s.substr(begin, end - begin);
}

/// The first line of a small text file, trimmed; empty if unreadable.
std::string readFirstLine(const std::string &path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    return {};
  }
  return trim(line);
}

/// The value of the first "model name" line in /proc/cpuinfo.
std::string readCpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) {
      continue;
    }
    if (trim(line.substr(0, colon)) == "model name") {
      std::string model = trim(line.substr(colon + 1));
      if (!model.empty()) {
        return model;
      }
    }
  }
  return "unknown CPU";
}

/// Parses sysfs cache sizes such as "48K", "2048K" or "32M"; 0 on error.
int64_t parseCacheSize(const std::string &text) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) {
    return 0;
  }
  int64_t value = 0;
  size_t i = 0;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]));
       ++i) {
    value = value * 10 + (text[i] - '0');
  }
  std::string suffix = trim(text.substr(i));
  if (suffix.empty() || suffix == "B") {
    return value;
  }
  switch (std::toupper(static_cast<unsigned char>(suffix[0]))) {
  case 'K':
    return value << 10;
  case 'M':
    return value << 20;
  case 'G':
    return value << 30;
  default:
    return 0;
  }
}

/// Fills l1dBytes, l2Bytes and lastLevelCacheBytes from sysfs, falling back
/// to sysconf() where sysfs says nothing.
void readCaches(HostInfo &info) {
  int llcLevel = 0;
  for (int index = 0;; ++index) {
    std::string dir =
        "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index);
    std::string levelText = readFirstLine(dir + "/level");
    if (levelText.empty()) {
      break;
    }
    int level = std::atoi(levelText.c_str());
    std::string type = readFirstLine(dir + "/type");
    int64_t size = parseCacheSize(readFirstLine(dir + "/size"));
    if (type != "Data" && type != "Unified") {
      continue;
    }
    if (level == 1 && info.l1dBytes == 0) {
      info.l1dBytes = size;
    }
    if (level == 2 && info.l2Bytes == 0) {
      info.l2Bytes = size;
    }
    if (size > 0 && level > llcLevel) {
      llcLevel = level;
      info.lastLevelCacheBytes = size;
    }
  }

#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL3_CACHE_SIZE)
  auto sysconfBytes = [](int name) -> int64_t {
    long v = sysconf(name);
    return v > 0 ? int64_t(v) : 0;
  };
  if (info.l1dBytes == 0) {
    info.l1dBytes = sysconfBytes(_SC_LEVEL1_DCACHE_SIZE);
  }
  if (info.l2Bytes == 0) {
    info.l2Bytes = sysconfBytes(_SC_LEVEL2_CACHE_SIZE);
  }
  if (info.lastLevelCacheBytes == 0) {
    info.lastLevelCacheBytes = sysconfBytes(_SC_LEVEL4_CACHE_SIZE);
  }
  if (info.lastLevelCacheBytes == 0) {
    info.lastLevelCacheBytes = sysconfBytes(_SC_LEVEL3_CACHE_SIZE);
  }
#endif
  if (info.lastLevelCacheBytes == 0) {
    info.lastLevelCacheBytes = std::max(info.l2Bytes, info.l1dBytes);
  }
  if (info.lastLevelCacheBytes == 0) {
    info.lastLevelCacheBytes = kFallbackLastLevelCacheBytes;
  }
}

#if KT_HOST_X86
/// XCR0: which register states the OS saves on context switch.
uint64_t readXcr0() {
  uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (uint64_t(edx) << 32) | eax;
}
#endif

/// The ISA extensions ktune uses that both the CPU and the OS support,
/// sorted alphabetically.
std::vector<std::string> detectFeatures() {
  std::vector<std::string> features;
#if KT_HOST_X86
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(1, 0, &eax, &ebx, &ecx, &edx)) {
    return features;
  }
  bool hasOsxsave = ecx & (1u << 27);
  bool cpuAvx = ecx & (1u << 28);
  bool cpuFma = ecx & (1u << 12);

  uint64_t xcr0 = hasOsxsave ? readXcr0() : 0;
  // XMM (bit 1) and YMM (bit 2) state.
  bool osAvx = (xcr0 & 0x6) == 0x6;
  // Additionally opmask (5), ZMM_Hi256 (6) and Hi16_ZMM (7) state.
  bool osAvx512 = (xcr0 & 0xe6) == 0xe6;

  if (cpuAvx && osAvx) {
    features.push_back("avx");
    if (cpuFma) {
      features.push_back("fma");
    }
  }

  unsigned maxLeaf = __get_cpuid_max(0, nullptr);
  if (maxLeaf >= 7 && osAvx &&
      __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
    if (ebx & (1u << 5)) {
      features.push_back("avx2");
    }
    if (osAvx512 && (ebx & (1u << 16))) {
      features.push_back("avx512f");
      if (ebx & (1u << 17)) {
        features.push_back("avx512dq");
      }
      if (ebx & (1u << 30)) {
        features.push_back("avx512bw");
      }
      if (ebx & (1u << 31)) {
        features.push_back("avx512vl");
      }
      // Leaf 7 sub-leaf 1, EAX bit 5: the BF16 dot products (vdpbf16ps).
      unsigned a1 = 0, b1 = 0, c1 = 0, d1 = 0;
      if (eax >= 1 && __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1) &&
          (a1 & (1u << 5))) {
        features.push_back("avx512bf16");
      }
    }
  }
#endif
  std::sort(features.begin(), features.end());
  return features;
}

HostInfo detectHostInfo() {
  HostInfo info;
  info.cpuModel = readCpuModel();
  info.features = detectFeatures();
  readCaches(info);
  info.logicalCores = std::max(1u, std::thread::hardware_concurrency());
  return info;
}

} // namespace

const HostInfo &hostInfo() {
  static const HostInfo info = detectHostInfo();
  return info;
}

} // namespace kt
