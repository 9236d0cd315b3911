#!/bin/bash
# Runs ktune's CUDA tests and benchmarks on a machine with an sm_90 GPU, each
# step under its own time limit, and keeps every log.
#
#   benchmarks/gpu_check.sh BIN OUT [STEP...]
#
# BIN holds the built programs (a build tree: build/tests/cuda_run_tests,
# build/benchmarks/bench_attention_cuda, ...; or one flat folder of them) and
# libkt.so; OUT receives one log per step plus the benchmarks' JSON and
# results files. STEPs (default: all, in this order): driver lookup worker
# attention gemm run mlir. Run from the repository root (the benchmarks read
# data/). A summary table is printed last.
set -u
bin=${1:?usage: gpu_check.sh BIN OUT [STEP...]}
out=${2:?usage: gpu_check.sh BIN OUT [STEP...]}
shift 2
steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(driver lookup worker attention gemm run mlir)
mkdir -p "$out"

find_prog() { # The first of BIN/NAME, BIN/*/NAME, BIN/*/*/NAME.
  for p in "$bin/$1" "$bin"/*/"$1" "$bin"/*/*/"$1"; do
    [ -f "$p" ] && { echo "$p"; return; }
  done
}
export KTUNE_CUDA_WORKER=${KTUNE_CUDA_WORKER:-$(find_prog ktune-cuda-worker)}
summary=()

# step NAME SECONDS PROGRAM ARGS...: runs it line-buffered into OUT/NAME.log.
step() {
  local name=$1 limit=$2 want=$3 prog
  prog=$(find_prog "$want")
  shift 3
  if [ -z "$prog" ]; then
    summary+=("$(printf '%-10s %-8s %s' "$name" missing "no $want in $bin")")
    return
  fi
  local t0=$SECONDS
  timeout "$limit" stdbuf -oL -eL "$prog" "$@" >"$out/$name.log" 2>&1
  local rc=$? verdict=ok
  [ $rc -eq 124 ] && verdict=timeout
  [ $rc -ne 0 ] && [ $rc -ne 124 ] && verdict="rc=$rc"
  # A test with no GPU of its arch passes after printing why it skipped.
  [ $rc -eq 0 ] && grep -q '^\[SKIP\]' "$out/$name.log" && verdict=skipped
  summary+=("$(printf '%-10s %-8s %4ss  %s' "$name" "$verdict" $((SECONDS - t0)) \
    "$(grep -E 'test cases|All tests passed|geomean' "$out/$name.log" | tail -1)")")
}

for s in "${steps[@]}"; do
  case $s in
  driver) step driver 60 CudaDriverTest ;;
  lookup) step lookup 120 cuda_lookup_tests -d yes ;;
  worker) step worker 300 cuda_worker_tests -d yes ;;
  attention)
    step attention 900 bench_attention_cuda --db "$out/attention.db" \
      --json "$out/attention.json"
    if lib=$(find_prog libkt.so) && [ -n "$lib" ]; then
      timeout 300 python3 benchmarks/attention_sdpa.py --lib "$lib" \
        --db "$out/attention.db" --json "$out/sdpa.json" >"$out/sdpa.log" 2>&1
      summary+=("$(printf '%-10s %-8s        %s' sdpa "rc=$?" \
        "$(grep geomean "$out/sdpa.log")")")
    fi
    ;;
  gemm) step gemm 600 bench_gemm_cuda --quick --json "$out/gemm.json" ;;
  run) step run 1200 cuda_run_tests -d yes ;;
  mlir) step mlir 600 cuda_mlir_run_tests -d yes ;;
  *) summary+=("$s: unknown step") ;;
  esac
done

printf '%s\n' "${summary[@]}" | tee "$out/summary.txt"
