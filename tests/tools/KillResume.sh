#!/usr/bin/env bash
# Durability: a tuner killed with SIGKILL mid-run leaves a readable results
# file holding every finished measurement; tuning again resumes (measured
# configurations are not measured twice) and completes.
# Usage: KillResume.sh KTUNE WORKDIR
set -euo pipefail
ktune=$1 work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work"
export KTUNE_CACHE_DIR="$work/kernels"
max=4

cat > problems.txt <<'TXT'
gemm_f32_NN_40x48x56
gemm_f32_NT_24x40x64
gemm_f32_TN_32x24x40
TXT

measurements() {
  "$ktune" inspect --db tuned.db 2>/dev/null |
    sed -n 's/^measurements  *\([0-9]*\).*/\1/p'
}

# Its own process group, so the kill takes the compile workers too.
setsid "$ktune" tune --problems problems.txt --db tuned.db \
  --max-candidates $max --quiet > first.out 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  n=$(measurements || true)
  [[ -n "$n" && "$n" -ge 2 ]] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.2
done
kill -9 -- -$pid 2>/dev/null || true
wait $pid 2>/dev/null || true
before=$(measurements)
echo "killed after $before measurement(s)"
[[ "$before" -ge 1 ]] || {
  echo "FAIL: no measurement survived the kill"
  cat first.out
  exit 1
}

"$ktune" tune --problems problems.txt --db tuned.db --max-candidates $max \
  --quiet | tee second.out
[ "$(grep -c '^gemm_f32_' second.out)" = 3 ] || {
  echo "FAIL: the resumed run did not tune every problem"
  exit 1
}
if grep -qE "no correct candidate|no template family" second.out; then
  echo "FAIL: a problem has no verified winner after resuming"
  exit 1
fi
after=$(measurements)
# Nothing measured twice: at most $max per problem in all.
[[ "$after" -ge "$before" && "$after" -le $((3 * max)) ]] || {
  echo "FAIL: $before measurement(s) before, $after after (max $((3 * max)))"
  exit 1
}
echo "kill-resume OK ($before then $after measurements)"
