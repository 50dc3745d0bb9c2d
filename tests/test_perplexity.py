"""test_perplexity.py - `pippa perplexity` against llama-perplexity's results on the fixtures
(../shared/fixtures/llama-ppl-ref.json, README §4.4 and §7): running PPL after every chunk and
the final PPL within 0.1 % (f32) and 1 % (quantized files), KL divergence and same-top share
against fx.f32 (through a saved logits file, and live with --kl-base), the logits file round
trip, corrupt logits files, and bad inputs (one-line errors, exit 1 or 2).

Tolerances: PPL as README §7. Mean KLD: |ours - llama.cpp| <= 2e-5 nats. llama.cpp's own base
file stores log-probs in 16-bit steps of 16/65535 = 2.4e-4 nats, and its default-vs-exact KV
settings move the logits of these files by up to 0.3 (README §5), so KLDs of ~3e-5 can only be
matched to that order; 2e-5 still rejects a KLD computed on wrong weights or wrong positions
(Q4_0 vs f32 is 3.3e-5, Q8_0 < 5e-7, so swapping files or skipping the base fails). 99 % KLD:
within 3e-4 (about one storage step). Same top: exactly 100 %.

Under ASan (BUILD=build-asan) only the first chunks are run and compared with llama.cpp's
running values after those chunks.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(ROOT)
BUILD = os.environ.get("BUILD", "build")
PIPPA = os.path.join(BUILD, "pippa")
GEN = os.path.join(BUILD, "pippa-gen")
FX = os.environ.get("PIPPA_FIXTURES", "../shared/fixtures")
ASAN = "asan" in BUILD
TMP = tempfile.mkdtemp(dir=os.environ.get("PIPPA_TEST_TMP"))

passed = failed = skipped = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok   " + name)
    else:
        failed += 1
        print("FAIL %s: %s" % (name, detail))


def skip(name, why):
    global skipped
    skipped += 1
    print("SKIP %s: %s" % (name, why))


def run(*args):
    p = subprocess.run([PIPPA] + list(args), capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def err_is(name, args, code, msg):
    rc, out, err = run(*args)
    lines = err.strip().split("\n")
    check(name + " exit %d" % code, rc == code, "exit %d, stderr %r" % (rc, err))
    check(name + " message", len(lines) >= 1 and lines[0] == msg, "got %r, want %r" % (lines[0], msg))


def rel(a, b):
    return abs(a - b) / abs(b)


# ---- bad usage: no model needed ----
err_is("missing model", ["perplexity"], 2, "pippa: perplexity: missing MODEL")
err_is("missing -f", ["perplexity", "m.gguf"], 2, "pippa: perplexity: missing -f TEXT")
err_is("bad -c", ["perplexity", "m.gguf", "-f", "t", "-c", "abc"], 2,
       "pippa: perplexity: -c: expected an integer in [4, 1048576], got 'abc'")
err_is("tiny -c", ["perplexity", "m.gguf", "-f", "t", "-c", "2"], 2,
       "pippa: perplexity: -c: expected an integer in [4, 1048576], got '2'")
err_is("bad --kv", ["perplexity", "m.gguf", "-f", "t", "--kv", "q8"], 2,
       "pippa: perplexity: --kv: expected f16 or f32, got 'q8'")
err_is("two kl modes", ["perplexity", "m.gguf", "-f", "t", "--kl-base", "a", "--kl-logits", "b"], 2,
       "pippa: perplexity: use only one of --kl-base, --kl-logits and --save-logits")

if not os.path.isdir(FX):
    skip("fixtures", FX + " not found")
    print("RESULT perplexity %d %d %d" % (passed, failed, skipped))
    sys.exit(1 if failed else 0)

REF = json.load(open(os.path.join(FX, "llama-ppl-ref.json")))
TEXT = os.path.join(FX, "ppl.txt")
F32 = os.path.join(FX, "fx.f32.gguf")


def tmp(name, data=None):
    p = os.path.join(TMP, name)
    if data is not None:
        with open(p, "wb") as f:
            f.write(data)
    return p


# ---- bad inputs that need a model ----
err_is("missing text", ["perplexity", F32, "-f", tmp("none.txt")], 1,
       "pippa: %s: No such file or directory" % tmp("none.txt"))
err_is("empty text", ["perplexity", F32, "-f", tmp("empty.txt", b"")], 1, "pippa: %s: empty text" % tmp("empty.txt"))
short = tmp("short.txt", b"The quick brown fox jumps over the lazy dog. " * 10)
rc, out, err = run("perplexity", F32, "-f", short, "-c", "128")
check("short text exit 1", rc == 1, err)
check("short text message", err.startswith("pippa: %s: " % short) and "tokens, need at least 256 for a context of 128"
      in err and err.count("\n") == 1, err)
err_is("ctx beyond training", ["perplexity", F32, "-f", TEXT, "-c", "4096"], 1,
       "pippa: perplexity: -c 4096 exceeds %s's trained context length 2048" % F32)
small = tmp("small.gguf")
subprocess.run([GEN, "--layers", "1", "--embd", "64", "--heads", "1", "--heads-kv", "1", "--head-dim", "64",
                "--ff", "128", "--vocab", "600", "-o", small], check=True, capture_output=True)
err_is("vocab mismatch", ["perplexity", F32, "-f", TEXT, "-c", "128", "--kl-base", small], 1,
       "pippa: %s: vocab of 600 tokens does not match %s's 4096" % (small, F32))

# ---- perplexity of fx.f32, saving the base logits ----
n_chunks = 4 if ASAN else 111
base = tmp("base.logits")
rc, out, err = run("perplexity", F32, "-f", TEXT, "-c", "128", "--kv", "f32", "--save-logits", base,
                   "--chunks", str(n_chunks), "--json")
check("f32 exit 0", rc == 0, err)
res = json.loads(out) if rc == 0 else {}


def check_ppl(name, res, ref, tol):
    if not res:
        check(name + " ran", False, "no result")
        return
    run_ = res["running_ppl"]
    want = ref["running_ppl_after_chunk"][:len(run_)]
    check(name + " chunks", len(run_) == n_chunks and res["n_chunks"] == n_chunks, str(len(run_)))
    check(name + " tokens", res["n_tokens"] == 14281, str(res["n_tokens"]))
    check(name + " scored", res["n_scored"] == 63 * n_chunks, str(res["n_scored"]))
    # The running value after c chunks averages 63c predictions; the per-prediction noise
    # between implementations (activation rounding, README §6) shrinks as 1/sqrt(c), so the
    # first chunks get max(tol, 3 tol / sqrt(c)); from chunk 9 on (and the final) it is tol.
    # Measured on fx.Q4_K_M after 2 chunks: our generic, AVX2 and AVX-512 kernels are 1.15%,
    # 0.95% and 1.42% above llama.cpp's value while all three have its mean KLD against f32
    # (2.52-2.56e-5 vs 2.4e-5): the AVX-512 figure was 1.005 of a factor-2 allowance, so
    # that allowance sat inside the noise; 3 leaves room for it.
    worst = max(rel(a, b) / max(tol, 3 * tol / (c + 1) ** 0.5) for c, (a, b) in enumerate(zip(run_, want)))
    check(name + " running PPL within tolerance (worst at %.2f of it)" % worst, worst <= 1)
    if not ASAN:
        check(name + " final PPL %.4f vs %.4f" % (res["ppl"], ref["final_ppl"]), rel(res["ppl"], ref["final_ppl"]) <= tol)
        check(name + " final error %.5f vs %.5f" % (res["ppl_err"], ref["final_ppl_err"]),
              rel(res["ppl_err"], ref["final_ppl_err"]) <= tol)


check_ppl("fx.f32", res, REF["models"]["fx.f32"], 0.001)
rows = n_chunks * 63
check("logits file size", os.path.getsize(base) == 64 + n_chunks * 128 * 4 + rows * (8 + 2 * 4096),
      str(os.path.getsize(base)))

# text output format, like llama-perplexity
rc, out, err = run("perplexity", F32, "-f", TEXT, "-c", "128", "--kv", "f32", "--chunks", "2")
lines = out.split("\n")
check("text: running values", rc == 0 and lines[0].startswith("[1]1597") and ",[2]1802" in lines[0]
      and lines[0].endswith(","), out[:200])
check("text: final line", len(lines) > 1 and lines[1].startswith("Final estimate: PPL = 1802") and " +/- " in lines[1],
      out[:300])

# ---- quantized files: PPL and KLD against the saved base ----
for q in ["fx.Q8_0", "fx.Q4_0", "fx.Q4_K_M", "fx.qat-q4_0"]:
    rc, out, err = run("perplexity", os.path.join(FX, q + ".gguf"), "-f", TEXT, "-c", "128", "--kv", "f32",
                       "--kl-logits", base, "--json")
    check(q + " exit 0", rc == 0, err)
    res = json.loads(out) if rc == 0 else {}
    ref = REF["models"][q]
    check_ppl(q, res, ref, 0.01)
    if not res:
        continue
    k, rk = res["kld"], ref["kld_vs_fx.f32"]
    check(q + " same top 100%", k["same_top"][0] == 1.0, str(k["same_top"]))
    check(q + " KLD n", k["n"] == rows, str(k["n"]))
    if ASAN:
        check(q + " KLD small", 0 <= k["mean_kld"][0] < 1e-3, str(k["mean_kld"]))
        continue
    check(q + " mean KLD %.3g vs %.3g" % (k["mean_kld"][0], rk["mean_kld"][0]),
          abs(k["mean_kld"][0] - rk["mean_kld"][0]) <= 2e-5)
    check(q + " KLD 99%% %.3g vs %.3g" % (k["kld_99%"], rk["kld_99%"]), abs(k["kld_99%"] - rk["kld_99%"]) <= 3e-4)
    check(q + " KLD ordered", k["min_kld"] <= k["median_kld"] <= k["kld_99%"] <= k["kld_99.9%"] <= k["max_kld"], str(k))
    check(q + " PPL(base) is fx.f32's", rel(k["ppl_base"][0], REF["models"]["fx.f32"]["final_ppl"]) <= 0.001,
          str(k["ppl_base"]))
    check(q + " PPL(Q) is the model's", rel(k["ppl_q"][0], res["ppl"]) <= 1e-9, str(k["ppl_q"]))
    check(q + " PPL ratio", rel(k["ppl_ratio"][0], res["ppl"] / k["ppl_base"][0]) <= 1e-6, str(k["ppl_ratio"]))

# ---- live --kl-base agrees with the saved file ----
Q4 = os.path.join(FX, "fx.Q4_0.gguf")
nc = "3" if ASAN else "12"
rc, out, err = run("perplexity", Q4, "-f", TEXT, "-c", "128", "--kv", "f32", "--kl-base", F32, "--chunks", nc, "--json")
live = json.loads(out)["kld"] if rc == 0 else None
rc2, out2, err2 = run("perplexity", Q4, "-f", TEXT, "-c", "128", "--kv", "f32", "--kl-logits", base, "--chunks", nc,
                      "--json")
saved = json.loads(out2)["kld"] if rc2 == 0 else None
check("live and saved ran", live is not None and saved is not None, err + err2)
if live and saved:
    check("live vs saved mean KLD", abs(live["mean_kld"][0] - saved["mean_kld"][0]) <= 1e-6,
          "%g vs %g" % (live["mean_kld"][0], saved["mean_kld"][0]))
    check("live vs saved PPL(base)", rel(live["ppl_base"][0], saved["ppl_base"][0]) <= 1e-6)
    check("live vs saved same top", live["same_top"] == saved["same_top"])

# text printout of the KLD block
rc, out, err = run("perplexity", Q4, "-f", TEXT, "-c", "128", "--kl-logits", base, "--chunks", "2")
for label in ["====== KL divergence statistics ======", "Mean    KLD:", "99.9%   KLD:", "99.0%   KLD:", "Median  KLD:",
              "Maximum KLD:", "RMS Δp    :", "Same top p: 100.000 ± ", "Mean PPL(Q)/PPL(base)         :",
              "Mean PPL(Q)-PPL(base)         :"]:
    check("KLD text '%s'" % label, label in out, out[-600:])

# ---- round trip: the same model against its own F32 logits file gives KLD 0 ----
f32file = tmp("self.logits")
rc, out, err = run("perplexity", Q4, "-f", TEXT, "-c", "128", "--chunks", "3", "--save-logits", f32file,
                   "--logits-type", "f32", "--json")
check("save f32 logits", rc == 0 and os.path.getsize(f32file) == 64 + 3 * 128 * 4 + 3 * 63 * (8 + 4 * 4096), err)
rc, out, err = run("perplexity", Q4, "--kl-logits", f32file, "--json")   # tokens come from the file
check("reuse without -f", rc == 0, err)
if rc == 0:
    k = json.loads(out)["kld"]
    check("self KLD ~ 0", abs(k["mean_kld"][0]) <= 1e-7 and k["same_top"][0] == 1.0, str(k["mean_kld"]))
    check("self PPL ratio 1", abs(k["ppl_ratio"][0] - 1) <= 1e-6, str(k["ppl_ratio"]))
rc, out, err = run("perplexity", Q4, "-f", TEXT, "-c", "128", "--chunks", "3", "--kl-logits", f32file, "--json")
check("reuse with -f", rc == 0 and abs(json.loads(out)["kld"]["mean_kld"][0]) <= 1e-7, err)

# ---- corrupt and mismatched logits files ----
good = open(f32file, "rb").read()


def bad_file(name, data, msg_part, args=()):
    p = tmp(name + ".logits", data)
    rc, out, err = run("perplexity", Q4, "--kl-logits", p, *args)
    check("%s: exit 1" % name, rc == 1, "exit %d %r" % (rc, err))
    # rows are checked while reading, after the progress line on stderr: one error line, the last
    errs = [l for l in err.strip().split("\n") if l.startswith("pippa:")]
    check("%s: one line naming the file" % name, len(errs) == 1 and errs[0].startswith("pippa: " + p + ": ")
          and msg_part in errs[0] and err.strip().endswith(errs[0]), err)


bad_file("magic", b"XXLOGIT1" + good[8:], "not a pippa logits file (bad magic)")
bad_file("short", good[:20], "file too short for a logits header (20 bytes)")
bad_file("truncated", good[:-1], "size %d bytes, header implies %d (truncated or corrupt)" % (len(good) - 1, len(good)))
bad_file("version", good[:8] + struct.pack("<I", 7) + good[12:], "version 7 is not supported (expected 1)")
bad_file("dtype", good[:24] + struct.pack("<I", 9) + good[28:], "header: dtype 9 is not 0 (F32) or 1 (F16)")
bad_file("vocab0", good[:12] + struct.pack("<I", 0) + good[16:], "header: n_vocab 0, n_ctx 128")
bad_file("huge", good[:12] + struct.pack("<I", 1 << 24) + good[16:20] + struct.pack("<I", 0xFFFFFFF) + good[24:32]
         + struct.pack("<Q", 1 << 62) + good[40:],
         "dimensions imply more than")
bad_file("token", good[:64] + struct.pack("<i", 5000) + good[68:], "token 0: id 5000 out of range [0, 4096)")
row0 = 64 + 3 * 128 * 4
bad_file("nan", good[:row0 + 8] + struct.pack("<f", float("nan")) + good[row0 + 12:],
         "chunk 0 row 0: value 0 is not finite")
bad_file("argmax", good[:row0] + struct.pack("<i", -3) + good[row0 + 4:], "chunk 0 row 0: bad argmax -3")
# a valid file for another vocabulary
other = bytearray(good[:64])
struct.pack_into("<I", other, 12, 600)
body = struct.pack("<%di" % (3 * 128), *([5] * (3 * 128))) + (struct.pack("<if", 0, -1.0) + b"\0" * 4 * 600) * (3 * 63)
bad_file("other vocab", bytes(other) + body, "vocab of 600 tokens does not match")
rc, out, err = run("perplexity", Q4, "-f", TEXT, "-c", "256", "--kl-logits", f32file)
check("ctx mismatch", rc == 1 and err.strip() == "pippa: %s: saved with a context of 128, not 256" % f32file, err)
shifted = tmp("shifted.txt", b"Hello " + open(TEXT, "rb").read())
rc, out, err = run("perplexity", Q4, "-f", shifted, "--kl-logits", f32file)
check("token mismatch", rc == 1 and err.startswith("pippa: %s: token 1 differs from %s's (" % (f32file, shifted))
      and err.count("\n") == 1, err)
err_is("save to a device", ["perplexity", Q4, "-f", TEXT, "-c", "128", "--save-logits", "/dev/null"], 1,
       "pippa: /dev/null: exists and is not a regular file")
check("/dev/null still there", os.path.exists("/dev/null") and not os.path.isfile("/dev/null"))
err_is("save into a missing dir", ["perplexity", Q4, "-f", TEXT, "-c", "128", "--save-logits", tmp("no/x.logits")], 1,
       "pippa: %s: cannot create: No such file or directory" % tmp("no/x.logits"))
rc, out, err = run("perplexity", Q4, "-f", TEXT, "--kl-logits", f32file, "--chunks", "1")
check("--chunks with file", rc == 0 and "[1]" in out and "[2]" not in out, out[:100] + err)

print("RESULT perplexity %d %d %d" % (passed, failed, skipped))
sys.exit(1 if failed else 0)
