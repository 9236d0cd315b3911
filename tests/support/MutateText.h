// Shared test helper: mutations of generated kernel text, which tests that
// check a kernel's numerics must catch.
#pragma once

#include <catch2/catch.hpp>

#include <string>

namespace kt::test {

/// `text` with its one occurrence of `from` replaced by `to`.
inline std::string mutateOnce(std::string text, const std::string &from,
                              const std::string &to) {
  const size_t at = text.find(from);
  INFO(from);
  REQUIRE(at != std::string::npos);
  REQUIRE(text.find(from, at + 1) == std::string::npos);
  return text.replace(at, from.size(), to);
}

/// `text` with every `from` replaced by `to` (at least one).
inline std::string mutateAll(std::string text, const std::string &from,
                             const std::string &to) {
  size_t at = text.find(from);
  INFO(from);
  REQUIRE(at != std::string::npos);
  for (; at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

} // namespace kt::test
