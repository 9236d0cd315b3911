#!/usr/bin/env bash
# End to end through the real programs: tune a TunableOp untuned file (with a
# malformed line) into SQLite, export TunableOp CSV, import it into a fresh
# database, check the winners are the same, look one up, and run the tuned
# kernels from a C program that uses only kt.h.
# Usage: EndToEnd.sh KTUNE KT_GEMM_RUN WORKDIR
set -euo pipefail
ktune=$1 run=$2 work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work"
export KTUNE_CACHE_DIR="$work/kernels"

# Devices: the CPU always; CUDA and HIP listed or said unavailable, never a
# crash.
"$ktune" devices > devices.out
for kind in cpu cuda hip; do
  grep -q "^$kind" devices.out || {
    echo "FAIL: ktune devices has no $kind line"
    cat devices.out
    exit 1
  }
done

cat > untuned.csv <<'CSV'
GemmTunableOp_float_TN,tn_96_8_64_ld_64_64_96
GemmTunableOp_float_NN,nn_77_33_50
GemmTunableOp_float_TN,this line is broken
GemmTunableOp_float_NT,nt_40_24_40_ld_40_24_40
CSV

"$ktune" tune --problems untuned.csv --db tuned.db --max-candidates 4 \
  --quiet 2> tune.err | tee tune.out
grep -q "untuned.csv:3" tune.err || {
  echo "FAIL: the malformed line was not reported with file and line"
  cat tune.err
  exit 1
}
[ "$(grep -c '^gemm_f32_' tune.out)" = 3 ] || {
  echo "FAIL: expected 3 tuned problems"
  exit 1
}
if grep -qE "no correct candidate|no template family" tune.out; then
  echo "FAIL: a problem has no verified winner"
  exit 1
fi

"$ktune" export --db tuned.db --format tunableop -o tuned_tunableop.csv
grep -q '^Validator,' tuned_tunableop.csv
grep -q '^GemmTunableOp_float_TN,tn_96_8_64_ld_64_64_96,ktune:' \
  tuned_tunableop.csv
"$ktune" import --db reimported.db tuned_tunableop.csv
"$ktune" export --db tuned.db --format tunableop -o a.csv
"$ktune" export --db reimported.db --format tunableop -o b.csv
# Same winners (problem, solution, time) after the round trip.
diff <(grep -v '^Validator' a.csv | sort) <(grep -v '^Validator' b.csv | sort)

"$ktune" lookup --db tuned.db \
  --problem GemmTunableOp_float_TN,tn_96_8_64_ld_64_64_96 | tee lookup.out
grep -q "cpu.gemm" lookup.out

# The deployment side: a C program, kt.h only, on the tuned file.
"$run" tuned.db NT 8 96 64
"$run" tuned.db NN 33 77 50
"$run" tuned.db TN 24 40 40
# Not tuned: NOT_FOUND (exit 3), not a crash.
set +e
"$run" tuned.db NN 5 5 5
rc=$?
set -e
[ $rc = 3 ] || {
  echo "FAIL: expected NOT_FOUND (3) for an untuned problem, got $rc"
  exit 1
}

# The miss was recorded in tuned.db when kt-gemm-run's context closed;
# inspect shows it, tune --from-misses tunes exactly it, and then it hits.
"$ktune" inspect --db tuned.db | tee inspect.out
grep -q "^misses .* 1 still untuned" inspect.out || {
  echo "FAIL: inspect does not show the untuned miss"
  exit 1
}
grep -q "^  cpu on .*: 3 winner(s), 3 with code objects" inspect.out
grep -q "here: 3 usable$" inspect.out
"$ktune" tune --from-misses --db tuned.db --max-candidates 2 --quiet \
  | tee misses.out
grep -q "^gemm_f32_NN_5x5x5_ld_5_5_5 " misses.out
[ "$(grep -c '^gemm_f32_' misses.out)" = 1 ]
"$run" tuned.db NN 5 5 5
"$ktune" inspect --db tuned.db | grep -q "^misses .* 0 still untuned"
"$ktune" tune --from-misses --db tuned.db --quiet | grep -q "nothing to tune"

# A wrong HIP front end is a usage error whatever the target, as an option
# or as the $KTUNE_HIP_COMPILER default, before any tuning.
for how in "--hip-compiler hipcc" "env"; do
  set +e
  if [ "$how" = env ]; then
    KTUNE_HIP_COMPILER=hipcc "$ktune" tune --target cpu --db tuned.db \
      --from-misses --quiet > hipc.out 2>&1
  else
    "$ktune" tune --target cpu --db tuned.db --from-misses --quiet \
      $how > hipc.out 2>&1
  fi
  rc=$?
  set -e
  [ $rc != 0 ] && grep -q "hipcc" hipc.out || {
    echo "FAIL: a wrong HIP compiler ($how) was not refused"
    cat hipc.out
    exit 1
  }
done

# Merging: the re-imported file (no code objects) then the tuned one, whose
# equally fast results with code objects replace them; merging again
# changes nothing.
"$ktune" merge --db merged.db reimported.db tuned.db | tee merge.out
grep -q "reimported.db: 3 winner(s): 3 now winning" merge.out
grep -q "tuned.db: 4 winner(s): 4 now winning.* 4 code object(s) copied" \
  merge.out
"$ktune" merge --db merged.db tuned.db | grep -q "4 already there"
"$run" merged.db NN 5 5 5
"$ktune" inspect --db tuned_tunableop.csv | grep -q "CSV: no code objects"

# A CSV carries no code objects: not found, unless kt.h may compile them
# on first use (jit) with the ktune compiler.
"$ktune" export --db tuned.db --format csv -o tuned.csv
set +e
"$run" tuned.csv NN 33 77 50
rc=$?
set -e
[ $rc = 3 ] || {
  echo "FAIL: expected NOT_FOUND (3) from a CSV without jit, got $rc"
  exit 1
}
KT_JIT_COMPILER="$ktune" "$run" tuned.csv NN 33 77 50
KT_JIT_COMPILER="$ktune" "$run" tuned_tunableop.csv TN 24 40 40
echo "end-to-end OK"
