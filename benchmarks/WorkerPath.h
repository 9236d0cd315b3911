// The measurement worker the GPU benchmarks start (`name`:
// ktune-cuda-worker or ktune-hip-worker): $`env`, else next to the
// benchmark, else the build tree's (`built`).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

namespace kt::bench {

inline std::string findWorker(const char *name, const char *env,
                              const char *built) {
  namespace fs = std::filesystem;
  if (const char *path = std::getenv(env)) {
    return path;
  }
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec).parent_path();
  if (::access((self / name).c_str(), X_OK) == 0) {
    return (self / name).string();
  }
  return built;
}

} // namespace kt::bench
