#!/usr/bin/env python3
"""gemma3_ref.py - independent NumPy float64 reference of the Gemma 3 text forward pass.

Purpose: ground truth for pippa's forward pass on any Gemma-3-shaped GGUF (including
generated ones that have no llama.cpp reference). Implements shared/spec/gemma3.md §5-6
literally, in float64, with weights dequantized exactly by gguf_reader.py (never by pippa).
Validated against llama.cpp's logits on the fixtures (tests/test_reference.py): max |Δ| on
fx.f32 is about 0.003 against the `exact` setting.

Invariants / rules implemented:
  * x = E[token] * sqrtf(n_embd) (scale rounded to float32, as llama.cpp does).
  * RMSNorm x / sqrt(mean(x²) + eps) * w (GGUF weights already include Gemma's +1).
  * Per layer: pre-norm, Q/K/V, per-head QK-RMSNorm, NEOX RoPE (rotate-half, all head dims),
    Q scaled by 1/sqrt(key_length) (62-layer models: 1/sqrt(n_embd // n_head)), causal
    attention (+ sliding window on SWA layers: key hidden iff pq - pk >= window), GQA with
    consecutive query heads sharing a KV head, output projection, post-attention norm,
    residual; pre-FFN norm, GeGLU with tanh-GELU, down projection, post-FFN norm, residual.
  * Layer types: `sliding_window` absent/0 -> all layers global. Otherwise
    `attention.sliding_window_pattern`: absent -> period 6; u32 period p -> layer il is SWA
    iff il % p < p - 1 (p = 0: all SWA); bool array (Ollama) -> per-layer flag (true = SWA).
  * RoPE: SWA layers base rope.freq_base_swa (or Ollama's rope.local.freq_base, else 10000),
    freq scale 1; global layers base rope.freq_base (or rope.global.freq_base, else 10000),
    freq scale 1/rope.scaling.factor (or rope.scale_linear; 0/absent -> 1).
  * Output: final norm, logits = E_out @ y with E_out = output.weight if present else
    token_embd.weight; optional final_logit_softcapping c != 0: c * tanh(logits / c).

CLI:
    gemma3_ref.py MODEL.gguf --tokens 2,651,... [--positions all|last|0,5,7]
                  [--out logits.npy] [--top N] [--gelu-f16]
  Without --out prints JSON {"positions": [...], "logits": [[...]], "top": [...]}.
  --out writes a float64 .npy of shape (len(positions), n_vocab).
"""

import argparse
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gguf_reader import GGUFReader, VT_ARRAY  # noqa: E402


class RefError(Exception):
    pass


def _per_layer(v, n_layer, key):
    if isinstance(v, (list, np.ndarray)):
        if len(v) != n_layer:
            raise RefError(f"key '{key}': array of {len(v)} entries, expected {n_layer}")
        return [int(x) for x in v]
    return [int(v)] * n_layer


class HParams:
    def __init__(self, r):
        arch = r.get("general.architecture")
        if arch != "gemma3":
            raise RefError(f"{r.name}: general.architecture is {arch!r}, expected 'gemma3'")
        p = "gemma3."

        def req(k):
            if p + k not in r.kv:
                raise RefError(f"{r.name}: key '{p + k}' is missing")
            return r.kv[p + k]

        self.n_layer = int(req("block_count"))
        self.n_embd = int(req("embedding_length"))
        self.n_ctx_train = int(req("context_length"))
        self.n_head = _per_layer(req("attention.head_count"), self.n_layer,
                                 p + "attention.head_count")
        self.n_head_kv = _per_layer(r.get(p + "attention.head_count_kv", self.n_head),
                                    self.n_layer, p + "attention.head_count_kv")
        self.n_ff = _per_layer(req("feed_forward_length"), self.n_layer,
                               p + "feed_forward_length")
        self.head_dim_k = int(r.get(p + "attention.key_length", self.n_embd // self.n_head[0]))
        self.head_dim_v = int(r.get(p + "attention.value_length",
                                    self.n_embd // self.n_head[0]))
        self.eps = float(np.float32(r.get(p + "attention.layer_norm_rms_epsilon", 1e-6)))
        self.n_swa = int(r.get(p + "attention.sliding_window", 0) or 0)
        self.base_global = float(r.get(p + "rope.freq_base",
                                       r.get(p + "rope.global.freq_base", 10000.0)))
        self.base_local = float(r.get(p + "rope.freq_base_swa",
                                      r.get(p + "rope.local.freq_base", 10000.0)))
        factor = r.get(p + "rope.scaling.factor")
        if factor is None:
            factor = r.get(p + "rope.scale_linear")
        factor = float(factor) if factor else 0.0
        self.freq_scale_global = 1.0 / factor if factor != 0.0 else 1.0
        self.softcap = float(r.get(p + "final_logit_softcapping", 0.0) or 0.0)

        pat_key = p + "attention.sliding_window_pattern"
        if self.n_swa <= 0:
            self.is_swa = [False] * self.n_layer
        elif pat_key in r.kv and r.kv_type[pat_key] == VT_ARRAY:
            pat = r.kv[pat_key]
            if len(pat) != self.n_layer:
                raise RefError(f"{r.name}: key '{pat_key}': {len(pat)} entries, "
                               f"expected {self.n_layer}")
            self.is_swa = [bool(x) for x in pat]
        else:
            period = int(r.get(pat_key, 6))
            self.is_swa = [period == 0 or (il % period) < (period - 1)
                           for il in range(self.n_layer)]
        if self.n_layer == 62:
            self.attn_scale = 1.0 / math.sqrt(self.n_embd // self.n_head[0])
        else:
            self.attn_scale = 1.0 / math.sqrt(self.head_dim_k)
        self.embd_scale = float(np.sqrt(np.float32(self.n_embd), dtype=np.float32))

    def as_dict(self):
        return dict(self.__dict__)


def rms_norm(x, w, eps):
    """x (..., n) float64, w (n,) -> normalized over the last axis, times w."""
    ms = np.mean(x * x, axis=-1, keepdims=True)
    return x / np.sqrt(ms + eps) * w


def gelu_tanh(t):
    return 0.5 * t * (1.0 + np.tanh(0.7978845608028654 * (t + 0.044715 * t * t * t)))


def gelu_f16_table(t):
    """ggml CPU's GELU: input rounded to fp16, result = f16(gelu_f32(input)); x <= -10 -> 0,
    x >= 10 -> x (quant-formats.md §6)."""
    t32 = t.astype(np.float32)
    h = t32.astype(np.float16).astype(np.float32)
    g = (np.float32(0.5) * h * (np.float32(1.0) + np.tanh(
        np.float32(0.7978845608) * h * (np.float32(1.0) + np.float32(0.044715) * h * h)))
         ).astype(np.float32)
    g = g.astype(np.float16).astype(np.float64)
    g = np.where(t32 <= -10.0, 0.0, g)
    g = np.where(t32 >= 10.0, t32.astype(np.float64), g)
    return g


def rope_neox(x, pos, base, freq_scale):
    """x (n_tok, n_heads, hd) float64; rotate-half RoPE over all hd dims."""
    hd = x.shape[-1]
    half = hd // 2
    inv = base ** (-2.0 * np.arange(half, dtype=np.float64) / hd)
    theta = freq_scale * pos.astype(np.float64)[:, None] * inv[None, :]   # (n_tok, half)
    c = np.cos(theta)[:, None, :]
    s = np.sin(theta)[:, None, :]
    a, b = x[..., :half], x[..., half:]
    return np.concatenate([a * c - b * s, a * s + b * c], axis=-1)


class Gemma3Ref:
    def __init__(self, path, gelu_f16=False):
        self.r = GGUFReader(path)
        self.hp = HParams(self.r)
        self.gelu = gelu_f16_table if gelu_f16 else gelu_tanh
        self.out_name = "output.weight" if "output.weight" in self.r.tensors \
            else "token_embd.weight"
        self.n_vocab = self.r.n_rows(self.out_name)

    def w(self, name):
        if name not in self.r.tensors:
            raise RefError(f"{self.r.name}: tensor '{name}' is missing")
        return self.r.tensor(name).astype(np.float64)

    def forward(self, tokens, positions=None, out_positions=None):
        """tokens: list of ids (one sequence). positions: per-token position (default
        0..n-1). out_positions: indices into tokens whose logits are returned (default all).
        Returns float64 array (len(out_positions), n_vocab)."""
        hp, r = self.hp, self.r
        tokens = np.asarray(tokens, dtype=np.int64)
        n = tokens.size
        if n == 0:
            raise RefError("no tokens")
        pos = np.arange(n) if positions is None else np.asarray(positions, dtype=np.int64)
        if out_positions is None:
            out_positions = list(range(n))
        n_emb_rows = r.n_rows("token_embd.weight")
        if tokens.min() < 0 or tokens.max() >= n_emb_rows:
            raise RefError(f"token id out of range [0, {n_emb_rows})")

        x = r.tensor_rows("token_embd.weight", tokens).astype(np.float64) * hp.embd_scale
        # causal mask and window distance; all tokens are one sequence
        dist = pos[:, None] - pos[None, :]          # pq - pk
        causal = dist >= 0
        swa_mask = causal & (dist < hp.n_swa) if hp.n_swa > 0 else causal
        for il in range(hp.n_layer):
            pfx = f"blk.{il}."
            nh, nkv = hp.n_head[il], hp.n_head_kv[il]
            hdk, hdv = hp.head_dim_k, hp.head_dim_v
            h = rms_norm(x, self.w(pfx + "attn_norm.weight"), hp.eps)
            q = (h @ self.w(pfx + "attn_q.weight").T).reshape(n, nh, hdk)
            k = (h @ self.w(pfx + "attn_k.weight").T).reshape(n, nkv, hdk)
            v = (h @ self.w(pfx + "attn_v.weight").T).reshape(n, nkv, hdv)
            q = rms_norm(q, self.w(pfx + "attn_q_norm.weight"), hp.eps)
            k = rms_norm(k, self.w(pfx + "attn_k_norm.weight"), hp.eps)
            if hp.is_swa[il]:
                base, fs, mask = hp.base_local, 1.0, swa_mask
            else:
                base, fs, mask = hp.base_global, hp.freq_scale_global, causal
            q = rope_neox(q, pos, base, fs) * hp.attn_scale
            k = rope_neox(k, pos, base, fs)
            group = nh // nkv
            o = np.empty((n, nh, hdv))
            for hh in range(nh):
                g = hh // group
                sc = q[:, hh, :] @ k[:, g, :].T                 # (nq, nk)
                sc = np.where(mask, sc, -np.inf)
                sc = sc - sc.max(axis=1, keepdims=True)
                p = np.exp(sc)
                p /= p.sum(axis=1, keepdims=True)
                o[:, hh, :] = p @ v[:, g, :]
            a = o.reshape(n, nh * hdv) @ self.w(pfx + "attn_output.weight").T
            a = rms_norm(a, self.w(pfx + "post_attention_norm.weight"), hp.eps)
            x = x + a
            f = rms_norm(x, self.w(pfx + "ffn_norm.weight"), hp.eps)
            gte = f @ self.w(pfx + "ffn_gate.weight").T
            up = f @ self.w(pfx + "ffn_up.weight").T
            d = (self.gelu(gte) * up) @ self.w(pfx + "ffn_down.weight").T
            d = rms_norm(d, self.w(pfx + "post_ffw_norm.weight"), hp.eps)
            x = x + d

        y = rms_norm(x[np.asarray(out_positions, dtype=np.int64)],
                     self.w("output_norm.weight"), hp.eps)
        logits = np.empty((y.shape[0], self.n_vocab))
        chunk = max(1, (1 << 24) // max(1, hp.n_embd))   # bound the dequantized slice
        for lo in range(0, self.n_vocab, chunk):
            hi = min(self.n_vocab, lo + chunk)
            E = r.tensor_rows(self.out_name, np.arange(lo, hi)).astype(np.float64)
            logits[:, lo:hi] = y @ E.T
        if hp.softcap != 0.0:
            logits = hp.softcap * np.tanh(logits / hp.softcap)
        return logits


def _parse_positions(s, n):
    if s == "all":
        return list(range(n))
    if s == "last":
        return [n - 1]
    out = [int(v) for v in s.split(",") if v != ""]
    for p in out:
        if p < 0 or p >= n:
            raise RefError(f"--positions: {p} out of range [0, {n})")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--tokens", required=True, help="comma-separated token ids")
    ap.add_argument("--positions", default="last", help="all | last | comma list of indices")
    ap.add_argument("--out", help="write float64 logits (n_pos, n_vocab) as .npy")
    ap.add_argument("--top", type=int, default=0, help="also report the top N ids per position")
    ap.add_argument("--gelu-f16", action="store_true", help="emulate ggml's fp16 GELU table")
    a = ap.parse_args(argv)
    try:
        toks = [int(t) for t in a.tokens.split(",") if t.strip() != ""]
        m = Gemma3Ref(a.model, gelu_f16=a.gelu_f16)
        outp = _parse_positions(a.positions, len(toks))
        logits = m.forward(toks, out_positions=outp)
    except (RefError, ValueError, OSError) as e:
        print(f"gemma3_ref: {e}", file=sys.stderr)
        return 1
    if a.out:
        np.save(a.out, logits)
        return 0
    res = {"positions": outp, "n_vocab": int(logits.shape[1]),
           "logits": [[float(v) for v in row] for row in logits]}
    if a.top:
        res["top"] = [[int(i) for i in np.argsort(-row, kind="stable")[:a.top]]
                      for row in logits]
    json.dump(res, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
