#!/usr/bin/env bash
# Configures (Ninja, Release) and builds ktune.
#
# Usage: scripts/build.sh [BUILD_DIR] [extra cmake arguments...]
# BUILD_DIR defaults to ./build. Extra arguments go to the configure step
# and may override the build type, e.g. -DCMAKE_BUILD_TYPE=RelWithDebInfo.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
build_dir="${1:-build}"
shift || true

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build_dir"
