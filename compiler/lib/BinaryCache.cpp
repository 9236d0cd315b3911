// Content-addressed on-disk cache of compiled code objects.
#include "ktune/compiler/BinaryCache.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace kt {

namespace fs = std::filesystem;

std::optional<std::string> BinaryCache::get(const std::string &key) const {
  if (!enabled()) {
    return std::nullopt;
  }
  std::ifstream in(fs::path(dir_) / (key + ".bin"), std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string bytes = ss.str();
  if (bytes.empty()) {
    return std::nullopt;
  }
  return bytes;
}

void BinaryCache::put(const std::string &key, const std::string &bytes) const {
  if (!enabled()) {
    return;
  }
  static std::atomic<uint64_t> counter{0};
  std::error_code ec;
  fs::create_directories(dir_, ec);
  fs::path final = fs::path(dir_) / (key + ".bin");
  fs::path tmp = fs::path(dir_) / (key + ".tmp." + std::to_string(getpid()) +
                                   "." + std::to_string(counter++));
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) {
      return;
    }
    out.write(bytes.data(), std::streamsize(bytes.size()));
    if (!out) {
      fs::remove(tmp, ec);
      return;
    }
  }
  fs::rename(tmp, final, ec);
  if (ec) {
    fs::remove(tmp, ec);
  }
}

} // namespace kt
