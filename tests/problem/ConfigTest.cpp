// Tests for Config's string form and parser.
#include "ktune/problem/Config.h"

#include <catch2/catch.hpp>

using namespace kt;

TEST_CASE("Config round trips through its string form", "[problem]") {
  Config c{{"nr", 16}, {"mr", 6}, {"kc", 256}, {"neg", -3}};
  CHECK(c.toString() == "kc=256;mr=6;neg=-3;nr=16");
  Result<Config> back = parseConfig(c.toString());
  REQUIRE(back.isOk());
  CHECK(*back == c);
  CHECK(back->get("mr") == 6);
  CHECK(back->get("missing", 42) == 42);
  CHECK(Config().toString().empty());
  Result<Config> empty = parseConfig("  ");
  REQUIRE(empty.isOk());
  CHECK(empty->values().empty());
}

TEST_CASE("Config parser accepts several separators", "[problem]") {
  Result<Config> c = parseConfig("mr=6, nr=16\tkc=+256;;unroll.k=2 ");
  REQUIRE(c.isOk());
  CHECK(c->toString() == "kc=256;mr=6;nr=16;unroll.k=2");
}

TEST_CASE("Config errors name the bad token", "[problem]") {
  const std::pair<const char *, const char *> cases[] = {
      {"mr=6;nr", "'nr'"},
      {"mr=six", "'mr=six'"},
      {"=4", "'=4'"},
      {"9x=1", "'9x=1'"},
      {"mr=1;mr=2", "'mr'"},
      {"mr=99999999999999999999", "'mr=99999999999999999999'"},
  };
  for (const auto &[text, mention] : cases) {
    INFO(text);
    Result<Config> c = parseConfig(text);
    REQUIRE_FALSE(c.isOk());
    INFO(c.status().message());
    CHECK(c.status().code() == StatusCode::InvalidArgument);
    CHECK(c.status().message().find(mention) != std::string::npos);
  }
}

TEST_CASE("applyConfig sets parameters over a base", "[problem]") {
  const Config base{{"mr", 6}, {"nr", 16}};
  Result<Config> c = applyConfig(base, "nr=32;kc=128");
  REQUIRE(c.isOk());
  CHECK(c->toString() == "kc=128;mr=6;nr=32");
  Result<Config> same = applyConfig(base, "");
  REQUIRE(same.isOk());
  CHECK(*same == base);
  Result<Config> bad = applyConfig(base, "nr=x");
  REQUIRE_FALSE(bad.isOk());
  CHECK(bad.status().message().find("'nr=x'") != std::string::npos);
}
