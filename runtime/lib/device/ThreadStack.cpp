// ThreadStack: stack bounds through pthread_getattr_np, threads with a
// given stack size through pthread_attr_setstacksize.
#include "ktune/device/ThreadStack.h"

#include <pthread.h>

#include <utility>

namespace kt {

int64_t threadStackBytesLeft() {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) {
    return -1;
  }
  void *base = nullptr;
  size_t size = 0;
  const int rc = pthread_attr_getstack(&attr, &base, &size);
  pthread_attr_destroy(&attr);
  if (rc != 0 || base == nullptr) {
    return -1;
  }
  // The stack grows down from base + size to base; a local marks where it
  // is now.
  volatile char here = 0;
  const auto sp = reinterpret_cast<uintptr_t>(&here);
  const auto low = reinterpret_cast<uintptr_t>(base);
  return sp > low && sp - low <= size ? int64_t(sp - low) : -1;
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
  if (started_) {
    pthread_join(static_cast<pthread_t>(handle_), nullptr);
    started_ = false;
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
