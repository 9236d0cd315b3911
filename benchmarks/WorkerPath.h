// The CUDA measurement worker the GPU benchmarks start: $KTUNE_CUDA_WORKER,
// else ktune-cuda-worker next to the benchmark, else the build tree's.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

namespace kt::bench {

inline std::string findWorker() {
  namespace fs = std::filesystem;
  if (const char *env = std::getenv("KTUNE_CUDA_WORKER")) {
    return env;
  }
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec).parent_path();
  if (::access((self / "ktune-cuda-worker").c_str(), X_OK) == 0) {
    return (self / "ktune-cuda-worker").string();
  }
  return KT_CUDA_WORKER_PATH;
}

} // namespace kt::bench
