#!/usr/bin/env bash
# benchmarks/attention_sdpa.py's kt.h bindings (ctypes over libkt.so): tune
# one small attention problem on the CPU, then let the script open the file,
# look the problem up and describe the winner; a problem that was not tuned
# is reported, not a crash. No GPU or torch is needed for this mode.
# Usage: SdpaBindings.sh KTUNE LIBKT SCRIPT WORKDIR
set -euo pipefail
ktune=$1 libkt=$2 script=$3 work=$4
rm -rf "$work" && mkdir -p "$work" && cd "$work"
sig=attn_f32_BSHD_b1_hq4_hkv2_sq16_skv64_d32
echo "$sig" > problems.txt
"$ktune" tune --problems problems.txt --db attn.db --max-candidates 2 --quiet
out=$(python3 "$script" --lib "$libkt" --db attn.db --check-bindings "$sig")
echo "$out"
grep -q "lookup: cpu.attention.mlir .*($sig)" <<<"$out"
if python3 "$script" --lib "$libkt" --db attn.db \
    --check-bindings "${sig/_d32/_d64}" >miss.txt; then
  echo "an untuned problem was found" >&2
  exit 1
fi
grep -q "no tuned result" miss.txt
echo "sdpa bindings: ok"
