// Internal: the "key=value;key=value" text of launch descriptions.
#pragma once

#include <charconv>
#include <string_view>
#include <utility>
#include <vector>

namespace kt::launchtext {

/// A non-negative decimal int, the whole of `s`.
inline bool parseInt(std::string_view s, int &out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= 0;
}

/// "RxC" into two positive ints.
inline bool parsePair(std::string_view s, int &r, int &c) {
  size_t x = s.find('x');
  return x != std::string_view::npos && parseInt(s.substr(0, x), r) &&
         parseInt(s.substr(x + 1), c) && r > 0 && c > 0;
}

/// The non-empty fields of `text` as (key, value); a field without '='
/// has an empty value.
inline std::vector<std::pair<std::string_view, std::string_view>>
launchFields(std::string_view text) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(';', start);
    std::string_view field = text.substr(start, end == std::string_view::npos
                                                    ? std::string_view::npos
                                                    : end - start);
    start = end == std::string_view::npos ? text.size() + 1 : end + 1;
    if (field.empty()) {
      continue;
    }
    size_t eq = field.find('=');
    out.emplace_back(field.substr(0, eq), eq == std::string_view::npos
                                              ? std::string_view()
                                              : field.substr(eq + 1));
  }
  return out;
}

} // namespace kt::launchtext
