// Progress bar implementation.
#include "Progress.h"

#include <fmt/format.h>

#include <cstdio>
#include <unistd.h>

namespace kt {

Progress::Progress(bool enabled, std::string label, int total)
    : enabled_(enabled && isatty(fileno(stderr))), label_(std::move(label)),
      total_(total), start_(std::chrono::steady_clock::now()) {}

void Progress::update(int done, double bestGflops) {
  if (!enabled_ || total_ <= 0) {
    return;
  }
  double s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_)
          .count();
  double eta = done > 0 ? s / done * std::max(0, total_ - done) : 0;
  const int width = 24;
  int fill = std::min(width, done * width / total_);
  fmt::print(stderr, "\r{} [{}{}] {}/{} best {:.1f} GFLOP/s ETA {:.0f}s   ",
             label_, std::string(fill, '#'), std::string(width - fill, '.'),
             done, total_, bestGflops, eta);
  std::fflush(stderr);
}

void Progress::finish() {
  if (enabled_) {
    fmt::print(stderr, "\r\033[K");
    std::fflush(stderr);
  }
}

} // namespace kt
