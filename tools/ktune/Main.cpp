// ktune: tune, look up, move and inspect tuned GEMM kernels.
#include "Commands.h"

#include <fmt/format.h>

#include <filesystem>
#include <map>

int main(int argc, char **argv) {
  CLI::App app{"ktune: a just-in-time kernel compiler and autotuner for GEMM "
               "and attention on the host CPU (MLIR), NVIDIA sm_90a / "
               "sm_100a (NVRTC, MLIR) and AMD gfx950 / gfx942 (HIP C++, "
               "MLIR).\n"
               "Tuned results live in a SQLite file; see `ktune tune --help`."};
  app.require_subcommand(1);
  std::map<std::string, kt::cli::Runner> runners;
  runners["devices"] = kt::cli::addDevices(app);
  runners["tune"] = kt::cli::addTune(app);
  runners["lookup"] = kt::cli::addLookup(app);
  runners["export"] = kt::cli::addExport(app);
  runners["import"] = kt::cli::addImport(app);
  runners["merge"] = kt::cli::addMerge(app);
  runners["inspect"] = kt::cli::addInspect(app);
  runners["compile"] = kt::cli::addCompile(app);
  runners["compile-worker"] = kt::cli::addCompileWorker(app);
  CLI11_PARSE(app, argc, argv);
  for (CLI::App *sub : app.get_subcommands()) {
    return runners.at(sub->get_name())();
  }
  return 1;
}

namespace kt::cli {

std::string selfExecutable() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

int fail(const std::string &message) {
  fmt::print(stderr, "ktune: error: {}\n", message);
  return 1;
}

} // namespace kt::cli
