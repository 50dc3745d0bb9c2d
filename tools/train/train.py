#!/usr/bin/env python3
"""train.py - trains pippa-demo: a small Gemma 3 model, full precision, then QAT (docs/QAT.md).

Phase "fp": next-token training of every weight in float32 (AdamW, warm-up then cosine).
Phase "qat": starts from the fp weights; every linear weight goes through a fake Q4_0
quantizer in the forward pass with a straight-through estimator (gemma3_torch.fake_q4_0),
full-precision master weights take the updates, and the target is the frozen fp model's
next-token distribution (distillation, as Google did for Gemma 3 QAT), so the quantized
model learns to stay close to full precision.

The training data mixes plain text windows (a <bos>, then text from a verse start) with chat
sequences in the Gemma 3 turn format (`<start_of_turn>user\\n` the start of a passage
`<end_of_turn>\\n<start_of_turn>model\\n` its continuation `<end_of_turn>\\n`, several turns
per sequence), so `pippa run` (which always speaks the chat format) gets a continuation.

Checkpoints (model, optimizer, step, random states) are written atomically every
--ckpt-every steps and at the end of a phase; running the same command again resumes.
Outputs in OUTDIR: fp.gguf (F32), f16.gguf (matrices F16), qat.gguf (QAT master weights,
F32), and the checkpoints. Progress goes to stdout, one line per --log-every steps.

usage: train.py --data DIR --tok PREFIX --out OUTDIR [--fp-steps N] [--qat-steps N] ...
"""

import argparse
import copy
import math
import os
import random
import sys
import time

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_write  # noqa: E402
from gemma3_torch import Config, Gemma3  # noqa: E402

PAD, EOS, BOS, UNK, SOT, EOT = 0, 1, 2, 3, 4, 5


def log(msg):
    print(msg, flush=True)


class Data:
    """Token stream of a text file: each verse line encoded, then '\\n'; a blank line per chapter."""

    def __init__(self, path, sp, cache):
        self.sp = sp
        self.nl = sp.piece_to_id("<0x0A>")
        if os.path.exists(cache) and os.path.getmtime(cache) >= os.path.getmtime(path):
            z = np.load(cache)
            self.stream, self.starts, self.doc = z["stream"], z["starts"], z["doc"]
            return
        with open(path, encoding="utf-8") as f:
            docs = f.read().strip().split("\n\n")
        stream, starts, doc = [], [], []
        for di, d in enumerate(docs):
            lines = [ln for ln in d.split("\n") if ln]
            for ids in sp.encode(lines):
                starts.append(len(stream))
                doc.append(di)
                stream.extend(ids)
                stream.append(self.nl)
            stream.append(self.nl)
        self.stream = np.asarray(stream, dtype=np.int32)
        self.starts = np.asarray(starts, dtype=np.int64)
        self.doc = np.asarray(doc, dtype=np.int32)
        np.savez(cache + ".tmp.npz", stream=self.stream, starts=self.starts, doc=self.doc)
        os.replace(cache + ".tmp.npz", cache)

    def verse(self, i):
        """Line i's tokens without its trailing newline(s)."""
        a = self.starts[i]
        b = self.starts[i + 1] if i + 1 < len(self.starts) else len(self.stream)
        ids = self.stream[a:b].tolist()
        while ids and ids[-1] == self.nl:
            ids.pop()
        return ids

    def plain(self, rng, T):
        i = rng.randrange(len(self.starts))
        s = self.starts[i]
        s = min(s, len(self.stream) - T)
        return [BOS] + self.stream[s:s + T - 1].tolist()

    def chat(self, rng, T, enc):
        """Several user/model turns; each user turn is the start of a passage (whole verses or
        the first words of one), the model turn its continuation in the same chapter."""
        seq = [BOS]
        user_hdr = [SOT] + enc("user") + [self.nl]
        model_hdr = [SOT] + enc("model") + [self.nl]
        while len(seq) < T:
            i = rng.randrange(len(self.starts) - 8)
            d = self.doc[i]
            if rng.random() < 0.5:
                words = self.sp.decode(self.verse(i)).split(" ")
                k = rng.randint(1, max(1, min(8, len(words) - 1)))
                user = enc(" ".join(words[:k]))
                first = enc(" " + " ".join(words[k:])) + [self.nl] if k < len(words) else []
                j = i + 1
            else:
                n = rng.randint(1, 2)
                user = sum((self.verse(i + t) + [self.nl] for t in range(n) if self.doc[i + t] == d), [])[:-1]
                first = []
                j = i + n
            model = first
            for t in range(rng.randint(1, 4)):
                if j + t >= len(self.starts) or self.doc[j + t] != d:
                    break
                model += self.verse(j + t) + [self.nl]
            if not model:
                continue
            model = model[:-1]  # no trailing newline before <end_of_turn> (content is trimmed)
            seq += user_hdr + user + [EOT, self.nl] + model_hdr + model + [EOT, self.nl]
        return seq[:T]


def batch(data, rng, B, T, chat_frac, enc):
    rows = [data.chat(rng, T, enc) if rng.random() < chat_frac else data.plain(rng, T) for _ in range(B)]
    x = torch.tensor(rows, dtype=torch.long)
    return x[:, :-1], x[:, 1:]


def lr_at(step, total, peak, warm, floor):
    if step < warm:
        return peak * (step + 1) / warm
    p = (step - warm) / max(1, total - warm)
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, p)))


def make_opt(model, lr):
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    other = [p for n, p in model.named_parameters() if p.dim() != 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                             lr=lr, betas=(0.9, 0.95), eps=1e-8)


def save_ckpt(path, model, opt, step, rng, done):
    state = {"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "done": done,
             "cfg": model.c.as_dict(), "py_rng": rng.getstate(), "torch_rng": torch.get_rng_state()}
    torch.save(state, path + ".tmp")
    os.replace(path + ".tmp", path)


def export(model, path, f16, name, sp_vocab):
    c = model.c
    w = gguf_write.Writer()
    w.str("general.architecture", "gemma3")
    w.str("general.name", name)
    w.str("general.license", "public-domain training data; weights: see docs/QAT.md")
    w.u32("general.file_type", 1 if f16 else 0)
    w.u32("gemma3.context_length", c.n_ctx)
    w.u32("gemma3.embedding_length", c.n_embd)
    w.u32("gemma3.block_count", c.n_layer)
    w.u32("gemma3.feed_forward_length", c.n_ff)
    w.u32("gemma3.attention.head_count", c.n_head)
    w.u32("gemma3.attention.head_count_kv", c.n_head_kv)
    w.u32("gemma3.attention.key_length", c.head_dim)
    w.u32("gemma3.attention.value_length", c.head_dim)
    w.f32("gemma3.attention.layer_norm_rms_epsilon", c.eps)
    w.u32("gemma3.attention.sliding_window", c.window)
    w.f32("gemma3.rope.freq_base", c.rope_base)
    pieces, scores, types = sp_vocab
    w.str("tokenizer.ggml.model", "llama")
    w.str("tokenizer.ggml.pre", "default")
    w.arr_str("tokenizer.ggml.tokens", pieces)
    w.arr_f32("tokenizer.ggml.scores", scores)
    w.arr_i32("tokenizer.ggml.token_type", types)
    w.u32("tokenizer.ggml.bos_token_id", BOS)
    w.u32("tokenizer.ggml.eos_token_id", EOS)
    w.u32("tokenizer.ggml.unknown_token_id", UNK)
    w.u32("tokenizer.ggml.padding_token_id", PAD)
    w.bool("tokenizer.ggml.add_bos_token", True)
    w.bool("tokenizer.ggml.add_eos_token", False)
    w.bool("tokenizer.ggml.add_space_prefix", False)
    for n, a, is_mat in model.gguf_tensors():
        w.tensor(n, a, f16=f16 and is_mat)
    w.write(path)
    log("wrote %s" % path)


def vocab_of(sp):
    pieces, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        p = sp.id_to_piece(i)
        pieces.append(p)
        scores.append(sp.get_score(i))
        if sp.is_unknown(i):
            types.append(2)
        elif sp.is_control(i):
            types.append(3)
        elif sp.is_byte(i):
            types.append(6)
        else:
            types.append(1)
    assert pieces[:6] == ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"], pieces[:6]
    return pieces, scores, types


@torch.no_grad()
def evaluate(model, data, n, B, T, seed, teacher=None):
    """Mean next-token loss on n fixed held-out batches (and KLD to the teacher if given)."""
    rng = random.Random(seed)
    model.eval()
    tot, kl = 0.0, 0.0
    for _ in range(n):
        x, y = batch(data, rng, B, T, 0.0, None)
        logits = model(x)
        tot += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).item()
        if teacher is not None:
            lt = F.log_softmax(teacher(x), -1)
            kl += (lt.exp() * (lt - F.log_softmax(logits, -1))).sum(-1).mean().item()
    model.train()
    return tot / n, kl / n


def run_phase(phase, model, teacher, data, held, args, enc, ckpt_path):
    steps = args.fp_steps if phase == "fp" else args.qat_steps
    peak = args.lr if phase == "fp" else args.qat_lr
    warm = args.warmup if phase == "fp" else 20
    opt = make_opt(model, peak)
    rng = random.Random(args.seed + (0 if phase == "fp" else 1))
    step = 0
    if os.path.exists(ckpt_path):
        st = torch.load(ckpt_path)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        step = st["step"]
        rng.setstate(st["py_rng"])
        torch.set_rng_state(st["torch_rng"])
        if st["done"]:
            log("%s: done (%s)" % (phase, ckpt_path))
            return
        log("%s: resuming at step %d of %d" % (phase, step, steps))
    model.train()
    first = step
    t0 = last = time.time()
    tok0 = 0
    T, B = args.ctx, args.batch
    while step < steps:
        lr = lr_at(step, steps, peak, warm, peak * 0.1)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = batch(data, rng, B, T, args.chat_frac, enc)
        logits = model(x).reshape(-1, model.c.n_vocab)
        if teacher is None:
            loss = F.cross_entropy(logits, y.reshape(-1))
        else:
            with torch.no_grad():
                pt = F.softmax(teacher(x).reshape(-1, model.c.n_vocab), -1)
            loss = -(pt * F.log_softmax(logits, -1)).sum(-1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tok0 += B * T
        if step % args.log_every == 0 or step == steps:
            now = time.time()
            rate = tok0 / (now - last)
            eta = (steps - step) * B * T / rate
            log("%s step %5d/%d  loss %.4f  lr %.2e  %.0f tok/s  elapsed %.0fs  eta %.0fs" %
                (phase, step, steps, loss.item(), lr, rate, now - t0, eta))
            last, tok0 = now, 0
        if step % args.ckpt_every == 0 and step < steps:
            save_ckpt(ckpt_path, model, opt, step, rng, False)
        if args.stop_after and step - first == args.stop_after and step < steps:
            save_ckpt(ckpt_path, model, opt, step, rng, False)
            log("%s: stopped after %d steps at step %d (run again to resume)" % (phase, args.stop_after, step))
            sys.exit(3)
    save_ckpt(ckpt_path, model, opt, step, rng, True)
    hl, hk = evaluate(model, held, args.eval_batches, B, T, 1234, teacher)
    log("%s: held-out loss %.4f (ppl %.2f)%s" % (phase, hl, math.exp(hl),
        "" if teacher is None else ", KLD to fp %.5f" % hk))


def main():
    ap = argparse.ArgumentParser(description="train pippa-demo (Gemma 3 architecture) with QAT")
    ap.add_argument("--data", required=True, help="dir with train.txt and heldout.txt (corpus.py)")
    ap.add_argument("--tok", required=True, help="SentencePiece model prefix (PREFIX.model)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--fp-steps", type=int, default=1000)
    ap.add_argument("--qat-steps", type=int, default=200)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--qat-lr", type=float, default=3e-4)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--chat-frac", type=float, default=0.3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ckpt-every", type=int, default=100)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--stop-after", type=int, default=0, help="save and exit (status 3) after N steps")
    ap.add_argument("--eval-batches", type=int, default=8)
    ap.add_argument("--n-embd", type=int, default=256)
    ap.add_argument("--n-layer", type=int, default=6)
    ap.add_argument("--n-ff", type=int, default=512)
    ap.add_argument("--window", type=int, default=128)
    ap.add_argument("--name", default="pippa-demo")
    args = ap.parse_args()
    if args.ctx < 16 or args.batch < 1 or args.fp_steps < 1 or args.qat_steps < 0:
        sys.exit("train.py: --ctx must be >= 16, --batch and --fp-steps >= 1, --qat-steps >= 0")

    for f in ("train.txt", "heldout.txt"):
        if not os.path.isfile(os.path.join(args.data, f)):
            sys.exit("train.py: %s: not found (tools/train/corpus.py writes it)" % os.path.join(args.data, f))
    if not os.path.isfile(args.tok + ".model"):
        sys.exit("train.py: %s.model: not found (spm_train writes it; see tools/train/run.sh)" % args.tok)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    sp = spm.SentencePieceProcessor(model_file=args.tok + ".model")
    vocab = vocab_of(sp)
    enc = sp.encode
    data = Data(os.path.join(args.data, "train.txt"), sp, os.path.join(args.out, "train.npz"))
    held = Data(os.path.join(args.data, "heldout.txt"), sp, os.path.join(args.out, "heldout.npz"))
    log("data: %d training tokens, %d held-out tokens, vocab %d" % (len(data.stream), len(held.stream), len(vocab[0])))

    cfg = Config(n_vocab=len(vocab[0]), n_embd=args.n_embd, n_layer=args.n_layer, n_ff=args.n_ff,
                 n_ctx=args.ctx, window=args.window)
    model = Gemma3(cfg)
    log("model: %d parameters, %d layers, n_embd %d, n_ff %d, context %d, window %d; %d threads" %
        (sum(p.numel() for p in model.parameters()), cfg.n_layer, cfg.n_embd, cfg.n_ff, cfg.n_ctx,
         cfg.window, torch.get_num_threads()))

    run_phase("fp", model, None, data, held, args, enc, os.path.join(args.out, "fp.ckpt"))
    export(model, os.path.join(args.out, "fp.gguf"), False, args.name, vocab)
    export(model, os.path.join(args.out, "f16.gguf"), True, args.name, vocab)
    if args.qat_steps:
        teacher = copy.deepcopy(model).eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
        model.qat = True
        run_phase("qat", model, teacher, data, held, args, enc, os.path.join(args.out, "qat.ckpt"))
        model.qat = False
        export(model, os.path.join(args.out, "qat.gguf"), False, args.name, vocab)


if __name__ == "__main__":
    main()
