// A one-line progress bar with ETA, drawn on stderr only when it is a
// terminal.
#pragma once

#include <chrono>
#include <string>

namespace kt {

class Progress {
public:
  Progress(bool enabled, std::string label, int total);
  /// `done` candidates finished; `bestGflops` of the best so far.
  void update(int done, double bestGflops);
  void finish();

private:
  bool enabled_;
  std::string label_;
  int total_;
  std::chrono::steady_clock::time_point start_;
};

} // namespace kt
