// Tests for CpuDevice: device facts and loading shared objects from memory.
#include "ktune/device/CpuDevice.h"
#include "ktune/device/HostInfo.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#ifndef KT_TEST_KERNEL_PATH
#error "KT_TEST_KERNEL_PATH must name the test kernel shared object"
#endif

namespace {

using AddFn = int (*)(int, int);

std::string readTestKernel() {
  std::ifstream in(KT_TEST_KERNEL_PATH, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

} // namespace

TEST_CASE("CpuDevice describes the host", "[cpudevice]") {
  kt::CpuDevice device;
  const kt::HostInfo &host = kt::hostInfo();
  CHECK(device.threads() == host.logicalCores);
  CHECK(device.target().kind == kt::TargetKind::Cpu);
  CHECK(device.target().toString() == "cpu");
  CHECK(device.target().features == host.features);
  CHECK(device.info().name == host.cpuModel);
  CHECK(device.info().computeUnits == host.logicalCores);
  CHECK(device.info().lastLevelCacheBytes == host.lastLevelCacheBytes);
  CHECK(device.info().memoryBytes > 0);

  kt::CpuDevice two(2);
  CHECK(two.threads() == 2);
  CHECK(two.pool().size() == 2);
}

TEST_CASE("loadModule loads a shared object and finds symbols", "[cpudevice]") {
  std::string bytes = readTestKernel();
  REQUIRE(bytes.size() > 4);
  kt::CpuDevice device(1);
  kt::Result<std::unique_ptr<kt::Module>> module = device.loadModule(bytes);
  REQUIRE(module.isOk());
  kt::Result<void *> fn = (*module)->function("kt_test_add");
  REQUIRE(fn.isOk());
  auto add = reinterpret_cast<AddFn>(*fn);
  CHECK(add(2, 40) == 42);

  kt::Result<void *> missing = (*module)->function("kt_no_such_symbol");
  REQUIRE_FALSE(missing.isOk());
  CHECK(missing.status().code() == kt::StatusCode::NotFound);
  CHECK(missing.status().message().find("kt_no_such_symbol") !=
        std::string::npos);
}

TEST_CASE("each loadModule gives an independent module", "[cpudevice]") {
  // Descriptor numbers are reused after close; a second load must still
  // map a fresh copy rather than return the first module.
  std::string bytes = readTestKernel();
  kt::CpuDevice device(1);
  for (int round = 0; round < 3; ++round) {
    auto first = device.loadModule(bytes);
    auto second = device.loadModule(bytes);
    REQUIRE(first.isOk());
    REQUIRE(second.isOk());
    auto f1 = (*first)->function("kt_test_add");
    auto f2 = (*second)->function("kt_test_add");
    REQUIRE(f1.isOk());
    REQUIRE(f2.isOk());
    CHECK(*f1 != *f2);
    // Unloading one module leaves the other usable.
    first->reset();
    CHECK(reinterpret_cast<AddFn>(*f2)(1, 2) == 3);
  }
}

TEST_CASE("loadModule is safe from many threads", "[cpudevice]") {
  std::string bytes = readTestKernel();
  kt::CpuDevice device(1);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto module = device.loadModule(bytes);
        if (!module.isOk()) {
          ++failures;
          continue;
        }
        auto fn = (*module)->function("kt_test_add");
        if (!fn.isOk() || reinterpret_cast<AddFn>(*fn)(t, i) != t + i) {
          ++failures;
        }
      }
    });
  }
  for (std::thread &t : threads) {
    t.join();
  }
  CHECK(failures.load() == 0);
}

TEST_CASE("loadModule rejects empty and non-ELF bytes", "[cpudevice]") {
  kt::CpuDevice device(1);
  kt::Result<std::unique_ptr<kt::Module>> empty = device.loadModule("");
  REQUIRE_FALSE(empty.isOk());
  CHECK(empty.status().code() == kt::StatusCode::InvalidArgument);
  CHECK(empty.status().message().find("empty") != std::string::npos);
  CHECK(empty.status().message().find("retune") != std::string::npos);

  kt::Result<std::unique_ptr<kt::Module>> garbage =
      device.loadModule("this is not a shared object");
  REQUIRE_FALSE(garbage.isOk());
  CHECK(garbage.status().code() == kt::StatusCode::InvalidArgument);
  CHECK(garbage.status().message().find("not a valid shared object") !=
        std::string::npos);
  CHECK(garbage.status().message().find("retune") != std::string::npos);
}

TEST_CASE("loadModule reports dlopen errors for broken ELF files",
          "[cpudevice]") {
  kt::CpuDevice device(1);
  std::string truncated = readTestKernel().substr(0, 100);
  std::string bogus = std::string("\x7f"
                                  "ELF",
                                  4) +
                      std::string(200, '\x01');
  for (const std::string &bytes : {truncated, bogus}) {
    kt::Result<std::unique_ptr<kt::Module>> module = device.loadModule(bytes);
    REQUIRE_FALSE(module.isOk());
    CHECK(module.status().code() == kt::StatusCode::InvalidArgument);
    const std::string &message = module.status().message();
    INFO(message);
    CHECK(message.find("not a valid shared object for this host") !=
          std::string::npos);
    CHECK(message.find("/proc/self/fd/") != std::string::npos);
    CHECK(message.find("retune") != std::string::npos);
  }
}
