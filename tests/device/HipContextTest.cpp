// hip::Context on a real AMD GPU: memory round trips through every copy
// direction and hipMemsetD32, streams, event timing of a copy, and the
// errors a misuse gets. Skipped visibly ([SKIP], reported by CTest) where
// there is no HIP runtime or no GPU.
#include "ktune/drivers/hip/HipContext.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <numeric>
#include <vector>

using namespace kt;

namespace {

/// Device 0, or null after printing why the test is skipped.
std::unique_ptr<hip::Context> gpuOrSkip() {
  auto ctx = hip::Context::open(0);
  if (!ctx) {
    std::printf("[SKIP] no AMD GPU: %s\n", ctx.status().message().c_str());
    return nullptr;
  }
  return std::move(*ctx);
}

} // namespace

TEST_CASE("device memory round-trips through copies and fill32") {
  auto ctx = gpuOrSkip();
  if (!ctx) {
    return;
  }
  const size_t n = 1 << 20;
  std::vector<uint32_t> host(n);
  std::iota(host.begin(), host.end(), 7u);
  auto a = ctx->alloc(n * 4);
  auto b = ctx->alloc(n * 4);
  INFO(a.status().toString() << b.status().toString());
  REQUIRE((a.isOk() && b.isOk()));
  REQUIRE(a->bytes() == n * 4);
  REQUIRE(a->ptr() != 0);
  REQUIRE(ctx->copyToDevice(*a, host.data(), n * 4).isOk());
  REQUIRE(ctx->copyOnDevice(*b, *a, n * 4).isOk());
  std::vector<uint32_t> back(n, 0);
  REQUIRE(ctx->copyToHost(back.data(), *b, n * 4).isOk());
  REQUIRE(back == host);

  // A NaN pattern over the first half; the second half keeps its values.
  REQUIRE(ctx->fill32(*b, 0x7FC07FC0u, n / 2).isOk());
  REQUIRE(ctx->copyToHost(back.data(), *b, n * 4).isOk());
  for (size_t i = 0; i < n; ++i) {
    REQUIRE(back[i] == (i < n / 2 ? 0x7FC07FC0u : host[i]));
  }
  // Bit patterns above INT_MAX survive hipMemsetD32's int parameter.
  REQUIRE(ctx->fill32(*b, 0xFFFFFFFEu, n).isOk());
  REQUIRE(ctx->copyToHost(back.data(), *b, 4).isOk());
  REQUIRE(back[0] == 0xFFFFFFFEu);

  // Sizes past the buffer are refused before reaching the runtime.
  REQUIRE(ctx->copyToDevice(*a, host.data(), n * 4 + 4).code() ==
          StatusCode::InvalidArgument);
  REQUIRE(ctx->fill32(*a, 0, n + 1).code() == StatusCode::InvalidArgument);

  // Moving a buffer moves ownership; the moved-from one frees nothing.
  hip::DeviceBuffer moved = std::move(*a);
  REQUIRE(moved.bytes() == n * 4);
  REQUIRE(a->ptr() == 0);
  REQUIRE(ctx->copyToHost(back.data(), moved, 4).isOk());
  REQUIRE(back[0] == host[0]);
}

TEST_CASE("events time a device copy on a stream") {
  auto ctx = gpuOrSkip();
  if (!ctx) {
    return;
  }
  const size_t bytes = size_t(256) << 20;
  auto src = ctx->alloc(bytes);
  auto dst = ctx->alloc(bytes);
  REQUIRE((src.isOk() && dst.isOk()));
  REQUIRE(ctx->fill32(*src, 1, bytes / 4).isOk());
  auto stream = ctx->createStream();
  INFO(stream.status().toString());
  REQUIRE(stream.isOk());
  REQUIRE(stream->handle() != nullptr);
  // Events on the null stream bracket the copy.
  auto ms = ctx->timeMs([&] { return ctx->copyOnDevice(*dst, *src, bytes); });
  INFO(ms.status().toString());
  REQUIRE(ms.isOk());
  REQUIRE(*ms > 0.0f);
  // 512 MiB moved (read + write) at most at a few TB/s: well over 0.05 ms.
  REQUIRE(*ms > 0.05f);
  std::printf("hip:%d copy of %zu MiB: %.3f ms (%.0f GB/s read+write)\n",
              ctx->ordinal(), bytes >> 20, double(*ms),
              2.0 * double(bytes) / (double(*ms) * 1e6));
  REQUIRE(ctx->synchronize(*stream).isOk());
  REQUIRE(ctx->synchronize().isOk());
  uint32_t first = 0;
  REQUIRE(ctx->copyToHost(&first, *dst, 4).isOk());
  REQUIRE(first == 1u);
}

TEST_CASE("a module that is not a code object is refused with the call") {
  auto ctx = gpuOrSkip();
  if (!ctx) {
    return;
  }
  auto empty = ctx->loadModule("");
  REQUIRE(empty.status().code() == StatusCode::InvalidArgument);
  // Neither an ELF nor an offload bundle (the runtime reads the image's
  // size from its header, so the buffer is generous).
  auto junk = ctx->loadModule(std::string(4096, 'x'));
  REQUIRE_FALSE(junk.isOk());
  REQUIRE_THAT(junk.status().message(), Catch::Contains("hipModuleLoadData"));
}
