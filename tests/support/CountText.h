// Shared test helper: how often a string occurs in a text (instructions in
// PTX or a disassembly).
#pragma once

#include <cstddef>
#include <string_view>

namespace kt::test {

/// Occurrences of `what` in `text` (overlapping ones included).
inline size_t count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string_view::npos;
       at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

} // namespace kt::test
