#!/usr/bin/python3
"""gguf_from_hf.py - writes a vocab-only GGUF (llama.cpp layout, tokenizer.ggml.model "llama")
from a Hugging Face tokenizer.json + tokenizer_config.json of Gemma 3.

usage: gguf_from_hf.py tokenizer.json tokenizer_config.json out.gguf

Conversion (shared/spec/tokenizer.md §2, what llama.cpp's converter does from tokenizer.model):
  * pieces: model.vocab by id; `<0xHH>` pieces are BYTE (score 0), others NORMAL;
  * added_tokens_decoder entries with id < n_vocab override: special (or text that "looks
    special": <pad>, <mask>, <unused...>, <|...|>) -> CONTROL, else USER_DEFINED with U+2581
    replaced by a space; their score is -1000;
  * scores: tokenizer.json has no SentencePiece scores, so they are reconstructed from the merge
    list, which HF's converter sorts by piece score (descending). The merges start with a group
    of score-0 pieces (SentencePiece user-defined pieces such as tab runs, and the first normal
    piece) whose order is by piece length, then result ids ascend strictly with falling score.
    Score 0 for pieces produced inside that first group, else -(id - first_normal_id), the
    real vocabulary's linear scores (fixtures README §2.2).
  * bos 2, eos 1, unk 3, pad 0, add_bos true, add_eos false, add_space_prefix false.
GGUF v3 layout as in shared/spec/gguf.md §2 (no tensors).
"""
import json
import struct
import sys

import numpy as np

T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR = 4, 5, 6, 7, 8, 9


def looks_special(t):
    return (t in ("<pad>", "<mask>", "<2mass>", "[@BOS@]")
            or (t.startswith("<|") and t.endswith("|>"))
            or (t.startswith("<unused") and t.endswith(">")))


def s_bytes(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, payload):
    return s_bytes(key) + struct.pack("<I", vtype) + payload


def main():
    tj = json.load(open(sys.argv[1], encoding="utf-8"))
    cfg = json.load(open(sys.argv[2], encoding="utf-8"))
    vocab = tj["model"]["vocab"]
    n = len(vocab)
    texts = [None] * n
    for t, i in vocab.items():
        texts[i] = t
    assert all(t is not None for t in texts), "vocab ids are not dense"
    types = np.full(n, 1, dtype=np.int32)
    scores = np.zeros(n, dtype=np.float32)
    added = {int(k): v for k, v in cfg.get("added_tokens_decoder", {}).items()}
    for i, t in enumerate(texts):
        if len(t) == 6 and t.startswith("<0x") and t.endswith(">"):
            types[i] = 6
    first_normal = next(i for i in range(n) if i not in added and types[i] == 1)
    # merge-order reconstruction of the score-0 group
    results = [vocab[a + b] if isinstance(a, str) else None
               for a, b in (m if isinstance(m, list) else m.split(" ", 1) for m in tj["model"]["merges"])]
    last_inv = max((k for k in range(1, len(results)) if results[k] < results[k - 1]), default=0)
    zero = set(results[:last_inv])
    for i in range(n):
        if types[i] == 1:
            scores[i] = 0.0 if i in zero else -(i - first_normal)
    for i, a in added.items():
        if i >= n:
            continue
        t = a["content"]
        if a.get("special") or looks_special(t):
            types[i] = 3
        else:
            types[i] = 4
            t = t.replace("\u2581", " ")
        texts[i] = t
        scores[i] = -1000.0

    kvs = [
        kv("general.architecture", T_STR, s_bytes("gemma3")),
        kv("general.name", T_STR, s_bytes("gemma3-vocab")),
        kv("tokenizer.ggml.model", T_STR, s_bytes("llama")),
        kv("tokenizer.ggml.pre", T_STR, s_bytes("default")),
        kv("tokenizer.ggml.tokens", T_ARR,
           struct.pack("<IQ", T_STR, n) + b"".join(s_bytes(t) for t in texts)),
        kv("tokenizer.ggml.scores", T_ARR, struct.pack("<IQ", T_F32, n) + scores.astype("<f4").tobytes()),
        kv("tokenizer.ggml.token_type", T_ARR, struct.pack("<IQ", T_I32, n) + types.astype("<i4").tobytes()),
        kv("tokenizer.ggml.bos_token_id", T_U32, struct.pack("<I", 2)),
        kv("tokenizer.ggml.eos_token_id", T_U32, struct.pack("<I", 1)),
        kv("tokenizer.ggml.unknown_token_id", T_U32, struct.pack("<I", 3)),
        kv("tokenizer.ggml.padding_token_id", T_U32, struct.pack("<I", 0)),
        kv("tokenizer.ggml.add_bos_token", T_BOOL, b"\x01"),
        kv("tokenizer.ggml.add_eos_token", T_BOOL, b"\x00"),
        kv("tokenizer.ggml.add_space_prefix", T_BOOL, b"\x00"),
    ]
    out = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)) + b"".join(kvs)
    out += b"\x00" * ((-len(out)) % 32)
    with open(sys.argv[3], "wb") as f:
        f.write(out)
    print(f"wrote {sys.argv[3]}: {n} tokens, first normal id {first_normal}, "
          f"{len(zero)} score-0 merge results, {int((types == 3).sum())} control, "
          f"{int((types == 4).sum())} user-defined, {int((types == 6).sum())} byte")


if __name__ == "__main__":
    main()
