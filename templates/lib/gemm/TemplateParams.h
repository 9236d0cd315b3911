// Internal: checks shared by every family's validate().
#pragma once

#include "ktune/base/Status.h"
#include "ktune/problem/Config.h"

#include <fmt/format.h>

#include <span>

namespace kt {

/// InvalidArgument naming the first of `keys` that `c` lacks.
inline Status requireParams(const Config &c,
                            std::span<const char *const> keys) {
  for (const char *key : keys) {
    if (!c.has(key)) {
      return invalidArgument(
          fmt::format("config '{}' lacks parameter '{}'", c.toString(), key));
    }
  }
  return Status::ok();
}

} // namespace kt
