#include "ktune/base/Subprocess.h"

#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace kt {

Result<int> runProcess(const std::vector<std::string> &argv,
                       const std::string &outPath, const std::string &errPath,
                       double timeoutSeconds) {
  if (argv.empty() || ::access(argv[0].c_str(), X_OK) != 0) {
    return unavailable(fmt::format("cannot run '{}': not an executable file",
                                   argv.empty() ? "" : argv[0]));
  }
  // Everything the child needs exists before fork().
  std::vector<std::string> args = argv;
  std::vector<char *> cargs;
  for (std::string &a : args) {
    cargs.push_back(a.data());
  }
  cargs.push_back(nullptr);
  const std::string out = outPath.empty() ? "/dev/null" : outPath;
  const std::string err = errPath.empty() ? "/dev/null" : errPath;
  pid_t pid = ::fork();
  if (pid < 0) {
    return internalError("fork failed running " + argv[0]);
  }
  if (pid == 0) {
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (o >= 0) {
      ::dup2(o, 1);
    }
    if (e >= 0) {
      ::dup2(e, 2);
    }
    ::execv(cargs[0], cargs.data());
    ::_exit(127);
  }
  int status = 0;
  // Limits past a year (infinity included) are no limit: the deadline
  // would overflow the clock.
  if (timeoutSeconds > 0 && timeoutSeconds < 3.2e7) {
    // Poll: no signal handler or thread to install, and a compile is long
    // next to the 10 ms step.
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration<double>(timeoutSeconds);
    for (;;) {
      const pid_t done = ::waitpid(pid, &status, WNOHANG);
      if (done == pid || (done < 0 && errno != EINTR)) {
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid, SIGKILL);
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        return Status(StatusCode::DeadlineExceeded,
                      fmt::format("{} did not finish within {} s and was "
                                  "stopped",
                                  argv[0], timeoutSeconds));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  } else {
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (WIFSIGNALED(status)) {
    return internalError(fmt::format("{} was killed by signal {} ({})", argv[0],
                                     WTERMSIG(status),
                                     strsignal(WTERMSIG(status))));
  }
  return WEXITSTATUS(status);
}

std::string readTextFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

} // namespace kt
