"""gemma3_torch.py - the Gemma 3 text model in PyTorch, exactly as pippa runs it from GGUF.

shared/spec/gemma3.md §5-6: embeddings scaled by sqrt(n_embd) (f32 scalar), RMSNorm with the
stored weight used as is (GGUF weights already contain Gemma's +1: here the parameter *is*
that multiplier, initialised to 1), pre- and post-norms around attention and FFN, per-head
QK-RMSNorm, NEOX RoPE (base 10000 on sliding layers, rope.freq_base on global ones), queries
scaled by 1/sqrt(head_dim) after RoPE, GQA with consecutive query heads sharing a KV head,
sliding-window mask (key hidden iff pq - pk >= window) on layers il % 6 < 5, GeGLU with tanh
GELU, tied output projection. No biases.

QAT: with `qat=True` every linear weight (attn_q/k/v/output, ffn_gate/up/down) passes through
fake_q4_0 in the forward pass: Q4_0's rounding rule on blocks of 32 along the input dimension
(quant-formats.md: d = max/-8 with max the signed value of largest magnitude, q =
min(15, trunc(x/d + 8.5)), dequantized as (q - 8) * fp16(d)), with a straight-through
estimator: the backward pass treats the quantizer as the identity, so the full-precision
master weights take the gradient. Token embeddings stay full precision (the QAT layout keeps
them F16).
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def q4_0_dequant(w):
    """Q4_0 quantize + dequantize of w [rows, cols] (cols % 32 == 0), as pippa/llama.cpp do."""
    rows, cols = w.shape
    b = w.reshape(-1, 32)
    idx = b.abs().argmax(dim=1, keepdim=True)  # first index of the largest magnitude
    mx = b.gather(1, idx)
    d = mx / -8.0
    inv = torch.where(d != 0, 1.0 / torch.where(d != 0, d, torch.ones_like(d)), torch.zeros_like(d))
    q = torch.clamp(torch.floor(b * inv + 8.5), 0, 15)
    d16 = d.half().float()
    return ((q - 8.0) * d16).reshape(rows, cols)


def fake_q4_0(w):
    """Forward: Q4_0 round trip. Backward: identity (straight-through estimator)."""
    with torch.no_grad():
        deq = q4_0_dequant(w)
    return w + (deq - w).detach()


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(n_pos, hd, base):
    inv = base ** (-torch.arange(0, hd // 2, dtype=torch.float64) * 2.0 / hd)
    t = torch.arange(n_pos, dtype=torch.float64)[:, None] * inv[None, :]
    return torch.cos(t).float(), torch.sin(t).float()


def rope(x, cos, sin):
    # x [B, H, T, hd]; NEOX: pairs (i, i + hd/2)
    h = x.shape[-1] // 2
    a, b = x[..., :h], x[..., h:]
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


class Config:
    def __init__(self, **kw):
        self.n_vocab = 4096
        self.n_embd = 256
        self.n_layer = 6
        self.n_head = 4
        self.n_head_kv = 1
        self.head_dim = 64
        self.n_ff = 768
        self.n_ctx = 512
        self.window = 128
        self.rope_base = 1e6
        self.rope_base_swa = 1e4
        self.eps = 1e-6
        for k, v in kw.items():
            if not hasattr(self, k):
                raise ValueError("unknown config key %s" % k)
            setattr(self, k, v)

    def is_swa(self, il):
        return self.window > 0 and il % 6 < 5

    def as_dict(self):
        return dict(self.__dict__)


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, hd = c.n_embd, c.head_dim
        self.attn_norm = RMSNorm(d, c.eps)
        self.attn_q = nn.Linear(d, c.n_head * hd, bias=False)
        self.attn_k = nn.Linear(d, c.n_head_kv * hd, bias=False)
        self.attn_v = nn.Linear(d, c.n_head_kv * hd, bias=False)
        self.attn_q_norm = RMSNorm(hd, c.eps)
        self.attn_k_norm = RMSNorm(hd, c.eps)
        self.attn_output = nn.Linear(c.n_head * hd, d, bias=False)
        self.post_attention_norm = RMSNorm(d, c.eps)
        self.ffn_norm = RMSNorm(d, c.eps)
        self.ffn_gate = nn.Linear(d, c.n_ff, bias=False)
        self.ffn_up = nn.Linear(d, c.n_ff, bias=False)
        self.ffn_down = nn.Linear(c.n_ff, d, bias=False)
        self.post_ffw_norm = RMSNorm(d, c.eps)


LINEARS = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")


class Gemma3(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.token_embd = nn.Parameter(torch.randn(c.n_vocab, c.n_embd) * 0.02)
        self.layers = nn.ModuleList([Layer(c) for _ in range(c.n_layer)])
        self.output_norm = RMSNorm(c.n_embd, c.eps)
        self.qat = False
        for lyr in self.layers:
            for n in LINEARS:
                w = getattr(lyr, n).weight
                nn.init.normal_(w, std=0.02)
            # residual-branch outputs start small (GPT-2 style scaling)
            nn.init.normal_(lyr.attn_output.weight, std=0.02 / math.sqrt(2 * c.n_layer))
            nn.init.normal_(lyr.ffn_down.weight, std=0.02 / math.sqrt(2 * c.n_layer))
        self._tables = {}

    def _w(self, lin):
        return fake_q4_0(lin.weight) if self.qat else lin.weight

    def _rope(self, T, base, dev):
        key = (T, base)
        if key not in self._tables:
            self._tables[key] = tuple(t.to(dev) for t in rope_tables(T, self.c.head_dim, base))
        return self._tables[key]

    def forward(self, tokens):
        c = self.c
        B, T = tokens.shape
        hd, nh, nkv = c.head_dim, c.n_head, c.n_head_kv
        x = F.embedding(tokens, self.token_embd) * torch.tensor(math.sqrt(c.n_embd), dtype=torch.float32)
        pos = torch.arange(T, device=tokens.device)
        causal = pos[None, :] <= pos[:, None]
        swa = causal & ((pos[:, None] - pos[None, :]) < c.window)
        neg = torch.finfo(torch.float32).min
        mask_full = torch.zeros(T, T).masked_fill(~causal, neg)
        mask_swa = torch.zeros(T, T).masked_fill(~swa, neg)
        scale = 1.0 / math.sqrt(hd)
        for il, L in enumerate(self.layers):
            is_swa = c.is_swa(il)
            cos, sin = self._rope(T, c.rope_base_swa if is_swa else c.rope_base, tokens.device)
            h = L.attn_norm(x)
            q = F.linear(h, self._w(L.attn_q)).view(B, T, nh, hd).transpose(1, 2)
            k = F.linear(h, self._w(L.attn_k)).view(B, T, nkv, hd).transpose(1, 2)
            v = F.linear(h, self._w(L.attn_v)).view(B, T, nkv, hd).transpose(1, 2)
            q = rope(L.attn_q_norm(q), cos, sin) * scale
            k = rope(L.attn_k_norm(k), cos, sin)
            if nkv != nh:
                k = k.repeat_interleave(nh // nkv, dim=1)
                v = v.repeat_interleave(nh // nkv, dim=1)
            s = q @ k.transpose(-1, -2) + (mask_swa if is_swa else mask_full)
            o = torch.softmax(s, dim=-1) @ v
            o = o.transpose(1, 2).reshape(B, T, nh * hd)
            x = x + L.post_attention_norm(F.linear(o, self._w(L.attn_output)))
            f = L.ffn_norm(x)
            m = F.gelu(F.linear(f, self._w(L.ffn_gate)), approximate="tanh") * F.linear(f, self._w(L.ffn_up))
            x = x + L.post_ffw_norm(F.linear(m, self._w(L.ffn_down)))
        return F.linear(self.output_norm(x), self.token_embd)

    def gguf_tensors(self):
        """(name, float32 numpy array [rows, cols], is_matrix) in GGUF naming."""
        out = [("token_embd.weight", self.token_embd, True)]
        for il, L in enumerate(self.layers):
            p = "blk.%d." % il
            for n in ("attn_norm", "attn_q_norm", "attn_k_norm", "post_attention_norm", "ffn_norm",
                      "post_ffw_norm"):
                out.append((p + n + ".weight", getattr(L, n).weight, False))
            for n in LINEARS:
                out.append((p + n + ".weight", getattr(L, n).weight, True))
        out.append(("output_norm.weight", self.output_norm.weight, False))
        return [(n, t.detach().float().cpu().numpy(), m) for n, t, m in out]
