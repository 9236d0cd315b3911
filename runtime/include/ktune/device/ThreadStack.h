// The calling thread's stack: how much of it is left, and running work on
// a thread with a stack of known size. CPU attention blocks keep their
// buffers on the stack (up to 384 KiB each), and the thread pool's caller
// runs blocks too; a caller with a small stack (a runtime's green or
// worker thread) must not.
#pragma once

#include <cstdint>
#include <functional>

namespace kt {

/// Bytes between the current stack pointer and the end of the calling
/// thread's stack, or -1 where the system does not say.
int64_t threadStackBytesLeft();

/// Runs `fn` on a new thread with a stack of `bytes` and waits for it.
/// Returns false (without running `fn`) if no such thread could be made.
bool runOnStack(int64_t bytes, const std::function<void()> &fn);

/// A thread with a stack of a given size (std::thread takes the system's
/// default, `ulimit -s`, which may be small). Joined on destruction.
class StackThread {
public:
  /// Starts `fn` on a new thread with a stack of `bytes`; started() is
  /// false (and `fn` never runs) if no such thread could be made.
  StackThread(int64_t bytes, std::function<void()> fn);
  ~StackThread();
  StackThread(const StackThread &) = delete;
  StackThread &operator=(const StackThread &) = delete;

  bool started() const { return started_; }
  /// Waits for the thread to end (once; the destructor does it otherwise).
  void join();

private:
  std::function<void()> fn_;
  unsigned long handle_ = 0; // pthread_t
  bool started_ = false;
  bool joined_ = false;
};

/// Stack bytes a new thread gets by default (pthread's default attribute,
/// from `ulimit -s`), or -1 where the system does not say.
int64_t defaultThreadStackBytes();

} // namespace kt
