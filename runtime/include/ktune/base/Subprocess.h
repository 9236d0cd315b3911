// Running a program and waiting for it, with its output in files.
#pragma once

#include "ktune/base/Status.h"

#include <string>
#include <vector>

namespace kt {

/// Runs argv[0] (a path) with `argv`, stdout to `outPath` and stderr to
/// `errPath` ("" : /dev/null). Returns the exit code; a signal or a
/// missing program is an error naming it. With `timeoutSeconds` > 0 a
/// child still running after that long is killed (SIGKILL) and the result
/// is DeadlineExceeded naming the program and the limit. Limits of a year
/// or more (and NaN) mean none.
Result<int> runProcess(const std::vector<std::string> &argv,
                       const std::string &outPath, const std::string &errPath,
                       double timeoutSeconds = 0);

/// The contents of a file ("" if it cannot be read).
std::string readTextFile(const std::string &path);

} // namespace kt
