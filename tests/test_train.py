"""test_train.py - the training tool (tools/train/) on a tiny corpus: a SentencePiece vocabulary
trained with Debian's spm_train, a few full-precision and QAT steps of train.py, then:
  * pippa tokenizes exactly as SentencePiece does with the exported vocabulary;
  * pippa's logits on the exported F32 model equal the PyTorch model's (so training and pippa
    run the same architecture: SWA and global layers, QK-norm, sandwich norms, GeGLU, tied
    embeddings), on a sequence longer than the sliding window;
  * the fake Q4_0 quantizer is bit-exact with `pippa quantize ... Q4_0` on every linear weight,
    and its backward pass is the identity (straight-through);
  * a run stopped with --stop-after and resumed writes the same model as one run straight;
  * bad inputs get one-line errors.
Needs python3-torch, python3-sentencepiece and sentencepiece (scripts/bootstrap.sh --tests).
"""
import os
import random
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(ROOT)
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
BUILD = os.environ.get("BUILD", "build")
PIPPA = os.path.join(BUILD, "pippa")
TMP = tempfile.mkdtemp(dir=os.environ.get("PIPPA_TEST_TMP"))
PY = sys.executable
TRAIN = os.path.join(ROOT, "tools", "train", "train.py")

sys.path.insert(0, os.path.join(ROOT, "tests"))
from checks import Suite  # noqa: E402

S = Suite(__file__)
check, finish = S.check, S.finish


try:
    import sentencepiece as spm
    import torch
except ImportError as e:
    S.skip("training tool", "%s (scripts/bootstrap.sh --tests installs it)" % e)
    finish()

from gemma3_torch import Config, Gemma3, fake_q4_0, q4_0_dequant  # noqa: E402
from gguf_reader import GGUFReader  # noqa: E402

# ---- a tiny corpus: sentences from a small grammar, chapters of 5-12 lines ----
rng = random.Random(7)
SUBJ = ["the king", "the people", "a man", "the LORD", "his servant", "the prophet", "they", "she"]
VERB = ["said unto", "went up to", "looked upon", "spake unto", "came before", "blessed", "sent"]
OBJ = ["the city", "Moses", "the mountain", "all the land", "the house of David", "the river",
       "his brethren", "the young men"]
TAIL = ["", ", and it was good", " in that day", " saying, Fear not", "; and they were glad",
        " 12 times", " at the gate"]


def sentence():
    s = "%s %s %s%s." % (rng.choice(SUBJ), rng.choice(VERB), rng.choice(OBJ), rng.choice(TAIL))
    return s[0].upper() + s[1:]


data = os.path.join(TMP, "data")
os.makedirs(data)
for part, n in (("train", 120), ("heldout", 8)):
    docs = ["\n".join(sentence() for _ in range(rng.randint(5, 12))) for _ in range(n)]
    with open(os.path.join(data, part + ".txt"), "w") as f:
        f.write("\n\n".join(docs) + "\n")
tok = os.path.join(TMP, "tok")
spm_cmd = ["spm_train", "--input=" + os.path.join(data, "train.txt"), "--model_prefix=" + tok,
           "--vocab_size=320", "--model_type=bpe", "--byte_fallback=true", "--character_coverage=1.0",
           "--normalization_rule_name=identity", "--remove_extra_whitespaces=false",
           "--add_dummy_prefix=false", "--split_digits=true", "--pad_id=0", "--eos_id=1", "--bos_id=2",
           "--unk_id=3", "--pad_piece=<pad>", "--eos_piece=<eos>", "--bos_piece=<bos>", "--unk_piece=<unk>",
           "--control_symbols=<start_of_turn>,<end_of_turn>", "--minloglevel=2"]
try:
    p = subprocess.run(spm_cmd, capture_output=True, text=True)
except FileNotFoundError:
    S.skip("training tool", "spm_train is missing (scripts/bootstrap.sh --tests installs sentencepiece)")
    finish()
check("spm_train writes the vocabulary", p.returncode == 0 and os.path.exists(tok + ".model"), p.stderr[-300:])

SMALL = ["--n-embd", "64", "--n-layer", "6", "--n-ff", "128", "--window", "16", "--ctx", "48", "--batch", "2",
         "--eval-batches", "1", "--log-every", "1", "--threads", "1", "--qat-steps", "3", "--fp-steps", "5",
         "--ckpt-every", "100"]


def train(out, *extra):
    return subprocess.run([PY, TRAIN, "--data", data, "--tok", tok, "--out", out] + SMALL + list(extra),
                          capture_output=True, text=True)


out = os.path.join(TMP, "out")
p = train(out)
check("train.py runs both phases", p.returncode == 0 and "qat: held-out loss" in p.stdout,
      (p.stdout + p.stderr)[-800:])
check("train.py prints progress", "fp step     5/5" in p.stdout and "tok/s" in p.stdout and "eta" in p.stdout,
      p.stdout[-400:])
for f in ("fp.gguf", "f16.gguf", "qat.gguf"):
    check("writes " + f, os.path.exists(os.path.join(out, f)))

sp = spm.SentencePieceProcessor(model_file=tok + ".model")
fp_gguf = os.path.join(out, "fp.gguf")

# ---- tokenizer: pippa == SentencePiece ----
texts = ["The king said unto Moses, Fear not.", "  two  spaces\nand a newline", "numbers 1234 and 7",
         "caf\u00e9 \u2014 \u00fcber \U0001F600", "UNSEEN wordz qqq", "a\n\nb"]
for t in texts:
    q = subprocess.run([PIPPA, "tokenize", fp_gguf, t, "--json"], capture_output=True, text=True)
    import json
    got = json.loads(q.stdout)["ids"] if q.returncode == 0 else q.stderr
    check("tokenize %r matches SentencePiece" % t, got == [2] + sp.encode(t), "%s vs %s" % (got, [2] + sp.encode(t)))
q = subprocess.run([PIPPA, "tokenize", fp_gguf, "<start_of_turn>user", "--parse-special", "--json"],
                   capture_output=True, text=True)
check("<start_of_turn> is one control token", q.returncode == 0 and json.loads(q.stdout)["ids"][:2] == [2, 4],
      q.stdout + q.stderr)

# ---- logits: pippa == PyTorch on the exported model ----
st = torch.load(os.path.join(out, "fp.ckpt"))
cfg = Config(**st["cfg"])
model = Gemma3(cfg)
model.load_state_dict(st["model"])
model.eval()
toks = [2] + sp.encode(" ".join(sentence() for _ in range(8)))[:40]
check("test sequence is longer than the window", len(toks) > cfg.window * 2, str(len(toks)))
with torch.no_grad():
    ref = model(torch.tensor([toks]))[0].double().numpy()
lf = os.path.join(TMP, "l.f32")
q = subprocess.run([PIPPA, "logits", fp_gguf, "--tokens", ",".join(map(str, toks)), "--positions", "all",
                    "--kv", "f32", "--out", lf], capture_output=True, text=True)
if q.returncode == 0:
    got = np.fromfile(lf, dtype=np.float32).reshape(len(toks), -1).astype(np.float64)
    d = np.abs(got - ref).max()
    check("pippa logits == PyTorch logits (max |d| %.2e, std %.3f)" % (d, ref.std()), d <= 1e-4 * max(1.0, ref.std()),
          "max diff %g" % d)
else:
    check("pippa logits runs", False, q.stderr)

# ---- fake Q4_0 == pippa's Q4_0, STE gradient ----
qat_q4 = os.path.join(TMP, "qat-q4_0.gguf")
q = subprocess.run([PIPPA, "quantize", os.path.join(out, "qat.gguf"), qat_q4, "Q4_0", "--pure",
                    "--token-embedding-type", "f16"], capture_output=True, text=True)
check("pippa quantize Q4_0 of the QAT weights", q.returncode == 0, q.stderr)
a, b = GGUFReader(os.path.join(out, "qat.gguf")), GGUFReader(qat_q4)
worst, n = 0.0, 0
for name in [t for t in b.tensors if t.startswith("blk.") and b.tensors[t].type_name == "Q4_0"]:
    w = torch.tensor(a.tensor(name)).reshape(b.tensors[name].ne[1], -1)
    worst = max(worst, float(np.abs(q4_0_dequant(w).numpy().reshape(-1) - b.tensor(name).reshape(-1)).max()))
    n += 1
check("fake Q4_0 is bit-exact with pippa's Q4_0 on %d tensors" % n, n == 6 * 7 and worst == 0.0, "max %g" % worst)
emb = b.tensors["token_embd.weight"].type_name
check("QAT layout keeps token_embd F16", emb == "F16", emb)
w = torch.randn(4, 64, requires_grad=True)
g = torch.randn(4, 64)
(fake_q4_0(w) * g).sum().backward()
check("fake Q4_0 backward is the identity (STE)", torch.equal(w.grad, g))
edge = torch.zeros(2, 32)
edge[1, 5] = -3.0
edge[1, 6] = 3.0
dq = q4_0_dequant(edge)
check("fake Q4_0: zero block stays zero, first largest magnitude sets the scale",
      float(dq[0].abs().max()) == 0.0 and float(dq[1, 5]) == -3.0, str(dq[1, 4:8]))

# ---- resume: stopped + resumed == straight ----
out2 = os.path.join(TMP, "out2")
p1 = train(out2, "--stop-after", "2")
check("--stop-after saves and exits with status 3", p1.returncode == 3 and "stopped after 2 steps" in p1.stdout,
      p1.stdout[-300:] + p1.stderr[-300:])
p2 = train(out2)
check("rerun resumes", p2.returncode == 0 and "fp: resuming at step 2 of 5" in p2.stdout, p2.stdout[-500:])
same = all(open(os.path.join(out, f), "rb").read() == open(os.path.join(out2, f), "rb").read()
           for f in ("fp.gguf", "qat.gguf"))
check("stopped and resumed run writes the same models as a straight run", same)
p3 = train(out2)
check("a finished run is not trained again", p3.returncode == 0 and "fp: done" in p3.stdout and "qat: done" in p3.stdout,
      p3.stdout[-300:])

# ---- bad inputs ----
p = subprocess.run([PY, TRAIN, "--data", os.path.join(TMP, "nope"), "--tok", tok, "--out", out],
                   capture_output=True, text=True)
check("missing corpus: one-line error", p.returncode != 0 and p.stderr.strip().count("\n") == 0
      and "train.txt: not found" in p.stderr, p.stderr)
p = subprocess.run([PY, TRAIN, "--data", data, "--tok", tok + "x", "--out", out], capture_output=True, text=True)
check("missing tokenizer: one-line error", p.returncode != 0 and p.stderr.strip().count("\n") == 0
      and "tokx.model: not found" in p.stderr, p.stderr)
finish()
