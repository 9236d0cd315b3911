// Internal: a private scratch folder removed on scope exit (worker
// processes write their inputs and outputs there).
#pragma once

#include <filesystem>
#include <string>

#include <stdlib.h>

namespace kt {

struct ScratchDir {
  std::filesystem::path path; ///< Empty if creation failed.
  explicit ScratchDir(const char *prefix) {
    std::string t = (std::filesystem::temp_directory_path() /
                     (std::string(prefix) + "-XXXXXX"));
    if (::mkdtemp(t.data())) {
      path = t;
    }
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path.empty()) {
      std::filesystem::remove_all(path, ec);
    }
  }
  ScratchDir(const ScratchDir &) = delete;
  ScratchDir &operator=(const ScratchDir &) = delete;
};

} // namespace kt
