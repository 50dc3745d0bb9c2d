#!/usr/bin/env bash
# demo.sh - README's first command: installs what is missing, builds pippa and runs the shipped
# demo model (models/pippa-demo: a small Gemma 3 model trained here with QAT, docs/QAT.md).
# The first run adds pippa-demo to the model store ($PIPPA_MODELS, default ~/.pippa/models).
#   scripts/demo.sh ["PROMPT"]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
make -j"$(nproc)" >/dev/null
prompt=${1:-"And the king said unto the prophet,"}
build/pippa run pippa-demo "$prompt" --verbose
