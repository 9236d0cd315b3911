#include "CompileProcess.h"

#include "gpu/WorkerProtocol.h"

#include <fmt/format.h>

#include <chrono>
#include <csignal>
#include <thread>

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
namespace compileproc {

namespace fs = std::filesystem;

Result<std::string> runCompileProcess(std::vector<std::string> args,
                                      const fs::path &dir, const fs::path &out,
                                      const CompileLimits &limits) {
  const std::string errPath = (dir / "stderr.txt").string();
  // Everything the child needs is built before fork(): after it, the child
  // only makes async-signal-safe calls until execv().
  std::vector<char *> argv;
  for (std::string &a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid < 0) {
    return internalError("fork failed for the compile worker");
  }
  if (pid == 0) {
    ::setpgid(0, 0);
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
  // Also from here: the child may not have reached its own setpgid yet.
  ::setpgid(pid, pid);
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
      ::kill(-pid, SIGKILL);
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
  std::string log = worker::readFile(errPath);
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
  std::string bytes = worker::readFile(out.string());
  if (bytes.empty()) {
    return internalError("compile worker wrote no code object");
  }
  return bytes;
}

Status writeSource(const ScratchDir &dir, const KernelSource &src,
                   const fs::path &name) {
  if (dir.path.empty()) {
    return internalError("could not create a scratch folder for a compile "
                         "worker under " +
                         fs::temp_directory_path().string());
  }
  if (!worker::writeFile((dir.path / name).string(), src.text)) {
    return internalError("could not write " + (dir.path / name).string());
  }
  return Status::ok();
}

} // namespace compileproc

Result<std::string>
compileGpuLimited(const TargetDesc &target, const std::string &hipFrontend,
                  const std::string &cacheDir, const KernelSource &src,
                  const std::string &identity, const CompileLimits &limits) {
  if (limits.worker.empty()) {
    return invalidArgument("compileGpuLimited needs a worker executable");
  }
  if (target.kind == TargetKind::Cpu) {
    return invalidArgument(
        "compileGpuLimited compiles for GPU targets; CPU candidates go "
        "through compileLimited");
  }
  ScratchDir dir("ktune-compile");
  KT_RETURN_IF_ERROR(compileproc::writeSource(dir, src, "kernel.src"));
  const std::filesystem::path out = dir.path / "kernel.bin";
  return compileproc::runCompileProcess(
      {limits.worker, "compile-worker", "--target", target.toString(),
       "--language", src.language, "--hip-compiler",
       hipFrontend.empty() ? "auto" : hipFrontend, "--source",
       (dir.path / "kernel.src").string(), "--entry", src.entry, "--identity",
       identity, "--cache-dir", cacheDir, "--out", out.string()},
      dir.path, out, limits);
}

} // namespace kt
