#!/usr/bin/env bash
# The example engine end to end: tune the GEMMs of a transformer block (not
# its attention), run the block through kt.h (attention misses and runs the
# plain kernel; the output is right either way), tune what production
# missed, and run again with every call tuned.
# Usage: ExampleBlock.sh KTUNE KT_TRANSFORMER_BLOCK WORKDIR
set -euo pipefail
ktune=$1 block=$2 work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work"
export KTUNE_CACHE_DIR="$work/kernels"

"$block" --print-problems > problems.txt
[ "$(grep -c '^gemm_' problems.txt)" = 4 ]
[ "$(grep -c '^attn_' problems.txt)" = 1 ]
grep '^gemm_' problems.txt > gemms.txt
"$ktune" tune --problems gemms.txt --db block.db --max-candidates 2 --quiet

"$block" block.db | tee first.out
grep -q "calls: 4 tuned, 0 fallback, 1 missed" first.out
grep -q "attention .* missed" first.out
grep -q ": OK$" first.out

# The miss was recorded in block.db; tuning the misses tunes the attention.
"$ktune" tune --from-misses --db block.db --max-candidates 2 --quiet |
  tee misses.out
grep -q "^attn_f32_BSHD_b1_hq8_hkv2_sq16_skv16_d64_causal " misses.out

"$block" block.db | tee second.out
grep -q "calls: 5 tuned, 0 fallback, 0 missed" second.out
grep -q ": OK$" second.out
"$ktune" lookup --db block.db \
  --problem attn_f32_BSHD_b1_hq8_hkv2_sq16_skv16_d64_causal | tee lookup.out
grep -q "cpu.attention.mlir" lookup.out
grep -q "valid here  yes" lookup.out
echo "example block OK"
