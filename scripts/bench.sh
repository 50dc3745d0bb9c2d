#!/usr/bin/env bash
# bench.sh - `make bench`: writes models with the exact Gemma 3 1B shape (random weights) in
# the quant mixes of shared/bench/baseline.md and runs `pippa bench` on each at 2 and 1
# threads. Models are cached in $PIPPA_BENCH_DIR (default ~/.cache/pippa-bench, ~6 GB).
# Usage: scripts/bench.sh [MIX...]   (MIX: F16 Q8_0 Q4_K_M Q4_0 QAT; default all)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${PIPPA_BENCH_DIR:-$HOME/.cache/pippa-bench}
mkdir -p "$dir"
P=build/pippa
mixes=("$@")
[ ${#mixes[@]} -gt 0 ] || mixes=(F16 Q8_0 Q4_K_M Q4_0 QAT)
src="$dir/gemma3-1b-F16.gguf"
[ -f "$src" ] || build/pippa-gen --shape 1b --type f16 --seed 1 -o "$src"
for mix in "${mixes[@]}"; do
    f="$dir/gemma3-1b-$mix.gguf"
    if [ ! -f "$f" ]; then
        case "$mix" in
            F16) ;;
            QAT) "$P" quantize "$src" "$f" Q4_0 --pure --token-embedding-type F16 ;;
            *) "$P" quantize "$src" "$f" "$mix" ;;
        esac
    fi
    for t in 2 1; do
        "$P" bench "$f" -p 512 -n 128 -r "${REPS:-3}" -t "$t"
    done
done
