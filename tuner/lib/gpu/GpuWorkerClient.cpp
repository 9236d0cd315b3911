// The client side of GpuWorker.h: runs a measurement worker, reads its lines
// under a watchdog, and restarts it after a fault until every configuration
// has a result.
#include "ktune/tuner/GpuWorker.h"

#include "WorkerProtocol.h"

#include "ktune/base/Hash.h"

#include "ktune/base/ScratchDir.h"

#include <fmt/format.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <optional>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace kt {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

/// Every field, empty ones too: a result's message is empty when a candidate
/// measured cleanly, and it is the last field.
std::vector<std::string> splitTabs(const std::string &line) {
  std::vector<std::string> out;
  size_t from = 0;
  for (size_t tab; (tab = line.find('\t', from)) != std::string::npos;
       from = tab + 1) {
    out.push_back(line.substr(from, tab - from));
  }
  out.push_back(line.substr(from));
  return out;
}

/// The last few lines of a worker's stderr, for failure messages.
std::string tail(const std::string &text, size_t maxBytes = 600) {
  std::string t =
      text.size() > maxBytes ? text.substr(text.size() - maxBytes) : text;
  for (char &c : t) {
    if (c == '\n') {
      c = ' ';
    }
  }
  return t;
}

std::string describeExit(int status) {
  if (WIFSIGNALED(status)) {
    return fmt::format("killed by signal {} ({})", WTERMSIG(status),
                       strsignal(WTERMSIG(status)));
  }
  if (WIFEXITED(status)) {
    return fmt::format("exit code {}", WEXITSTATUS(status));
  }
  return "ended";
}

/// One worker run over `configs`; fills `done` with a result per
/// configuration it finished and tells whether to start another.
struct RunOutcome {
  size_t finished = 0;    ///< Configurations with a result, in order.
  bool ready = false;     ///< The worker got to "ready".
  std::string startError; ///< Why it never got there.
};

} // namespace

std::string prebuiltBinaryName(const Config &config) {
  return sha256Hex(config.toString()) + ".bin";
}

Result<GpuWorkerDevice> measureInWorker(
    const GpuWorkerOptions &o, const std::string &problemKey,
    const std::string &templateName, const std::vector<Config> &configs,
    double bestMs,
    const std::function<Status(const GpuCandidateResult &)> &onResult) {
  if (o.worker.empty() || ::access(o.worker.c_str(), X_OK) != 0) {
    return unavailable(fmt::format(
        "the measurement worker '{}' is missing or not executable; "
        "reinstall ktune (ktune-cuda-worker and ktune-hip-worker sit next to "
        "ktune)",
        o.worker));
  }
  ScratchDir scratch("ktune-cuda");
  if (scratch.path.empty()) {
    return internalError("cannot create a scratch folder under " +
                         fs::temp_directory_path().string());
  }
  GpuWorkerDevice device;
  size_t next = 0;
  while (next < configs.size()) {
    // Everything the child needs is built before fork().
    const fs::path errPath = scratch.path / "stderr.txt";
    std::vector<std::string> args = {o.worker,
                                     "--device",
                                     std::to_string(o.device),
                                     "--problem",
                                     problemKey,
                                     "--template",
                                     templateName,
                                     "--rotate-bytes",
                                     std::to_string(o.rotateBytes),
                                     "--max-ms",
                                     fmt::format("{}", o.maxMsPerCandidate),
                                     "--best-ms",
                                     fmt::format("{}", bestMs),
                                     "--cache-dir",
                                     o.cacheDir,
                                     "--binaries",
                                     scratch.path.string()};
    if (!o.overrideSource.empty()) {
      args.insert(args.end(), {"--override-source", o.overrideSource});
    }
    if (!o.prebuiltDir.empty()) {
      args.insert(args.end(), {"--prebuilt", o.prebuiltDir});
    }
    for (size_t i = next; i < configs.size(); ++i) {
      args.insert(args.end(), {"--config", configs[i].toString()});
    }
    std::vector<char *> argv;
    for (std::string &a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    const std::string errFile = errPath.string();
    int fds[2];
    if (::pipe(fds) != 0) {
      return internalError("pipe() failed for the measurement worker");
    }
    pid_t pid = ::fork();
    if (pid < 0) {
      ::close(fds[0]);
      ::close(fds[1]);
      return internalError("fork() failed for the measurement worker");
    }
    if (pid == 0) {
      ::dup2(fds[1], 1);
      int fd = ::open(errFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0) {
        ::dup2(fd, 2);
      }
      ::close(fds[0]);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);

    RunOutcome run;
    std::optional<size_t> inFlight;
    auto inFlightSince = Clock::now();
    std::string buffer, errorLine;
    bool killed = false;
    Status stop = Status::ok();
    for (;;) {
      struct pollfd pfd = {fds[0], POLLIN, 0};
      int ready = ::poll(&pfd, 1, 500);
      if (ready > 0) {
        char chunk[4096];
        ssize_t n = ::read(fds[0], chunk, sizeof(chunk));
        if (n <= 0) {
          break; // EOF: the worker ended.
        }
        buffer.append(chunk, size_t(n));
        size_t nl;
        while ((nl = buffer.find('\n')) != std::string::npos) {
          std::string line = buffer.substr(0, nl);
          buffer.erase(0, nl + 1);
          auto f = splitTabs(line);
          if (f.empty()) {
            continue;
          }
          if (f[0] == "ready" && f.size() >= 7) {
            run.ready = true;
            device.name = f[1];
            device.arch = f[2];
            device.smCount = std::atoi(f[3].c_str());
            device.referenceMs = std::atof(f[4].c_str());
            device.rotatingSets = std::atoi(f[5].c_str());
            device.compilerFingerprint = f[6];
          } else if (f[0] == "error" && f.size() >= 2) {
            errorLine = f[1];
          } else if (f[0] == "start") {
            inFlight = next + run.finished;
            inFlightSince = Clock::now();
          } else if (f[0] == "result" && f.size() >= 9 && stop.isOk()) {
            const size_t i = next + run.finished;
            GpuCandidateResult r;
            r.config = configs[i];
            r.status = f[2];
            r.ms = std::atof(f[3].c_str());
            r.dispersion = std::atof(f[4].c_str());
            r.iterations = std::atoll(f[5].c_str());
            r.maxError = std::atof(f[6].c_str());
            r.binaryHash = f[7];
            r.message = f[8];
            if (r.status == "ok") {
              r.binary = worker::readFile(
                  (scratch.path / (r.binaryHash + ".bin")).string());
            }
            ++run.finished;
            inFlight.reset();
            stop = onResult(r);
            if (!stop.isOk()) {
              ::kill(pid, SIGKILL);
              killed = true;
            }
          }
        }
      }
      if (inFlight && !killed &&
          std::chrono::duration<double>(Clock::now() - inFlightSince).count() >
              o.candidateTimeoutSeconds) {
        ::kill(pid, SIGKILL); // A hung kernel or compile.
        killed = true;
      }
    }
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!stop.isOk()) {
      return stop;
    }
    if (!run.ready) {
      std::string why = !errorLine.empty()
                            ? errorLine
                            : fmt::format("{}: {}", describeExit(status),
                                          tail(worker::readFile(errPath)));
      return unavailable("the measurement worker could not start: " + why);
    }
    if (inFlight) {
      // The worker died or was killed running this candidate.
      GpuCandidateResult r;
      r.config = configs[*inFlight];
      r.status = killed ? "timeout" : "launch-failed";
      r.message =
          killed ? fmt::format("killed after {} s without a result (a hung "
                               "kernel or compile)",
                               o.candidateTimeoutSeconds)
                 : fmt::format("the measurement worker died running this "
                               "candidate ({}): {}",
                               describeExit(status),
                               tail(worker::readFile(errPath)));
      ++run.finished;
      KT_RETURN_IF_ERROR(onResult(r));
    } else if (run.finished == 0 && next + run.finished < configs.size()) {
      return internalError(fmt::format(
          "the measurement worker ended ({}) before measuring anything: "
          "{}",
          describeExit(status), tail(worker::readFile(errPath))));
    }
    next += run.finished;
  }
  return device;
}

} // namespace kt
