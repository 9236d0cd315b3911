// Running a program and waiting for it, with its output in files.
#pragma once

#include "ktune/base/Status.h"

#include <string>
#include <vector>

namespace kt {

/// Runs argv[0] (a path) with `argv`, stdout to `outPath` and stderr to
/// `errPath` ("" : /dev/null). Returns the exit code; a signal or a
/// missing program is an error naming it.
Result<int> runProcess(const std::vector<std::string> &argv,
                       const std::string &outPath, const std::string &errPath);

/// The contents of a file ("" if it cannot be read).
std::string readTextFile(const std::string &path);

} // namespace kt
