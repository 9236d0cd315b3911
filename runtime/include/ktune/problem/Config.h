// Config: one point of a template's tuning space (named integer parameters).
#pragma once

#include "ktune/base/Status.h"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace kt {

/// Ordered name -> value map. String form "kc=256;mr=6;nr=16" (sorted by
/// name, no commas, so it fits a CSV field).
class Config {
public:
  Config() = default;
  Config(std::initializer_list<std::pair<const std::string, int64_t>> init)
      : values_(init) {}

  void set(const std::string &name, int64_t v) { values_[name] = v; }
  bool has(const std::string &name) const { return values_.count(name) != 0; }
  /// The value, or `fallback` if absent.
  int64_t get(const std::string &name, int64_t fallback = 0) const;
  const std::map<std::string, int64_t> &values() const { return values_; }
  std::string toString() const;
  bool operator==(const Config &) const = default;
  bool operator<(const Config &o) const { return values_ < o.values_; }

private:
  std::map<std::string, int64_t> values_;
};

/// Parses "a=1;b=2" (also accepts ',' or whitespace as separators).
Result<Config> parseConfig(std::string_view s);

/// `base` with the parameters of `text` ("mr=6;nv=2", parseConfig's syntax)
/// set over it; an empty `text` leaves it as it is.
Result<Config> applyConfig(Config base, std::string_view text);

} // namespace kt
