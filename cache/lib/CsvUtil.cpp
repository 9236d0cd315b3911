// CSV helpers: RFC 4180 parsing and quoting, numbers, whole-file I/O.
#include "CsvUtil.h"

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace kt {
namespace csv {

std::string trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

std::vector<CsvRow> parseCsv(std::string_view text, const std::string &path,
                             std::vector<std::string> &errors) {
  std::vector<CsvRow> rows;
  size_t i = text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
  int line = 1;
  auto atEol = [&](size_t j) {
    return j >= text.size() || text[j] == '\n' || text[j] == '\r';
  };
  auto skipLine = [&]() {
    while (i < text.size() && text[i] != '\n') {
      ++i;
    }
  };
  while (i < text.size()) {
    if (text[i] == '\n') {
      ++line;
      ++i;
      continue;
    }
    if (text[i] == '#' || text[i] == '\r') {
      skipLine();
      continue;
    }
    CsvRow row;
    row.line = line;
    bool bad = false;
    while (true) {
      std::string field;
      if (i < text.size() && text[i] == '"') {
        for (++i;; ++i) {
          if (i >= text.size()) {
            errors.push_back(fmt::format(
                "{}:{}: unterminated quoted field; close the quote (write "
                "\"\" for a quote inside a field); the rest of the file was "
                "not read",
                path, row.line));
            return rows;
          }
          if (text[i] == '"' && i + 1 < text.size() && text[i + 1] == '"') {
            field += '"';
            ++i;
          } else if (text[i] == '"') {
            ++i;
            break;
          } else {
            line += text[i] == '\n';
            field += text[i];
          }
        }
        if (!atEol(i) && text[i] != ',') {
          errors.push_back(fmt::format(
              "{}:{}: text after a closing quote; quote the whole field and "
              "double any quote inside it",
              path, line));
          bad = true;
          skipLine();
          break;
        }
      } else {
        while (!atEol(i) && text[i] != ',') {
          field += text[i++];
        }
      }
      row.fields.push_back(std::move(field));
      if (i < text.size() && text[i] == ',') {
        ++i;
        continue;
      }
      skipLine(); // Past an optional '\r'.
      break;
    }
    bool blank = row.fields.size() == 1 && trimmed(row.fields[0]).empty();
    if (!bad && !blank) {
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

Result<std::string> readFile(const std::string &path) {
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    return notFound(fmt::format("cannot read CSV file '{}': {}; check the "
                                "path and permissions",
                                path, std::strerror(errno)));
  }
  std::string data;
  char buf[65536];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) {
    data.append(buf, n);
  }
  bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) {
    return dataLoss(fmt::format("I/O error while reading CSV file '{}'; "
                                "check that it is a readable regular file",
                                path));
  }
  return data;
}

Status writeFile(const std::string &path, const std::string &data) {
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f) {
    return failedPrecondition(fmt::format(
        "cannot write '{}': {}; check that the directory exists and is "
        "writable",
        path, std::strerror(errno)));
  }
  bool ok = std::fwrite(data.data(), 1, data.size(), f) == data.size();
  ok = std::fclose(f) == 0 && ok;
  if (!ok) {
    return dataLoss(fmt::format(
        "writing '{}' failed: {}; check free disk space, the file is "
        "incomplete",
        path, std::strerror(errno)));
  }
  return Status::ok();
}

std::string quoteField(const std::string &s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) {
    return s;
  }
  std::string out = "\"";
  for (char c : s) {
    out += c;
    if (c == '"') {
      out += '"';
    }
  }
  return out + "\"";
}

std::string formatReal(double v) { return fmt::format("{:.17g}", v); }

Result<double> parseReal(const std::string &text, std::string_view what) {
  const char *begin = text.c_str();
  char *end = nullptr;
  double v = std::strtod(begin, &end);
  if (text.empty() || end != begin + text.size()) {
    return invalidArgument(fmt::format(
        "{} '{}' is not a number; write a decimal such as 0.25", what, text));
  }
  return v;
}

Result<int64_t> parseInteger(const std::string &text, std::string_view what) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return invalidArgument(fmt::format(
        "{} '{}' is not a 64-bit integer; write digits only", what, text));
  }
  return v;
}

} // namespace csv
} // namespace kt
