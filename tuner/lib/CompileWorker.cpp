#include "ktune/tuner/CompileWorker.h"

#include "ktune/base/ScratchDir.h"

#include "ktune/base/Hash.h"
#include "ktune/device/TargetDesc.h"

#include <fmt/format.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

// AddressSanitizer reserves terabytes of address space for its shadow, so an
// instrumented worker cannot run under an address-space cap.
#if defined(__SANITIZE_ADDRESS__)
#define KT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KT_ASAN 1
#endif
#endif
#ifndef KT_ASAN
#define KT_ASAN 0
#endif

namespace kt {
namespace {

namespace fs = std::filesystem;

std::string readAll(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool writeAll(const fs::path &p, const std::string &bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  return bool(out);
}

} // namespace

Result<CompiledKernel> compileLimited(const CpuCompiler &compiler,
                                      const KernelSource &src,
                                      const std::string &identity,
                                      const CompileLimits &limits) {
  if (limits.worker.empty()) {
    return compiler.compile(src, identity);
  }
  ScratchDir dir("ktune-compile");
  if (dir.path.empty()) {
    return internalError("could not create a scratch folder for a compile "
                         "worker under " +
                         fs::temp_directory_path().string());
  }
  const fs::path in = dir.path / "kernel.mlir", out = dir.path / "kernel.so",
                 err = dir.path / "stderr.txt";
  if (!writeAll(in, src.text)) {
    return internalError("could not write " + in.string());
  }
  const auto start = std::chrono::steady_clock::now();
  const std::string cacheDir = compiler.cacheDir();
  // Everything the child needs is built before fork(): after it, the child
  // only makes async-signal-safe calls until execv().
  const std::string errPath = err.string();
  std::vector<std::string> args = {
      limits.worker, "compile-worker", "--source",   in.string(),
      "--entry",     src.entry,        "--identity", identity,
      "--cache-dir", cacheDir,         "--out",      out.string()};
  std::vector<char *> argv;
  for (std::string &a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    return internalError("fork failed for the compile worker");
  }
  if (pid == 0) {
    if (!KT_ASAN) {
      struct rlimit rl;
      rl.rlim_cur = rl.rlim_max = rlim_t(limits.memoryBytes);
      ::setrlimit(RLIMIT_AS, &rl);
    }
    int fd = ::open(errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      ::dup2(fd, 2);
      ::dup2(fd, 1);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      break;
    }
    double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    if (s > limits.timeoutSeconds) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return unavailable(fmt::format(
          "compile did not finish within {:g} s (worker killed); the "
          "configuration is recorded as failed. Raise --compile-timeout-s if "
          "this machine is just slow",
          limits.timeoutSeconds));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::string log = readAll(err);
  while (!log.empty() && (log.back() == '\n' || log.back() == ' ')) {
    log.pop_back();
  }
  if (WIFSIGNALED(status)) {
    return internalError(
        fmt::format("compile worker died of signal {} (memory cap {} MiB){}{}",
                    WTERMSIG(status), limits.memoryBytes >> 20,
                    log.empty() ? "" : ": ", log));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
      return internalError("could not run the compile worker '" +
                           limits.worker + "'");
    }
    return internalError(log.empty() ? "compile worker failed" : log);
  }
  CompiledKernel k;
  k.bytes = readAll(out);
  if (k.bytes.empty()) {
    return internalError("compile worker wrote no code object");
  }
  k.hash = sha256Hex(k.bytes);
  k.compileMs = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - start)
                    .count();
  return k;
}

int runCompileWorker(const std::string &sourcePath, const std::string &entry,
                     const std::string &identity, const std::string &cacheDir,
                     const std::string &outPath) {
  KernelSource src;
  src.language = "mlir";
  src.entry = entry;
  src.text = readAll(sourcePath);
  if (src.text.empty()) {
    fmt::print(stderr, "compile worker: cannot read {}\n", sourcePath);
    return 2;
  }
  CpuCompiler compiler(TargetDesc::host(), cacheDir);
  auto k = compiler.compile(src, identity);
  if (!k) {
    fmt::print(stderr, "{}\n", k.status().message());
    return 1;
  }
  if (!writeAll(outPath, k->bytes)) {
    fmt::print(stderr, "compile worker: cannot write {}\n", outPath);
    return 2;
  }
  return 0;
}

} // namespace kt
