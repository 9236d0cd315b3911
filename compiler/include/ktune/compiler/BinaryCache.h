// A content-addressed on-disk cache of compiled code objects.
#pragma once

#include <optional>
#include <string>

namespace kt {

/// Files are `<dir>/<key>.bin`, written to a temporary name then renamed, so
/// readers never see a torn file and several processes may share the folder.
/// Failures to write are ignored (the cache is an optimisation).
class BinaryCache {
public:
  explicit BinaryCache(std::string dir) : dir_(std::move(dir)) {}
  bool enabled() const { return !dir_.empty(); }
  std::optional<std::string> get(const std::string &key) const;
  void put(const std::string &key, const std::string &bytes) const;

private:
  std::string dir_;
};

} // namespace kt
