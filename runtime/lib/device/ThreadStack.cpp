// ThreadStack: stack bounds through pthread_getattr_np, threads with a
// given stack size through pthread_attr_setstacksize.
#include "ktune/device/ThreadStack.h"

#include <pthread.h>

#include <utility>

namespace kt {

namespace {

/// The calling thread's stack bounds, asked once per thread:
/// pthread_getattr_np reads /proc/self/maps for the main thread (about 50
/// us, as much as a small attention launch), and the bounds do not move.
struct StackBounds {
  uintptr_t low = 0;
  size_t size = 0;
  bool known = false;
};

StackBounds askStackBounds() {
  StackBounds b;
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) {
    return b;
  }
  void *base = nullptr;
  const int rc = pthread_attr_getstack(&attr, &base, &b.size);
  pthread_attr_destroy(&attr);
  b.low = reinterpret_cast<uintptr_t>(base);
  b.known = rc == 0 && base != nullptr;
  return b;
}

} // namespace

int64_t threadStackBytesLeft() {
  thread_local const StackBounds bounds = askStackBounds();
  if (!bounds.known) {
    return -1;
  }
  // The stack grows down from low + size to low; a local marks where it is
  // now.
  volatile char here = 0;
  const auto sp = reinterpret_cast<uintptr_t>(&here);
  return sp > bounds.low && sp - bounds.low <= bounds.size
             ? int64_t(sp - bounds.low)
             : -1;
}

namespace {

void *runFunction(void *arg) {
  (*static_cast<const std::function<void()> *>(arg))();
  return nullptr;
}

} // namespace

StackThread::StackThread(int64_t bytes, std::function<void()> fn)
    : fn_(std::move(fn)) {
  static_assert(sizeof(pthread_t) <= sizeof(handle_));
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) {
    return;
  }
  pthread_t thread;
  started_ = pthread_attr_setstacksize(&attr, size_t(bytes)) == 0 &&
             pthread_create(&thread, &attr, runFunction, &fn_) == 0;
  pthread_attr_destroy(&attr);
  if (started_) {
    handle_ = static_cast<unsigned long>(thread);
  }
}

StackThread::~StackThread() { join(); }

void StackThread::join() {
  if (started_ && !joined_) {
    pthread_join(static_cast<pthread_t>(handle_), nullptr);
    joined_ = true;
  }
}

bool runOnStack(int64_t bytes, const std::function<void()> &fn) {
  StackThread thread(bytes, fn);
  return thread.started(); // Joined by the destructor.
}

int64_t defaultThreadStackBytes() {
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) {
    return -1;
  }
  size_t size = 0;
  const int rc = pthread_attr_getstacksize(&attr, &size);
  pthread_attr_destroy(&attr);
  return rc == 0 ? int64_t(size) : -1;
}

} // namespace kt
