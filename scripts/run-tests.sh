#!/usr/bin/env bash
# The full check: dependencies, format check, Release build and all tests,
# an ASan+UBSan build and every test except the benchmark smoke runs, a
# ThreadSanitizer build of the thread-safe libraries' tests, and a short
# libFuzzer run on the parsers.
#
# Exits non-zero if any step fails. A failing format check or test suite
# does not stop the later steps, so one run reports everything; a failing
# configure or build stops that build's tests. About 40-60 minutes on two
# cores, mostly the two builds (several files include MLIR headers).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

failed=()
step() {
  echo
  echo "==> $*"
}

step "dependencies"
if ! bash scripts/install-deps.sh; then
  echo "run-tests: installing dependencies failed" >&2
  exit 1
fi

step "format check (clang-format-22)"
dirs=()
for d in runtime cache compiler templates tuner tools tests benchmarks \
         examples; do
  [[ -d "$d" ]] && dirs+=("$d")
done
mapfile -t sources < <(find "${dirs[@]}" -type f \
  \( -name '*.h' -o -name '*.hpp' -o -name '*.cpp' -o -name '*.c' \) | sort)
if clang-format-22 --dry-run --Werror "${sources[@]}"; then
  echo "format: ${#sources[@]} files ok"
else
  echo "format: run clang-format-22 -i on the files above" >&2
  failed+=("format")
fi

# build_and_test NAME BUILD_DIR CTEST_ARGS... -- CMAKE_ARGS...
build_and_test() {
  local name="$1" dir="$2"
  shift 2
  local ctest_args=()
  while [[ $# -gt 0 && "$1" != "--" ]]; do
    ctest_args+=("$1")
    shift
  done
  shift || true
  step "$name: build ($dir)"
  if ! bash scripts/build.sh "$dir" "$@"; then
    failed+=("$name build")
    return
  fi
  step "$name: tests"
  if ! ctest --test-dir "$dir" --output-on-failure -j2 "${ctest_args[@]}"; then
    failed+=("$name tests")
  fi
}

build_and_test release build --

# LeakSanitizer is off: LLVM and MLIR keep process-lifetime global state
# (registered dialects, passes, command-line options, target registries)
# that is never freed by design, so every test that compiles would report
# leaks that are not ours. ASan's other checks and UBSan stay on.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# Benchmarks (label bench) time real work; under sanitizers they are slow
# and say nothing, so they run in the Release build only.
build_and_test asan build-asan -LE bench -- \
  -DKT_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo

# ThreadSanitizer on the libraries that promise thread safety (the lookup
# C API, the results store); only their tests are built.
unset ASAN_OPTIONS
step "tsan: build (build-tsan)"
tsan_tests=(LookupTest cache_tests CApiTest)
if cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
     -DKT_SANITIZE_THREAD=ON >/dev/null &&
   cmake --build build-tsan --target "${tsan_tests[@]}"; then
  step "tsan: tests"
  if ! TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" \
       ctest --test-dir build-tsan --output-on-failure \
         -R "^($(IFS='|'; echo "${tsan_tests[*]}"))\$"; then
    failed+=("tsan tests")
  fi
else
  failed+=("tsan build")
fi

# libFuzzer on the signature and CSV parsers, briefly, from the seed corpus
# in tests/fuzz/corpus (clang-22 with ASan; a crash fails the run).
step "fuzz: build (build-fuzz)"
if cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
     -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
     -DKT_FUZZ=ON >/dev/null &&
   cmake --build build-fuzz --target FuzzSignature FuzzResultsCsv; then
  for f in FuzzSignature:signature FuzzResultsCsv:csv; do
    target=${f%%:*} corpus=${f##*:}
    step "fuzz: $target (60 s)"
    scratch=$(mktemp -d)
    if ! build-fuzz/tests/$target -max_total_time=60 -print_final_stats=1 \
         "$scratch" "tests/fuzz/corpus/$corpus" 2>&1 | tail -n 15; then
      failed+=("fuzz $target")
    fi
    rm -rf "$scratch"
  done
else
  failed+=("fuzz build")
fi

echo
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "run-tests: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "run-tests: all checks passed"
