// Tests for Status, Result<T> and the error-propagation macros.
#include "ktune/base/Status.h"

#include <catch2/catch.hpp>

#include <memory>
#include <string>

namespace {

kt::Result<int> parsePositive(int v) {
  if (v <= 0) {
    return kt::invalidArgument("value " + std::to_string(v) +
                               " is not positive");
  }
  return v;
}

kt::Result<int> doubled(int v) {
  KT_ASSIGN_OR_RETURN(int x, parsePositive(v));
  return 2 * x;
}

kt::Status checkBoth(int a, int b) {
  KT_RETURN_IF_ERROR(parsePositive(a).status());
  KT_RETURN_IF_ERROR(parsePositive(b).status());
  return kt::Status::ok();
}

kt::Result<std::unique_ptr<int>> makeBox(int v) {
  if (v < 0) {
    return kt::notFound("no box");
  }
  return std::make_unique<int>(v);
}

kt::Result<int> unbox(int v) {
  KT_ASSIGN_OR_RETURN(std::unique_ptr<int> box, makeBox(v));
  KT_ASSIGN_OR_RETURN(auto again, makeBox(*box + 1));
  return *again;
}

} // namespace

TEST_CASE("default Status is ok", "[status]") {
  kt::Status s;
  CHECK(s.isOk());
  CHECK(static_cast<bool>(s));
  CHECK(s.code() == kt::StatusCode::Ok);
  CHECK(s.toString() == "ok");
  CHECK(kt::Status::ok().isOk());
}

TEST_CASE("error Status carries code and message", "[status]") {
  kt::Status s = kt::invalidArgument("bad tile 0x0");
  CHECK_FALSE(s.isOk());
  CHECK_FALSE(static_cast<bool>(s));
  CHECK(s.code() == kt::StatusCode::InvalidArgument);
  CHECK(s.message() == "bad tile 0x0");
  CHECK(s.toString() == "invalid-argument: bad tile 0x0");
  CHECK(s.withContext("while parsing").message() ==
        "while parsing: bad tile 0x0");
  CHECK(kt::Status::ok().withContext("ignored").isOk());
}

TEST_CASE("every helper sets its code", "[status]") {
  CHECK(kt::notFound("x").code() == kt::StatusCode::NotFound);
  CHECK(kt::failedPrecondition("x").code() ==
        kt::StatusCode::FailedPrecondition);
  CHECK(kt::unavailable("x").code() == kt::StatusCode::Unavailable);
  CHECK(kt::internalError("x").code() == kt::StatusCode::Internal);
  CHECK(kt::unimplemented("x").code() == kt::StatusCode::Unimplemented);
  CHECK(kt::dataLoss("x").code() == kt::StatusCode::DataLoss);
  CHECK(std::string(kt::statusCodeName(kt::StatusCode::NotFound)) ==
        "not-found");
  CHECK(std::string(kt::statusCodeName(kt::StatusCode::DeadlineExceeded)) ==
        "deadline-exceeded");
}

TEST_CASE("Result holds a value or an error", "[status]") {
  kt::Result<int> good = parsePositive(3);
  REQUIRE(good.isOk());
  CHECK(*good == 3);
  CHECK(good.value() == 3);
  CHECK(good.status().isOk());

  kt::Result<int> bad = parsePositive(-1);
  REQUIRE_FALSE(bad.isOk());
  CHECK(bad.status().code() == kt::StatusCode::InvalidArgument);
  CHECK(bad.status().message() == "value -1 is not positive");

  kt::Result<std::string> text = std::string("hello");
  CHECK(text->size() == 5);
}

TEST_CASE("KT_ASSIGN_OR_RETURN binds or propagates", "[status]") {
  kt::Result<int> ok = doubled(21);
  REQUIRE(ok.isOk());
  CHECK(*ok == 42);

  kt::Result<int> err = doubled(0);
  REQUIRE_FALSE(err.isOk());
  CHECK(err.status().code() == kt::StatusCode::InvalidArgument);
  CHECK(err.status().message() == "value 0 is not positive");
}

TEST_CASE("KT_ASSIGN_OR_RETURN works with move-only values", "[status]") {
  kt::Result<int> ok = unbox(4);
  REQUIRE(ok.isOk());
  CHECK(*ok == 5);
  kt::Result<int> err = unbox(-3);
  REQUIRE_FALSE(err.isOk());
  CHECK(err.status().code() == kt::StatusCode::NotFound);
}

TEST_CASE("KT_RETURN_IF_ERROR returns the first error", "[status]") {
  CHECK(checkBoth(1, 2).isOk());
  kt::Status s = checkBoth(1, -2);
  CHECK(s.code() == kt::StatusCode::InvalidArgument);
  CHECK(s.message() == "value -2 is not positive");
}
