// The host emulation of the AMD MFMA kernels (HipEmulation.h): device
// buffers with guard pages, the host build of a kernel text, and the wave64
// scheduler with its MFMA, ds_bpermute and ballot.
//
// MFMA layouts, for an m x m block (m = 16 or 32) with kv K values per lane
// and g = 64 / m lane groups (K = g * kv per instruction):
//  - A[i][k] is element k % kv of lane i + m * (k / kv); B[k][j] is element
//    k % kv of lane j + m * (k / kv) (rows / columns l % m, K values
//    (l / m) * kv + [0, kv));
//  - C[i][j] and D[i][j] are element 4 * (i / (4 * g)) + i % 4 of lane
//    j + m * ((i / 4) % g): lane l holds column l % m; its result e is row
//    4 * (l / 16) + e of a 16x16 block, row 8 * (e / 4) + 4 * (l / 32) +
//    e % 4 of a 32x32 block.
// Sources: AMD's Matrix Instruction Calculator (ROCm/
// amd_matrix_instruction_calculator, matrix_calculator.py, the gfx9 / CDNA
// equations "A i: lane % M", "A k: (K per lane) * floor(lane / M) + ...",
// "C or D i: (8 * floor(GPR_num / 4) % 32) + 4 * floor(lane / M) +
// (GPR_num % 4)", "j: lane % M"), which CDNA3 keeps for 16x16x16 and
// 32x32x8, and IREE's getSingleSubgroupLayout (IREEGPUAttrs.cpp), which
// gives the same for gfx950's 16x16x32 and 32x32x16 (lhs thread {16, 4} /
// {32, 2} with elements {1, K / 4} / {1, K / 2}; accumulators 16x16 thread
// {4, 16} x element {4, 1}, 32x32 outer {4, 1} x thread {2, 32} x element
// {4, 1}). Products are summed in double and rounded to f32 once per MFMA.
#include "compiler/HipEmulation.h"

#include "compiler/HipEmulationHooks.h"
#include "ktune/base/ScratchDir.h"
#include "ktune/base/Subprocess.h"
#include "ktune/device/CpuDevice.h"
#include "support/HalfFloat.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define KT_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KT_EMU_ASAN 1
#endif
#endif
#ifdef KT_EMU_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

namespace kt::test::hipemu {
namespace {

size_t pageBytes() {
  static const size_t page = size_t(::sysconf(_SC_PAGESIZE));
  return page;
}

// Live device buffers, for fault reports (read in a signal handler, so a
// fixed table of plain data).
struct BufferRecord {
  bool used;
  char name[40];
  uintptr_t begin, end; ///< The data, rounded up to 16 bytes.
};
constexpr int kMaxBuffers = 256;
BufferRecord gBuffers[kMaxBuffers];

constexpr size_t kStackBytes = 128 << 10;

enum class State : uint8_t { Ready, Barrier, Lane, Done, Failed };
enum class Op : uint8_t { Mfma, Bpermute, Ballot };

const char *opName(Op op) {
  return op == Op::Mfma       ? "MFMA"
         : op == Op::Bpermute ? "ds_bpermute"
                              : "ballot";
}

struct Fiber {
  ucontext_t ctx;
  char *stack = nullptr;
  void *fakeStack = nullptr; // AddressSanitizer's, while switched out
  State state = State::Ready;
  unsigned barriers = 0;
  uint64_t crossOps = 0;
  // The cross-lane operation a lane in State::Lane waits at.
  Op op = Op::Mfma;
  int line = 0, m = 0, kv = 0, type = 0;
  const uint16_t *a = nullptr, *b = nullptr;
  const float *c = nullptr;
  float *d = nullptr;
  int addr = 0, value = 0, result = 0;
  uint64_t mask = 0; // a ballot's result
};

void trampoline();

/// The work-items of one launch as fibers; runs one workgroup at a time.
class Scheduler {
public:
  Scheduler(Dims block, Dims grid, bool reverse,
            const std::function<void()> &call)
      : fibers_(block.x * block.y), arrived_(block.x * block.y / 64, 0),
        block_(block), grid_(grid), reverse_(reverse), call_(call) {
    const unsigned threads = block.x * block.y;
    const size_t page = pageBytes();
    const size_t each = kStackBytes + page;
    stackMapBytes_ = each * threads;
    void *map = ::mmap(nullptr, stackMapBytes_, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED) {
      throw std::runtime_error("cannot map the work-items' fiber stacks");
    }
    stackMap_ = static_cast<char *>(map);
    for (unsigned i = 0; i < threads; ++i) {
      // A guard page below each stack: an overflow faults.
      ::mprotect(stackMap_ + i * each, page, PROT_NONE);
      fibers_[i].stack = stackMap_ + i * each + page;
    }
    pthread_attr_t attr;
    if (::pthread_getattr_np(::pthread_self(), &attr) == 0) {
      void *bottom = nullptr;
      size_t size = 0;
      ::pthread_attr_getstack(&attr, &bottom, &size);
      mainBottom_ = bottom;
      mainSize_ = size;
      ::pthread_attr_destroy(&attr);
    }
  }
  ~Scheduler() { ::munmap(stackMap_, stackMapBytes_); }
  Scheduler(const Scheduler &) = delete;
  Scheduler &operator=(const Scheduler &) = delete;

  /// Runs every work-item of workgroup `wg` to its end.
  Status run(unsigned wg);

  unsigned workitem() const { return unsigned(running_); }
  unsigned workgroup() const { return wg_; }
  // Ids in x and y, and the grid's work-items in x.
  unsigned workitemX() const { return unsigned(running_) % block_.x; }
  unsigned workitemY() const { return unsigned(running_) / block_.x; }
  unsigned workgroupX() const { return wg_ % grid_.x; }
  unsigned workgroupY() const { return wg_ / grid_.x; }
  unsigned gridSizeX() const { return grid_.x * block_.x; }
  bool inStackGuard(uintptr_t a) const {
    const size_t each = kStackBytes + pageBytes();
    const uintptr_t base = reinterpret_cast<uintptr_t>(stackMap_);
    return a >= base && a < base + stackMapBytes_ &&
           (a - base) % each < pageBytes();
  }

  // The hooks.
  void barrier() {
    Fiber &f = fibers_[size_t(running_)];
    f.state = State::Barrier;
    ++f.barriers;
    leave(false);
  }
  void mfma(int m, int kv, int type, const void *a, const void *b,
            const float *c, float *d, int line) {
    Fiber &f = fibers_[size_t(running_)];
    f.op = Op::Mfma;
    f.line = line;
    f.m = m;
    f.kv = kv;
    f.type = type;
    f.a = static_cast<const uint16_t *>(a);
    f.b = static_cast<const uint16_t *>(b);
    f.c = c;
    f.d = d;
    arrive(f);
  }
  int bpermute(int addr, int value, int line) {
    Fiber &f = fibers_[size_t(running_)];
    f.op = Op::Bpermute;
    f.line = line;
    f.addr = addr;
    f.value = value;
    arrive(f);
    return fibers_[size_t(running_)].result;
  }
  uint64_t ballot(int predicate, int line) {
    Fiber &f = fibers_[size_t(running_)];
    f.op = Op::Ballot;
    f.line = line;
    f.value = predicate;
    arrive(f);
    return fibers_[size_t(running_)].mask;
  }
  /// Records the first failure and abandons the calling work-item.
  [[noreturn]] void fail(std::string message) {
    if (error_.empty()) {
      error_ = std::move(message);
    }
    fibers_[size_t(running_)].state = State::Failed;
    leave(true);
    __builtin_unreachable();
  }
  /// The end of a work-item (from the trampoline).
  [[noreturn]] void finish() {
    fibers_[size_t(running_)].state = State::Done;
    leave(true);
    __builtin_unreachable();
  }
  const std::function<void()> &call() const { return call_; }

private:
  int at(size_t position) const {
    return int(reverse_ ? fibers_.size() - 1 - position : position);
  }
  size_t positionOf(int index) const {
    return reverse_ ? fibers_.size() - 1 - size_t(index) : size_t(index);
  }
  /// The first Ready work-item after `index` in scheduling order (-1: from
  /// the start); -1 if none.
  int nextReady(int index) const {
    for (size_t p = index < 0 ? 0 : positionOf(index) + 1; p < fibers_.size();
         ++p) {
      if (fibers_[size_t(at(p))].state == State::Ready) {
        return at(p);
      }
    }
    return -1;
  }
  /// Switches from `from` (its AddressSanitizer fake stack saved in *save,
  /// or dropped for good when save is null) to work-item `to`, or to the
  /// scheduler when `to` is -1.
  void jump(ucontext_t *from, void **save, int to) {
    ucontext_t *target = &sched_;
    const void *bottom = mainBottom_;
    size_t size = mainSize_;
    if (to >= 0) {
      running_ = to;
      target = &fibers_[size_t(to)].ctx;
      bottom = fibers_[size_t(to)].stack;
      size = kStackBytes;
    }
#ifdef KT_EMU_ASAN
    __sanitizer_start_switch_fiber(save, bottom, size);
#else
    (void)save;
    (void)bottom;
    (void)size;
#endif
    ::swapcontext(from, target);
#ifdef KT_EMU_ASAN
    __sanitizer_finish_switch_fiber(save ? *save : nullptr, nullptr, nullptr);
#endif
  }
  /// The running work-item blocks (or ends, `final`): the next Ready one
  /// runs, else the scheduler.
  void leave(bool final) {
    Fiber &f = fibers_[size_t(running_)];
    jump(&f.ctx, final ? nullptr : &f.fakeStack, nextReady(running_));
  }
  /// A lane reaches a cross-lane operation; the last lane of its wave to
  /// arrive performs it for all 64 and goes on.
  void arrive(Fiber &f) {
    f.state = State::Lane;
    ++f.crossOps;
    const size_t wave = size_t(running_) / 64;
    if (++arrived_[wave] < 64) {
      leave(false);
      return;
    }
    arrived_[wave] = 0;
    execute(wave);
  }
  void execute(size_t wave);
  void executeMfma(Fiber *lanes);

  std::vector<Fiber> fibers_;
  std::vector<int> arrived_; // lanes of each wave at a cross-lane operation
  Dims block_, grid_;
  bool reverse_;
  const std::function<void()> &call_;
  char *stackMap_ = nullptr;
  size_t stackMapBytes_ = 0;
  ucontext_t sched_{};
  void *schedFake_ = nullptr;
  const void *mainBottom_ = nullptr;
  size_t mainSize_ = 0;
  int running_ = -1;
  unsigned wg_ = 0;
  std::string error_;
};

thread_local Scheduler *gScheduler = nullptr;

void trampoline() {
#ifdef KT_EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#endif
  Scheduler &s = *gScheduler;
  s.call()();
  s.finish();
}

Status Scheduler::run(unsigned wg) {
  wg_ = wg;
  error_.clear();
  std::fill(arrived_.begin(), arrived_.end(), 0);
  for (Fiber &f : fibers_) {
    f.state = State::Ready;
    f.barriers = 0;
    f.crossOps = 0;
    f.fakeStack = nullptr;
    ::getcontext(&f.ctx);
    f.ctx.uc_stack.ss_sp = f.stack;
    f.ctx.uc_stack.ss_size = kStackBytes;
    f.ctx.uc_link = nullptr;
    ::makecontext(&f.ctx, trampoline, 0);
  }
  const size_t waves = fibers_.size() / 64;
  for (;;) {
    const int first = nextReady(-1);
    if (first >= 0) {
      jump(&sched_, &schedFake_, first);
      continue;
    }
    if (!error_.empty()) {
      return internalError(error_);
    }
    // Nothing can run: every work-item has ended or waits at a barrier or a
    // cross-lane operation. A wave whose lanes wait at a cross-lane
    // operation while others of it do not is divergent.
    bool allDone = true;
    for (size_t w = 0; w < waves; ++w) {
      int counts[5] = {0, 0, 0, 0, 0};
      int laneAt = -1, other = -1;
      for (size_t l = 0; l < 64; ++l) {
        const Fiber &f = fibers_[w * 64 + l];
        ++counts[int(f.state)];
        if (f.state == State::Lane && laneAt < 0) {
          laneAt = int(l);
        } else if (f.state != State::Lane && other < 0) {
          other = int(l);
        }
      }
      if (counts[int(State::Lane)] > 0) {
        const Fiber &f = fibers_[w * 64 + size_t(laneAt)];
        const Fiber &g = fibers_[w * 64 + size_t(other)];
        return internalError(fmt::format(
            "wave {}: lane {} waits at {} (line {}) while lane {} {}", w,
            laneAt, opName(f.op), f.line, other,
            g.state == State::Barrier ? "waits at a barrier" : "has ended"));
      }
      if (counts[int(State::Done)] != 0 && counts[int(State::Done)] != 64) {
        return internalError(
            fmt::format("wave {}: {} of its lanes ended while the others wait "
                        "at a barrier",
                        w, counts[int(State::Done)]));
      }
      allDone = allDone && counts[int(State::Done)] == 64;
    }
    if (allDone) {
      return Status::ok();
    }
    // Every live work-item waits at a barrier: they must have passed the
    // same number of barriers. Release them.
    unsigned count = 0;
    bool seen = false;
    for (size_t i = 0; i < fibers_.size(); ++i) {
      const Fiber &f = fibers_[i];
      if (f.state != State::Barrier) {
        continue;
      }
      if (!seen) {
        count = f.barriers;
        seen = true;
      } else if (f.barriers != count) {
        return internalError(fmt::format(
            "work-item {} waits at its barrier {} while others wait at their "
            "barrier {}",
            i, f.barriers, count));
      }
    }
    for (Fiber &f : fibers_) {
      if (f.state == State::Barrier) {
        f.state = State::Ready;
      }
    }
  }
}

void Scheduler::execute(size_t wave) {
  Fiber *lanes = &fibers_[wave * 64];
  const Fiber &l0 = lanes[0];
  for (int l = 1; l < 64; ++l) {
    const Fiber &f = lanes[l];
    if (f.op != l0.op || f.line != l0.line || f.crossOps != l0.crossOps ||
        (f.op == Op::Mfma &&
         (f.m != l0.m || f.kv != l0.kv || f.type != l0.type))) {
      fail(fmt::format(
          "wave {}: lane 0 is at its cross-lane operation {} ({} at line {}) "
          "while lane {} is at its {} ({} at line {})",
          wave, l0.crossOps, opName(l0.op), l0.line, l, f.crossOps,
          opName(f.op), f.line));
    }
  }
  if (l0.op == Op::Bpermute) {
    int values[64];
    for (int l = 0; l < 64; ++l) {
      values[l] = lanes[l].value;
    }
    // ds_bpermute_b32 in wave64: byte address bits [7:2] select the lane.
    for (int l = 0; l < 64; ++l) {
      lanes[l].result = values[(lanes[l].addr >> 2) & 63];
    }
  } else if (l0.op == Op::Ballot) {
    // The wave's predicates as a 64-bit mask (an SGPR pair), the same for
    // every lane; all 64 lanes are active.
    uint64_t mask = 0;
    for (int l = 0; l < 64; ++l) {
      mask |= uint64_t(lanes[l].value != 0) << l;
    }
    for (int l = 0; l < 64; ++l) {
      lanes[l].mask = mask;
    }
  } else {
    executeMfma(lanes);
  }
  for (int l = 0; l < 64; ++l) {
    lanes[l].state = State::Ready;
  }
}

void Scheduler::executeMfma(Fiber *lanes) {
  const int m = lanes[0].m, kv = lanes[0].kv, groups = 64 / m;
  const int k = groups * kv;
  const DType type = lanes[0].type == KT_EMU_BF16 ? DType::BF16 : DType::F16;
  double a[512], b[512]; // m x k and k x m, m * k = 512 at most
  for (int i = 0; i < m; ++i) {
    for (int kk = 0; kk < k; ++kk) {
      const Fiber &la = lanes[i + m * (kk / kv)];
      a[i * k + kk] = fromBits(type, la.a[kk % kv]);
      b[kk * m + i] = fromBits(type, la.b[kk % kv]);
    }
  }
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < m; ++j) {
      double acc = 0;
      for (int kk = 0; kk < k; ++kk) {
        acc += a[i * k + kk] * b[kk * m + j];
      }
      Fiber &out = lanes[j + m * ((i / 4) % groups)];
      const int e = 4 * (i / (4 * groups)) + i % 4;
      out.d[e] = float(acc + double(out.c[e]));
    }
  }
}

const kt_emu_hooks kHooks = {
    [] { return gScheduler->workitemX(); },
    [] { return gScheduler->workgroupX(); },
    [] { return gScheduler->workitemY(); },
    [] { return gScheduler->workgroupY(); },
    [] { return gScheduler->gridSizeX(); },
    [] { gScheduler->barrier(); },
    [](int order, const char *scope) {
      const bool orderOk =
          order == __ATOMIC_ACQUIRE || order == __ATOMIC_RELEASE ||
          order == __ATOMIC_ACQ_REL || order == __ATOMIC_SEQ_CST;
      const std::string s = scope ? scope : "";
      if (!orderOk || (s != "workgroup" && s != "agent" && s != "wavefront" &&
                       !s.empty())) {
        gScheduler->fail(fmt::format(
            "__builtin_amdgcn_fence with order {} and scope '{}'", order, s));
      }
    },
    [](int m, int kv, int type, const void *a, const void *b, const float *c,
       float *d, int line) {
      if ((m != 16 && m != 32) || (kv != 4 && kv != 8)) {
        gScheduler->fail(fmt::format("an MFMA of {}x{} blocks with {} K "
                                     "values per lane",
                                     m, m, kv));
      }
      gScheduler->mfma(m, kv, type, a, b, c, d, line);
    },
    [](int addr, int value, int line) {
      return gScheduler->bpermute(addr, value, line);
    },
    [](int predicate, int line) -> unsigned long long {
      return gScheduler->ballot(predicate, line);
    },
};

// Fault reports: which buffer (or stack) and which work-item.
constexpr int kSignals[] = {SIGSEGV, SIGBUS, SIGILL};
struct sigaction gPrevious[3];

void onFault(int sig, siginfo_t *info, void *) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(info->si_addr);
  char msg[640];
  int n = std::snprintf(msg, sizeof msg, "hip emulation: %s at %p",
                        sig == SIGSEGV  ? "SIGSEGV"
                        : sig == SIGBUS ? "SIGBUS"
                                        : "SIGILL",
                        info->si_addr);
  if (Scheduler *s = gScheduler) {
    n += std::snprintf(msg + n, sizeof msg - size_t(n),
                       " in workgroup %u, work-item %u", s->workgroup(),
                       s->workitem());
    if (s->inStackGuard(a)) {
      n += std::snprintf(msg + n, sizeof msg - size_t(n),
                         ": a work-item's fiber stack overflowed");
    }
  }
  if (sig == SIGILL) {
    n += std::snprintf(msg + n, sizeof msg - size_t(n),
                       ": a trap: undefined behaviour in the kernel (a "
                       "misaligned access, an index out of bounds, signed "
                       "overflow) or an MFMA with modifiers");
  }
  for (const BufferRecord &r : gBuffers) {
    if (sig == SIGILL || !r.used || a < r.begin || a >= r.end + pageBytes()) {
      continue;
    }
    if (a >= r.end) {
      n += std::snprintf(msg + n, sizeof msg - size_t(n),
                         ": %zu bytes past the end of device buffer '%s' (%zu "
                         "bytes)",
                         size_t(a - r.end), r.name, size_t(r.end - r.begin));
    } else {
      n += std::snprintf(msg + n, sizeof msg - size_t(n),
                         ": a store to read-only device buffer '%s'", r.name);
    }
  }
  n += std::snprintf(msg + n, sizeof msg - size_t(n), "\n");
  (void)!::write(2, msg, size_t(n));
  // The instruction runs again under the previous handler, which reports
  // it.
  for (int i = 0; i < 3; ++i) {
    if (kSignals[i] == sig) {
      ::sigaction(sig, &gPrevious[i], nullptr);
    }
  }
}

/// Installs onFault for SIGSEGV, SIGBUS and SIGILL (on an alternate stack if
/// none is set) for a launch.
class FaultReports {
public:
  FaultReports() {
    stack_t old{};
    if (::sigaltstack(nullptr, &old) == 0 && (old.ss_flags & SS_DISABLE)) {
      altStack_.resize(1 << 16);
      stack_t ss{};
      ss.ss_sp = altStack_.data();
      ss.ss_size = altStack_.size();
      installedStack_ = ::sigaltstack(&ss, nullptr) == 0;
    }
    struct sigaction sa{};
    sa.sa_sigaction = onFault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; ++i) {
      ::sigaction(kSignals[i], &sa, &gPrevious[i]);
    }
  }
  ~FaultReports() {
    for (int i = 0; i < 3; ++i) {
      ::sigaction(kSignals[i], &gPrevious[i], nullptr);
    }
    if (installedStack_) {
      stack_t ss{};
      ss.ss_flags = SS_DISABLE;
      ::sigaltstack(&ss, nullptr);
    }
  }
  FaultReports(const FaultReports &) = delete;
  FaultReports &operator=(const FaultReports &) = delete;

private:
  std::vector<char> altStack_;
  bool installedStack_ = false;
};

} // namespace

DeviceBuffer::DeviceBuffer(std::string name, size_t bytes)
    : name_(std::move(name)), bytes_(bytes) {
  if (bytes == 0) {
    return;
  }
  const size_t page = pageBytes();
  const size_t rounded = (bytes + 15) / 16 * 16;
  const size_t dataPages = (rounded + page - 1) / page * page;
  mapBytes_ = dataPages + page;
  void *map = ::mmap(nullptr, mapBytes_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED) {
    throw std::runtime_error("cannot map device buffer " + name_);
  }
  map_ = static_cast<char *>(map);
  ::mprotect(map_ + dataPages, page, PROT_NONE);
  data_ = map_ + dataPages - rounded;
  for (int i = 0; i < kMaxBuffers; ++i) {
    if (!gBuffers[i].used) {
      BufferRecord &r = gBuffers[i];
      std::snprintf(r.name, sizeof r.name, "%s", name_.c_str());
      r.begin = reinterpret_cast<uintptr_t>(data_);
      r.end = r.begin + rounded;
      r.used = true;
      slot_ = i;
      break;
    }
  }
}

DeviceBuffer::~DeviceBuffer() { release(); }

void DeviceBuffer::release() {
  if (slot_ >= 0) {
    gBuffers[slot_].used = false;
  }
  if (map_) {
    ::munmap(map_, mapBytes_);
  }
  map_ = nullptr;
  data_ = nullptr;
  slot_ = -1;
}

DeviceBuffer::DeviceBuffer(DeviceBuffer &&other) noexcept {
  *this = std::move(other);
}

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&other) noexcept {
  if (this != &other) {
    release();
    name_ = std::move(other.name_);
    map_ = std::exchange(other.map_, nullptr);
    mapBytes_ = other.mapBytes_;
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = other.bytes_;
    slot_ = std::exchange(other.slot_, -1);
  }
  return *this;
}

void DeviceBuffer::setReadOnly(bool readOnly) {
  if (map_) {
    ::mprotect(map_, mapBytes_ - pageBytes(),
               readOnly ? PROT_READ : PROT_READ | PROT_WRITE);
  }
}

Result<std::unique_ptr<HostKernel>>
HostKernel::build(const std::string &text, const std::string &entry) {
  // LDS: the text's one definition of __shared__ becomes the shim's static
  // section; the workgroup size it was generated for is exported.
  const std::string shared = "#define __shared__ __attribute__((shared))\n";
  const size_t at = text.find(shared);
  if (at == std::string::npos ||
      text.find(shared, at + 1) != std::string::npos) {
    return invalidArgument(
        "the kernel text does not define __shared__ once as "
        "__attribute__((shared)); the emulation cannot place its LDS");
  }
  std::string source = text;
  source.replace(at, shared.size(), "#define __shared__ KT_EMU_SHARED\n");
  source += "\nextern \"C\" __attribute__((visibility(\"default\"))) int "
            "kt_emu_threads(void) { return KT_THREADS; }\n";

  ScratchDir dir("ktune-hipemu");
  if (dir.path.empty()) {
    return internalError("cannot create a scratch folder for the host build");
  }
  const std::string in = (dir.path / "kernel.cpp").string();
  const std::string out = (dir.path / "kernel.so").string();
  const std::string err = (dir.path / "stderr").string();
  {
    std::ofstream f(in);
    f << source;
  }
  // compiler-rt's builtins: x86 moves __bf16 vectors through f32 and back
  // (__truncsfbf2), which libgcc 12 lacks. Undefined behaviour the GPU
  // build would also have (a misaligned vector access, an out-of-bounds
  // array index, signed overflow in index arithmetic) traps (SIGILL).
  const std::vector<std::string> argv = {
      KT_CLANG_PATH,
      "-x",
      "c++",
      "-std=c++17",
      "-O2",
      "-fPIC",
      "-shared",
      "-rtlib=compiler-rt",
      "-fsanitize=alignment,bounds,null,shift,signed-integer-overflow",
      "-fsanitize-trap=all",
      "-Wno-ignored-attributes",
      "-include",
      KT_SOURCE_DIR "/tests/compiler/HipEmulationShim.h",
      in,
      "-o",
      out};
  KT_ASSIGN_OR_RETURN(int rc, runProcess(argv, "", err));
  if (rc != 0) {
    return invalidArgument(
        fmt::format("clang could not build {} for the host (exit {}):\n{}",
                    entry, rc, readTextFile(err)));
  }
  // Loaded like the CPU kernels: from a memory file, so the scratch folder
  // may be on a noexec file system.
  static const CpuDevice loader(1);
  KT_ASSIGN_OR_RETURN(std::unique_ptr<Module> module,
                      loader.loadModule(readTextFile(out)));
  std::unique_ptr<HostKernel> k(new HostKernel);
  auto symbol = [&](const std::string &name) -> void * {
    auto f = module->function(name);
    return f.isOk() ? *f : nullptr;
  };
  k->entry_ = symbol(entry);
  void *bind = symbol("kt_emu_bind");
  void *lds = symbol("kt_emu_lds");
  void *threads = symbol("kt_emu_threads");
  if (!k->entry_ || !bind || !lds || !threads) {
    return internalError(fmt::format(
        "the host build lacks {} or the emulation's entry points", entry));
  }
  k->module_ = std::move(module);
  k->bind_ = reinterpret_cast<void (*)(const void *)>(bind);
  reinterpret_cast<void (*)(char **, char **)>(lds)(&k->ldsBegin_, &k->ldsEnd_);
  k->threads_ = reinterpret_cast<int (*)()>(threads)();
  return k;
}

HostKernel::~HostKernel() = default;

KernelBuilder::KernelBuilder(
    std::vector<std::pair<std::string, std::string>> texts, int jobs)
    : texts_(std::move(texts)), done_(texts_.size()) {
  for (auto &p : done_) {
    results_.push_back(p.get_future());
  }
  for (int w = 0; w < std::max(1, jobs); ++w) {
    workers_.emplace_back([this] {
      for (size_t i = next_++; i < texts_.size(); i = next_++) {
        try {
          done_[i].set_value(
              HostKernel::build(texts_[i].first, texts_[i].second));
        } catch (const std::exception &e) {
          done_[i].set_value(internalError(e.what()));
        }
      }
    });
  }
}

KernelBuilder::~KernelBuilder() {
  next_ = texts_.size();
  for (std::thread &t : workers_) {
    t.join();
  }
}

Result<std::unique_ptr<HostKernel>> KernelBuilder::take(size_t i) {
  return results_.at(i).get();
}

Status launch(const HostKernel &kernel, unsigned threads,
              const std::vector<unsigned> &order, bool reverseLanes,
              const std::function<void()> &call) {
  const unsigned workgroups =
      order.empty() ? 1 : *std::max_element(order.begin(), order.end()) + 1;
  return launch(kernel, {threads, 1}, {workgroups, 1}, order, reverseLanes,
                call);
}

Status launch(const HostKernel &kernel, Dims block, Dims grid,
              const std::vector<unsigned> &order, bool reverseLanes,
              const std::function<void()> &call) {
  const uint64_t threads = uint64_t(block.x) * block.y;
  if (threads == 0 || threads % 64 != 0 ||
      threads != uint64_t(kernel.threads_)) {
    return invalidArgument(fmt::format(
        "a launch of {} x {} work-items per workgroup; the kernel was "
        "generated for {} (whole waves of 64)",
        block.x, block.y, kernel.threads_));
  }
  const uint64_t workgroups = uint64_t(grid.x) * grid.y;
  for (unsigned wg : order) {
    if (wg >= workgroups) {
      return invalidArgument(
          fmt::format("workgroup {} of a grid of {} x {}", wg, grid.x, grid.y));
    }
  }
  if (gScheduler) {
    return failedPrecondition("one emulated launch at a time");
  }
  Scheduler s(block, grid, reverseLanes, call);
  kernel.bind_(&kHooks);
  gScheduler = &s;
  Status status = Status::ok();
  {
    FaultReports reports;
    for (unsigned wg : order) {
      // LDS holds garbage on the GPU: 0xFF bytes are NaN as bf16, f16 and
      // f32, so a value read before it is written shows in the results.
      if (kernel.ldsBegin_ < kernel.ldsEnd_) {
        std::memset(kernel.ldsBegin_, 0xFF,
                    size_t(kernel.ldsEnd_ - kernel.ldsBegin_));
      }
      status = s.run(wg);
      if (!status.isOk()) {
        status = status.withContext(fmt::format("workgroup {}", wg));
        break;
      }
    }
  }
  gScheduler = nullptr;
  return status;
}

std::vector<unsigned> gridOrder(unsigned workgroups, bool reversed) {
  std::vector<unsigned> order(workgroups);
  for (unsigned i = 0; i < workgroups; ++i) {
    order[i] = reversed ? workgroups - 1 - i : i;
  }
  return order;
}

} // namespace kt::test::hipemu
