// CpuDevice: loads ELF shared-object kernels from memory via memfd + dlopen.
#include "ktune/device/CpuDevice.h"

#include "ktune/device/HostInfo.h"

#include <cerrno>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <mutex>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

namespace kt {
namespace {

constexpr char kElfMagic[] = {0x7f, 'E', 'L', 'F'};

/// Serialises this file's dlopen/dlsym/dlclose calls. The loader locks
/// internally too, but holding our own lock makes the check-then-load of a
/// descriptor path atomic and lets thread sanitizers see the ordering.
std::mutex &loaderMutex() {
  static std::mutex mutex;
  return mutex;
}

/// Owns a dlopen() handle; dlclose()s it on destruction.
class CpuModule : public Module {
public:
  explicit CpuModule(void *handle) : handle_(handle) {}
  ~CpuModule() override {
    std::lock_guard<std::mutex> lock(loaderMutex());
    dlclose(handle_);
  }
  CpuModule(const CpuModule &) = delete;
  CpuModule &operator=(const CpuModule &) = delete;

  Result<void *> function(const std::string &name) const override {
    std::lock_guard<std::mutex> lock(loaderMutex());
    dlerror(); // Clear any stale error.
    void *symbol = dlsym(handle_, name.c_str());
    if (symbol == nullptr) {
      const char *err = dlerror();
      return notFound("symbol '" + name + "' not found in the code object" +
                      (err ? std::string(" (") + err + ")" : std::string()) +
                      "; the kernel was built for a different ABI, "
                      "recompile or retune it");
    }
    return symbol;
  }

private:
  void *handle_;
};

std::string errnoText() { return std::strerror(errno); }

/// Closes the file descriptors it holds when it goes out of scope.
struct FdCloser {
  std::vector<int> fds;
  ~FdCloser() {
    for (int fd : fds) {
      close(fd);
    }
  }
};

/// Writes all of `bytes` to `fd`, retrying on EINTR and short writes.
Status writeAll(int fd, const std::string &bytes) {
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return internalError("cannot write the code object to a memory file: " +
                           errnoText());
    }
    written += size_t(n);
  }
  return Status::ok();
}

int64_t physicalMemoryBytes() {
  long pages = sysconf(_SC_PHYS_PAGES);
  long pageSize = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || pageSize <= 0) {
    return 0;
  }
  return int64_t(pages) * int64_t(pageSize);
}

} // namespace

CpuDevice::CpuDevice(int threads) {
  const HostInfo &host = hostInfo();
  if (threads <= 0) {
    threads = host.logicalCores;
  }
  target_ = TargetDesc::host();
  info_.name = host.cpuModel;
  info_.computeUnits = host.logicalCores;
  info_.lastLevelCacheBytes = host.lastLevelCacheBytes;
  info_.memoryBytes = physicalMemoryBytes();
  pool_ = std::make_unique<ThreadPool>(threads);
}

Result<std::unique_ptr<Module>>
CpuDevice::loadModule(const std::string &bytes) const {
  const std::string retune = "; recompile or retune the kernel for target '" +
                             target_.toString() + "'";
  if (bytes.empty()) {
    return invalidArgument("cannot load an empty code object" + retune);
  }
  if (bytes.size() < sizeof(kElfMagic) ||
      std::memcmp(bytes.data(), kElfMagic, sizeof(kElfMagic)) != 0) {
    return invalidArgument("code object (" + std::to_string(bytes.size()) +
                           " bytes) does not start with the ELF magic, so it "
                           "is not a valid shared object for this host" +
                           retune);
  }

  FdCloser fds;
  int fd = memfd_create("ktune-module", MFD_CLOEXEC);
  if (fd < 0) {
    return internalError("cannot create a memory file for a code object: " +
                         errnoText());
  }
  fds.fds.push_back(fd);
  KT_RETURN_IF_ERROR(writeAll(fd, bytes));

  // The dynamic loader identifies objects by path, and descriptor numbers
  // are reused once closed, so "/proc/self/fd/N" may still name a module
  // loaded earlier. Move to a higher descriptor until the path is unused,
  // or dlopen() would hand back the old module.
  std::lock_guard<std::mutex> lock(loaderMutex());
  int loadFd = fd;
  std::string path = "/proc/self/fd/" + std::to_string(loadFd);
  while (void *existing = dlopen(path.c_str(), RTLD_LAZY | RTLD_NOLOAD)) {
    dlclose(existing);
    loadFd = fcntl(fd, F_DUPFD_CLOEXEC, loadFd + 1);
    if (loadFd < 0) {
      return internalError("cannot duplicate the memory file of a code "
                           "object: " +
                           errnoText());
    }
    fds.fds.push_back(loadFd);
    path = "/proc/self/fd/" + std::to_string(loadFd);
  }

  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char *err = dlerror();
    return invalidArgument(
        "code object (" + std::to_string(bytes.size()) +
        " bytes) is not a valid shared object for this host: " +
        (err ? std::string(err) : std::string("unknown dlopen error")) +
        retune);
  }
  // The descriptors close here; the mapping keeps the memory file alive.
  return std::unique_ptr<Module>(std::make_unique<CpuModule>(handle));
}

} // namespace kt
