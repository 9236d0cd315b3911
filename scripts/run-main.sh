#!/usr/bin/env bash
# Installs dependencies, builds ktune and tunes the LLM GEMM shapes in
# data/llm_gemm_shapes.csv and the attention shapes in
# data/llm_attention_shapes.txt into ./ktune.db; the tune commands print the
# winners.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-deps.sh
bash scripts/build.sh build
./build/tools/ktune/ktune tune --problems data/llm_gemm_shapes.csv \
  --db ktune.db "$@"
./build/tools/ktune/ktune tune --problems data/llm_attention_shapes.txt \
  --db ktune.db "$@"
