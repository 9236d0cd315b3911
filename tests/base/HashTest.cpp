// Tests for sha256Hex against the FIPS 180-4 example vectors.
#include "ktune/base/Hash.h"

#include <catch2/catch.hpp>

#include <string>

TEST_CASE("sha256 of the empty string", "[hash]") {
  CHECK(kt::sha256Hex("") ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("sha256 of abc", "[hash]") {
  CHECK(kt::sha256Hex("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("sha256 of the 448-bit message", "[hash]") {
  CHECK(kt::sha256Hex(
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("sha256 of the 896-bit message", "[hash]") {
  CHECK(kt::sha256Hex(
            "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
            "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu") ==
        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST_CASE("sha256 of one million 'a'", "[hash]") {
  CHECK(kt::sha256Hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256 around padding boundaries", "[hash]") {
  // 55 bytes fit one padded block, 56 need two; 64 is exactly one block.
  CHECK(kt::sha256Hex(std::string(55, 'a')) ==
        "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  CHECK(kt::sha256Hex(std::string(56, 'a')) ==
        "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  CHECK(kt::sha256Hex(std::string(64, 'a')) ==
        "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST_CASE("sha256 hashes embedded NUL bytes", "[hash]") {
  std::string withNul("a\0b", 3);
  CHECK(kt::sha256Hex(withNul) != kt::sha256Hex("ab"));
  CHECK(kt::sha256Hex(withNul).size() == 64);
}
