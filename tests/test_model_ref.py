#!/usr/bin/env python3
"""test_model_ref.py - pippa's forward pass against the independent NumPy float64 reference
(tests/reference/gemma3_ref.py) on generated Gemma-3-shaped F32/F16 models of several shapes:
GQA ratios 1, 2 and 4; head_dim 64, 128 and 256; sliding windows shorter than the prompt;
linear RoPE scaling; soft-capping with an untied output and Ollama's bool-array pattern; and a
62-layer model (llama.cpp's 27B attention-scale rule); and the shipped pippa-demo F16 model. Every logit at every position must be
within 1e-3 x the standard deviation of the reference logits."""
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", "build")
PIPPA = os.path.join(ROOT, BUILD, "pippa")
GEN = os.path.join(ROOT, BUILD, "pippa-gen")
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
import gemma3_ref  # noqa: E402
from gguf_reader import GGUFReader  # noqa: E402

passed = failed = skipped = 0

SHAPES = [
    # name, pippa-gen args, prompt length
    ("gqa1-hd64-swa16", "--layers 7 --embd 128 --heads 4 --heads-kv 4 --head-dim 64 --ff 256 --window 16", 40),
    ("gqa2-hd128-ropescale", "--layers 6 --embd 256 --heads 4 --heads-kv 2 --head-dim 128 --ff 512 --window 32 "
     "--rope-scale 8 --ctx 131072", 48),
    ("gqa4-hd256", "--layers 6 --embd 256 --heads 8 --heads-kv 2 --head-dim 256 --ff 384 --window 24", 36),
    ("softcap-untied-bools", "--layers 5 --embd 128 --heads 2 --heads-kv 1 --head-dim 64 --ff 256 --window 8 "
     "--softcap 30 --untied --swa-bools", 30),
    ("period4-f16", "--layers 8 --embd 128 --heads 2 --heads-kv 1 --head-dim 64 --ff 256 --window 12 "
     "--swa-pattern 4 --type f16", 33),
    ("62-layers-27b-rule", "--layers 62 --embd 64 --heads 2 --heads-kv 1 --head-dim 64 --ff 128 --window 8", 20),
    ("no-swa", "--layers 3 --embd 128 --heads 2 --heads-kv 1 --head-dim 64 --ff 256 --window 0", 25),
]


def check(name, ok, msg=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name}: {msg}")


def main():
    global skipped
    if not (os.path.exists(PIPPA) and os.path.exists(GEN)):
        skipped += 1
        print(f"SKIP all: {PIPPA} or {GEN} not built")
        return
    tmp = tempfile.mkdtemp(dir=os.environ.get("PIPPA_TEST_TMP"))
    rng = np.random.default_rng(5)
    for name, args, n_tok in SHAPES:
        path = os.path.join(tmp, name + ".gguf")
        r = subprocess.run([GEN] + args.split() + ["--vocab", "600", "--seed", "11", "-o", path],
                           capture_output=True, text=True)
        if r.returncode != 0:
            check(name, False, "pippa-gen: " + r.stderr.strip())
            continue
        toks = [2] + [int(t) for t in rng.integers(200, 600, n_tok - 1)]
        out = os.path.join(tmp, name + ".f32")
        r = subprocess.run([PIPPA, "logits", path, "--tokens", ",".join(map(str, toks)), "--positions", "all",
                            "--top", "1", "--kv", "f32", "--out", out], capture_output=True, text=True)
        if r.returncode != 0:
            check(name, False, "pippa logits: " + r.stderr.strip())
            continue
        got = np.fromfile(out, dtype="<f4").reshape(n_tok, -1).astype(np.float64)
        ref = reference_logits(path, toks)
        if ref.shape != got.shape:
            check(name, False, f"shape {got.shape} vs reference {ref.shape}")
            continue
        std = float(ref.std())
        diff = float(np.abs(got - ref).max())
        check(f"{name}: max |diff| {diff:.2e} <= 1e-3 x std {std:.3f}", diff <= 1e-3 * std,
              f"max diff {diff:.3e}, std {std:.3e}")
    # The shipped demo model (trained with tools/train/): F16 weights, a prompt past its window.
    demo = os.path.join(ROOT, "models", "pippa-demo", "pippa-demo-f16.gguf")
    toks = [2] + [int(t) for t in rng.integers(300, 4096, 199)]
    out = os.path.join(tmp, "demo.f32")
    r = subprocess.run([PIPPA, "logits", demo, "--tokens", ",".join(map(str, toks)), "--positions", "all",
                        "--top", "1", "--kv", "f32", "--out", out], capture_output=True, text=True)
    if r.returncode != 0:
        check("pippa-demo F16", False, "pippa logits: " + r.stderr.strip())
    else:
        got = np.fromfile(out, dtype="<f4").reshape(len(toks), -1).astype(np.float64)
        ref = reference_logits(demo, toks, os.path.join(tmp, "demo"))
        std = float(ref.std())
        diff = float(np.abs(got - ref).max())
        check(f"pippa-demo F16 (200 tokens): max |diff| {diff:.2e} <= 1e-3 x std {std:.3f}", diff <= 1e-3 * std,
              f"max diff {diff:.3e}, std {std:.3e}")
    print("RESULT", "model_ref", passed, failed, skipped)


def reference_logits(path, toks, stem=None):
    out = (stem or path) + ".ref.npy"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "reference", "gemma3_ref.py"), path,
                        "--tokens", ",".join(map(str, toks)), "--positions", "all", "--out", out],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("gemma3_ref.py: " + r.stderr.strip())
    return np.load(out)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a crash is a failure with the reason, not a silent pass
        failed += 1
        print(f"FAIL exception: {e!r}")
        print("RESULT", "model_ref", passed, failed, skipped)
    sys.exit(1 if failed else 0)
