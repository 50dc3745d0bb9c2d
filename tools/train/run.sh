#!/usr/bin/env bash
# run.sh - the whole pippa-demo pipeline (docs/QAT.md): installs the training packages,
# builds the corpus and the tokenizer, trains (full precision, then QAT; resumes when run
# again), writes the GGUF files and quantizes the Q4_0 pair with pippa.
#
#   tools/train/run.sh [--install] [train.py options...]
#
# Work files go to $PIPPA_TRAIN_DIR (default build/train). --install copies the three models
# over the shipped ones in models/pippa-demo/.
set -euo pipefail
cd "$(dirname "$0")/../.."
install=0
if [ "${1:-}" = "--install" ]; then install=1; shift; fi
scripts/bootstrap.sh --train
make -j"$(nproc)" build/pippa >/dev/null
W=${PIPPA_TRAIN_DIR:-build/train}
PY=/usr/bin/python3
mkdir -p "$W"

echo "== corpus"
$PY tools/train/corpus.py "$W/data"

echo "== tokenizer (SentencePiece BPE, 4096 pieces, byte fallback, Gemma's special tokens)"
spm_train --input="$W/data/train.txt" --model_prefix="$W/tok" --vocab_size=4096 --model_type=bpe \
    --byte_fallback=true --character_coverage=1.0 --normalization_rule_name=identity \
    --remove_extra_whitespaces=false --add_dummy_prefix=false --split_digits=true \
    --max_sentence_length=16384 --pad_id=0 --eos_id=1 --bos_id=2 --unk_id=3 \
    --pad_piece='<pad>' --eos_piece='<eos>' --bos_piece='<bos>' --unk_piece='<unk>' \
    --control_symbols='<start_of_turn>,<end_of_turn>' --num_threads="$(nproc)" --minloglevel=2

echo "== training"
$PY tools/train/train.py --data "$W/data" --tok "$W/tok" --out "$W/out" "$@"

echo "== GGUF files"
cp "$W/out/f16.gguf" "$W/pippa-demo-f16.gguf"
build/pippa quantize "$W/out/qat.gguf" "$W/pippa-demo-qat-q4_0.gguf" Q4_0 --pure --token-embedding-type f16 | tail -n 2
build/pippa quantize "$W/out/f16.gguf" "$W/pippa-demo-ptq-q4_0.gguf" Q4_0 --pure --token-embedding-type f16 | tail -n 2
if [ $install = 1 ]; then
    cp "$W"/pippa-demo-{f16,qat-q4_0,ptq-q4_0}.gguf models/pippa-demo/
    echo "installed into models/pippa-demo/ (run 'pippa rm pippa-demo' so the store takes the new files)"
else
    echo "models in $W/pippa-demo-*.gguf; tools/train/run.sh --install puts them in models/pippa-demo/"
fi
