#!/usr/bin/env bash
# demo.sh - README's first command: installs what is missing, builds pippa, writes a small
# Gemma-3-shaped model with the generator, inspects it and runs it. (A trained default model
# replaces the generated one when it ships; see README.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
make -j"$(nproc)" >/dev/null
model=${PIPPA_DEMO_MODEL:-/tmp/pippa-demo-fx.gguf}
[ -f "$model" ] || build/pippa-gen --shape fx --type f16 -o "$model"
build/pippa inspect "$model" | tail -n 1
build/pippa run "$model" "Tell me a story about the sea." -p num_predict=24 -p seed=1 --verbose
