// The ktune CLI's subcommands; each registers its options on a CLI11 app.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace kt::cli {

/// Each adder creates a subcommand and returns the function to run it; the
/// function returns the process exit code.
using Runner = std::function<int()>;

Runner addDevices(CLI::App &app);
Runner addTune(CLI::App &app);
Runner addLookup(CLI::App &app);
Runner addExport(CLI::App &app);
Runner addImport(CLI::App &app);
Runner addMerge(CLI::App &app);
Runner addInspect(CLI::App &app);
Runner addCompile(CLI::App &app);
/// Hidden: compiles one candidate for `ktune tune` in a separate process.
Runner addCompileWorker(CLI::App &app);

/// The path of the running ktune executable.
std::string selfExecutable();

/// Prints "ktune: error: <message>" to stderr and returns 1.
int fail(const std::string &message);

} // namespace kt::cli
