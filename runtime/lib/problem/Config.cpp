// Config: string form "a=1;b=2" and its parser.
#include "ktune/problem/Config.h"

#include <cctype>
#include <charconv>

namespace kt {

namespace {

bool isSeparator(char c) {
  return c == ';' || c == ',' || std::isspace(static_cast<unsigned char>(c));
}

bool isNameChar(char c, bool first) {
  if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
    return true;
  }
  return !first && (std::isdigit(static_cast<unsigned char>(c)) || c == '.');
}

/// Parses one "name=value" token into `config`.
Status parseToken(std::string_view token, Config &config) {
  size_t eq = token.find('=');
  if (eq == std::string_view::npos) {
    return invalidArgument("config token '" + std::string(token) +
                           "' has no '='; write parameters as name=value, "
                           "e.g. 'mr=6;nr=16'");
  }
  std::string_view name = token.substr(0, eq);
  std::string_view value = token.substr(eq + 1);
  if (name.empty()) {
    return invalidArgument("config token '" + std::string(token) +
                           "' has an empty name; write name=value");
  }
  for (size_t i = 0; i < name.size(); ++i) {
    if (!isNameChar(name[i], i == 0)) {
      return invalidArgument(
          "config token '" + std::string(token) + "': name '" +
          std::string(name) +
          "' must start with a letter or '_' and use only letters, digits, "
          "'_' and '.'");
    }
  }
  std::string_view digits = value;
  if (!digits.empty() && digits.front() == '+') {
    digits.remove_prefix(1);
  }
  int64_t v = 0;
  auto [ptr, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (digits.empty() || ec != std::errc() ||
      ptr != digits.data() + digits.size()) {
    return invalidArgument("config token '" + std::string(token) +
                           "': value '" + std::string(value) +
                           "' is not a 64-bit integer; write name=INTEGER");
  }
  std::string key(name);
  if (config.has(key)) {
    return invalidArgument("config token '" + std::string(token) +
                           "': parameter '" + key +
                           "' is given twice; keep one value");
  }
  config.set(key, v);
  return Status::ok();
}

} // namespace

int64_t Config::get(const std::string &name, int64_t fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::string Config::toString() const {
  std::string out;
  for (const auto &[name, value] : values_) {
    if (!out.empty()) {
      out += ';';
    }
    out += name;
    out += '=';
    out += std::to_string(value);
  }
  return out;
}

Result<Config> parseConfig(std::string_view s) {
  Config config;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && isSeparator(s[i])) {
      ++i;
    }
    size_t start = i;
    while (i < s.size() && !isSeparator(s[i])) {
      ++i;
    }
    if (i > start) {
      Status st = parseToken(s.substr(start, i - start), config);
      if (!st.isOk()) {
        return st.withContext("in config '" + std::string(s) + "'");
      }
    }
  }
  return config;
}

Result<Config> applyConfig(Config base, std::string_view text) {
  KT_ASSIGN_OR_RETURN(Config parsed, parseConfig(text));
  for (const auto &[k, v] : parsed.values()) {
    base.set(k, v);
  }
  return base;
}

} // namespace kt
