// ThreadStack: the stack left on the calling thread, and threads with a
// stack of a given size.
#include "ktune/device/ThreadStack.h"

#include <catch2/catch.hpp>

TEST_CASE("a thread's stack left is known and a new one has what it asked",
          "[device]") {
  const int64_t here = kt::threadStackBytesLeft();
  REQUIRE(here > 0);
  int64_t inside = -1;
  REQUIRE(kt::runOnStack(int64_t(256) << 10,
                         [&] { inside = kt::threadStackBytesLeft(); }));
  CHECK(inside > int64_t(200) << 10);
  CHECK(inside <= int64_t(256) << 10);
}

TEST_CASE("a StackThread runs once, is joined, and reports what it got",
          "[device]") {
  int runs = 0;
  int64_t inside = -1;
  {
    kt::StackThread thread(int64_t(1) << 20, [&] {
      ++runs;
      inside = kt::threadStackBytesLeft();
    });
    REQUIRE(thread.started());
    thread.join();
    CHECK(runs == 1); // Joined: its writes are visible.
    thread.join();    // A second join does nothing.
    CHECK(thread.started());
  }
  CHECK(runs == 1);
  CHECK(inside > int64_t(900) << 10);
  CHECK(inside <= int64_t(1) << 20);
  CHECK(kt::defaultThreadStackBytes() > 0);
}
