#!/usr/bin/env bash
# Installs ktune's build and test dependencies from the Debian 12 archive.
#
# Idempotent: when every package is already installed, apt is not touched,
# so repeated runs take well under a second. Runs apt as root, or through
# sudo when not root. No third-party apt sources are added.
set -euo pipefail

packages=(
  # Toolchain.
  cmake ninja-build g++ pkg-config
  # LLVM/MLIR 22: libraries, CMake packages, the tools their CMake exports
  # name (mlir-22-tools), the linker the CPU compiler drives (lld-22) and
  # the formatter the format check uses; lit and FileCheck (llvm-22-tools)
  # run the tests in tests/lit.
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools lld-22 clang-22 clang-format-22
  # Libraries ktune links.
  libsqlite3-dev libfmt-dev libcli11-dev catch2 libopenblas-dev
  # benchmarks/attention_sdpa.py (its kt.h bindings are tested without a
  # GPU; lit runs on it too).
  python3
  # libFuzzer and the sanitizer runtimes clang-22 links (tests/fuzz).
  libclang-rt-22-dev
  # Looked up by LLVMConfig.cmake (find_package(MLIR) fails without them).
  zlib1g-dev libzstd-dev libedit-dev libxml2-dev libcurl4-openssl-dev
  libffi-dev
)

missing=()
for p in "${packages[@]}"; do
  if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != \
        "install ok installed" ]]; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "install-deps: not root and no sudo; install as root:" >&2
  echo "  apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
