"""test_reference.py - validates the independent reference tools in tests/reference/.

  * gguf_reader.py against shared/fixtures/dequant-ref.json (every tensor of every fx file:
    type, shape, values at 16 indices, max |x|, sum, sum of squares, RMSE vs f32) and on
    malformed headers (error texts).
  * gemma3_ref.py against shared/fixtures/llamacpp-ref.json: fx.f32 prompts a, b, c within the
    README §7 tolerance of llama.cpp's `exact` run (max 0.01, rms 0.002, all top-10 values),
    every other fx file within its file-type tolerance; a window of 65 instead of 64 must
    fail the check (the test can fail).
  * build/pippa-gen (if built): generated models read back with the right hyper-parameters,
    shapes and weight statistics; gemma3_ref runs on them; option errors are reported.

Prints SKIP/FAIL lines and ends with "RESULT reference <passed> <failed> <skipped>".
"""

import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import traceback

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
from gguf_reader import GGUFReader, GGUFError  # noqa: E402
import gemma3_ref  # noqa: E402
from gemma3_ref import Gemma3Ref, HParams  # noqa: E402

FIX = os.environ.get("PIPPA_FIXTURES") or os.path.join(ROOT, "..", "shared", "fixtures")
BUILD = os.environ.get("BUILD", "build")
GEN = os.path.join(ROOT, BUILD, "pippa-gen")
TMP = tempfile.mkdtemp(prefix="ref.", dir=os.environ.get("PIPPA_TEST_TMP"))

passed = failed = skipped = 0


class Skip(Exception):
    pass


def run(name, fn, *args):
    global passed, failed, skipped
    try:
        fn(*args)
        passed += 1
    except Skip as e:
        skipped += 1
        print(f"SKIP {name}: {e}")
    except Exception as e:  # noqa: BLE001
        failed += 1
        print(f"FAIL {name}: {e}")
        traceback.print_exc(limit=3)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def fixture(name):
    p = os.path.join(FIX, name)
    if not os.path.exists(p):
        raise Skip(f"fixture {name} not found in {FIX}")
    return p


_json_cache = {}


def load_json(name):
    if name not in _json_cache:
        with open(fixture(name)) as f:
            _json_cache[name] = json.load(f)
    return _json_cache[name]


# ---- reader vs dequant-ref ------------------------------------------------------------
_f32_cache = {}


def f32_tensor(name):
    if not _f32_cache:
        r = GGUFReader(fixture("fx.f32.gguf"))
        for t in r.tensors:
            _f32_cache[t] = r.tensor(t).reshape(-1).astype(np.float64)
    return _f32_cache[name]


def t_dequant_file(fname):
    ref = load_json("dequant-ref.json")["files"][fname]
    r = GGUFReader(fixture(fname))
    check(set(r.tensors) == set(ref), f"{fname}: tensor names differ from dequant-ref")
    for name, e in ref.items():
        ti = r.tensors[name]
        where = f"{fname}: {name} ({e['type']})"
        check(ti.type_name == e["type"], f"{where}: type {ti.type_name}")
        check(list(ti.ne) == e["ne"] and ti.n_elements == e["n"], f"{where}: ne {ti.ne}")
        a = r.tensor(name).reshape(-1)
        v = a[e["idx"]]
        want = np.array(e["val"], dtype=np.float32)
        check(np.array_equal(v, want), f"{where}: values {v[:4]} != {want[:4]}")
        check(np.float32(np.abs(a).max()) == np.float32(e["max_abs"]), f"{where}: max_abs")
        a64 = a.astype(np.float64)
        s, sq = math.fsum(a64), float(np.dot(a64, a64))
        check(abs(s - e["sum"]) <= 1e-9 * math.sqrt(e["n"] * e["sumsq"]),
              f"{where}: sum {s} != {e['sum']}")
        check(abs(sq - e["sumsq"]) <= 1e-9 * e["sumsq"], f"{where}: sumsq {sq}")
        f = f32_tensor(name)
        rel = math.sqrt(float(np.dot(a64 - f, a64 - f)) / float(np.dot(f, f)))
        check(abs(rel - e["rel_rmse_vs_f32"]) <= 1e-6 * max(e["rel_rmse_vs_f32"], 1e-300),
              f"{where}: rel_rmse {rel} != {e['rel_rmse_vs_f32']}")


def _gguf_bytes(kvs=b"", n_kv=0, tensors=b"", n_t=0, version=3):
    return b"GGUF" + struct.pack("<IQQ", version, n_t, n_kv) + kvs + tensors


def _s(x):
    b = x.encode()
    return struct.pack("<Q", len(b)) + b


def t_reader_errors():
    cases = [
        (b"GGUX" + bytes(40), "not a GGUF file (bad magic)"),
        (b"GGUF" + bytes(4), "not a GGUF file"),
        (_gguf_bytes(version=1), "unsupported GGUF version 1"),
        (b"GGUF" + struct.pack(">I", 3) + bytes(16), "wrong endianness"),
        (_gguf_bytes(n_kv=1 << 40), "kv count 1099511627776 exceeds the file size"),
        (_gguf_bytes(_s("a") + struct.pack("<II", 9, 9) + bytes(8), 1),
         "key 'a': nested arrays are not supported"),
        (_gguf_bytes(_s("a") + struct.pack("<I", 13) + bytes(8), 1),
         "key 'a': unknown value type 13"),
        (_gguf_bytes(_s("a") + struct.pack("<II", 4, 1) + _s("a") + struct.pack("<II", 4, 2),
                     2), "key 'a': duplicate key"),
        (_gguf_bytes(_s("a") + struct.pack("<IIQ", 9, 4, 1 << 40), 1),
         "key 'a': array count 1099511627776 exceeds the file size"),
        (_gguf_bytes(_s("general.alignment") + struct.pack("<II", 4, 24), 1),
         "'general.alignment': 24 is not a power of two"),
        (_gguf_bytes(tensors=_s("t") + struct.pack("<IQIQ", 1, 32, 77, 0), n_t=1),
         "tensor 't': unknown tensor type 77"),
        (_gguf_bytes(tensors=_s("t") + struct.pack("<IQIQ", 1, 20, 2, 0), n_t=1),
         "tensor 't': ne[0]=20 not a multiple of 32 (Q4_0)"),
        (_gguf_bytes(tensors=_s("t") + struct.pack("<IQIQ", 1, 0, 0, 0), n_t=1),
         "tensor 't': bad dimension [0]"),
        (_gguf_bytes(tensors=_s("t") + struct.pack("<IQIQ", 1, 64, 0, 0), n_t=1),
         "tensor 't': data [64, 320) lies past the end of the file"),
        (_gguf_bytes(_s("k") + struct.pack("<IQ", 8, 100), 1), "key 'k': needs 100 bytes"),
    ]
    for i, (blob, want) in enumerate(cases):
        p = os.path.join(TMP, f"bad{i}.gguf")
        with open(p, "wb") as f:
            f.write(blob)
        try:
            GGUFReader(p)
        except GGUFError as e:
            check(want in str(e) and str(e).startswith(f"bad{i}.gguf: "),
                  f"case {i}: message {str(e)!r} lacks {want!r}")
            continue
        raise AssertionError(f"case {i}: no error (wanted {want!r})")


# ---- forward pass vs llama.cpp ---------------------------------------------------------
_models = {}


def model(fname):
    if fname not in _models:
        _models[fname] = Gemma3Ref(fixture(fname))
    return _models[fname]


def compare_run(m, ref_run, ids, tol_max, tol_rms, label, upto=None):
    """Checks the last-position logits (unless upto cuts the prompt) and the top-10 logits
    at every recorded position below upto."""
    n = len(ids) if upto is None else upto
    tops = [t for t in ref_run["top10"] if t["pos"] < n]
    outp = sorted({t["pos"] for t in tops} | ({n - 1} if upto is None else set()))
    L = dict(zip(outp, m.forward(ids[:n], out_positions=outp)))
    if upto is None:
        d = L[n - 1] - np.array(ref_run["last_logits"], dtype=np.float64)
        mx, rms = float(np.abs(d).max()), float(np.sqrt(np.mean(d * d)))
        check(mx <= tol_max and rms <= tol_rms,
              f"{label}: last logits max |d| {mx:.5f} (tol {tol_max}), rms {rms:.5f} "
              f"(tol {tol_rms})")
    top_mx = 0.0
    for t in tops:
        row = L[t["pos"]]
        top_mx = max(top_mx, float(np.abs(row[t["ids"]] - np.array(t["logits"])).max()))
        check(int(np.argmax(row)) == t["ids"][0],
              f"{label}: top-1 at position {t['pos']} is {int(np.argmax(row))}, "
              f"llama.cpp {t['ids'][0]}")
    check(top_mx <= tol_max, f"{label}: top10 logits max |d| {top_mx:.5f} (tol {tol_max})")


def t_forward_f32(prompt):
    ref = load_json("llamacpp-ref.json")
    m = model("fx.f32.gguf")
    compare_run(m, ref["models"]["fx.f32"]["runs"][prompt]["exact"], ref["prompt_ids"][prompt],
                0.01, 0.002, f"fx.f32 prompt {prompt}")


def t_forward_sensitive():
    """The comparison must fail when one rule is wrong (window 65, scale, rope base)."""
    ref = load_json("llamacpp-ref.json")
    ids = ref["prompt_ids"]["b"]
    run_b = ref["models"]["fx.f32"]["runs"]["b"]["exact"]
    m = Gemma3Ref(fixture("fx.f32.gguf"))
    compare_run(m, run_b, ids, 0.01, 0.002, "unpatched", upto=113)
    for what, patch in [("window 65", lambda hp: setattr(hp, "n_swa", 65)),
                        ("attention scale 1/sqrt(256)", lambda hp: setattr(hp, "attn_scale",
                                                                           1 / 16)),
                        ("local rope base 1e6", lambda hp: setattr(hp, "base_local", 1e6))]:
        m.hp = HParams(m.r)
        patch(m.hp)
        try:
            compare_run(m, run_b, ids, 0.01, 0.002, what, upto=113)
        except AssertionError:
            continue
        raise AssertionError(f"{what}: the reference still matched llama.cpp")


TOL = {"F16": (0.03, 0.005), "BF16": (0.1, 0.02)}


def t_forward_quant(mname):
    ref = load_json("llamacpp-ref.json")
    runs = ref["models"][mname]["runs"]
    kind = mname.split(".", 1)[1]
    tmax, trms = TOL.get(kind, (0.6, 0.1))
    m = model(mname + ".gguf")
    for p in ("a", "c"):
        compare_run(m, runs[p]["exact"], ref["prompt_ids"][p], tmax, trms, f"{mname} {p}")


# ---- generator -------------------------------------------------------------------------
def gen(*args, expect_rc=0):
    if not os.path.exists(GEN):
        raise Skip(f"{GEN} not built")
    p = subprocess.run([GEN, *args], capture_output=True, text=True)
    check(p.returncode == expect_rc,
          f"pippa-gen {' '.join(args)}: exit {p.returncode}, stderr {p.stderr.strip()!r}")
    return p


def t_gen_small_f32():
    out = os.path.join(TMP, "gen_a.gguf")
    gen("--layers", "4", "--embd", "128", "--heads", "4", "--heads-kv", "2", "--head-dim",
        "32", "--ff", "384", "--vocab", "1024", "--window", "5", "--ctx", "4096",
        "--rope-base", "500000", "--rope-scale", "4", "--softcap", "12.5", "--swa-pattern",
        "3", "--untied", "--seed", "11", "-o", out)
    r = GGUFReader(out)
    kv = r.kv
    check(kv["general.architecture"] == "gemma3", "architecture")
    exp = {"gemma3.block_count": 4, "gemma3.embedding_length": 128,
           "gemma3.attention.head_count": 4, "gemma3.attention.head_count_kv": 2,
           "gemma3.attention.key_length": 32, "gemma3.attention.value_length": 32,
           "gemma3.feed_forward_length": 384, "gemma3.context_length": 4096,
           "gemma3.attention.sliding_window": 5, "gemma3.attention.sliding_window_pattern": 3,
           "tokenizer.ggml.bos_token_id": 2, "tokenizer.ggml.eos_token_id": 1,
           "tokenizer.ggml.unknown_token_id": 3, "tokenizer.ggml.padding_token_id": 0,
           "general.file_type": 0}
    for k, v in exp.items():
        check(kv.get(k) == v and r.kv_type[k] == 4, f"{k} = {kv.get(k)!r} (want u32 {v})")
    check(kv["gemma3.rope.freq_base"] == 500000.0, "rope.freq_base")
    check(kv["gemma3.rope.scaling.type"] == "linear" and kv["gemma3.rope.scaling.factor"] == 4.0,
          "rope scaling")
    check(kv["gemma3.final_logit_softcapping"] == 12.5, "softcap")
    check(kv["tokenizer.ggml.model"] == "llama" and kv["tokenizer.ggml.add_bos_token"] is True
          and kv["tokenizer.ggml.add_space_prefix"] is False, "tokenizer flags")
    toks = kv["tokenizer.ggml.tokens"]
    check(len(toks) == 1024 and len(set(toks)) == 1024, "1024 unique tokens")
    check(toks[2] == "<bos>" and toks[105] == "<start_of_turn>" and toks[106] == "<end_of_turn>"
          and toks[107] == "\n" and toks[238] == "<0x00>" and toks[493] == "<0xFF>"
          and toks[494] == "\u2581", "special token ids")
    check(list(kv["tokenizer.ggml.token_type"][[0, 5, 106, 107, 238, 494]]) == [3, 4, 3, 4, 6, 1],
          "token types")
    check("<start_of_turn>" in kv["tokenizer.chat_template"], "chat template")
    check(len(r.tensors) == 2 + 13 * 4 + 1, f"{len(r.tensors)} tensors")
    check(r.tensors["blk.2.attn_k.weight"].ne == [128, 64], "attn_k shape")
    check(r.tensors["blk.0.ffn_down.weight"].ne == [384, 128], "ffn_down shape")
    check(r.tensors["output.weight"].ne == [128, 1024], "output shape")
    q = r.tensor("blk.1.attn_q.weight")
    check(abs(q.std() - 0.02) < 0.001 and abs(q.mean()) < 0.001, f"attn_q std {q.std()}")
    e = r.tensor("token_embd.weight")
    check(abs(e.std() - 0.15) < 0.005, f"token_embd std {e.std()}")
    nw = r.tensor("blk.3.post_ffw_norm.weight")
    check(abs(nw.mean() - 1) < 0.01 and abs(nw.std() - 0.02) < 0.006, "norm weights 1+N(0,.02)")
    hp = HParams(r)
    check(hp.is_swa == [True, True, False, True], f"is_swa {hp.is_swa}")
    check(hp.freq_scale_global == 0.25 and hp.attn_scale == 1 / math.sqrt(32), "rope/scale")
    m = Gemma3Ref(out)
    check(m.out_name == "output.weight", "untied output")
    L = m.forward([2, 600, 601, 700, 800, 900, 1000, 3])
    check(L.shape == (8, 1024) and np.isfinite(L).all(), f"logits shape {L.shape}")
    check(np.abs(L).max() < 12.5 and np.abs(L).max() > 0.1, "softcap bounds the logits")
    # same seed -> same file; another seed -> other weights
    out2 = os.path.join(TMP, "gen_a2.gguf")
    gen("--layers", "4", "--embd", "128", "--heads", "4", "--heads-kv", "2", "--head-dim",
        "32", "--ff", "384", "--vocab", "1024", "--window", "5", "--ctx", "4096",
        "--rope-base", "500000", "--rope-scale", "4", "--softcap", "12.5", "--swa-pattern",
        "3", "--untied", "--seed", "11", "-o", out2)
    with open(out, "rb") as f1, open(out2, "rb") as f2:
        check(f1.read() == f2.read(), "same options and seed give the same bytes")
    gen("--layers", "4", "--embd", "128", "--heads", "4", "--heads-kv", "2", "--head-dim",
        "32", "--ff", "384", "--vocab", "1024", "--seed", "12", "-o", out2)
    r2 = GGUFReader(out2)
    check(not np.array_equal(r2.tensor("blk.1.attn_q.weight"), q), "seed changes weights")
    check("gemma3.rope.scaling.factor" not in r2.kv and "gemma3.final_logit_softcapping"
          not in r2.kv and "gemma3.attention.sliding_window_pattern" not in r2.kv,
          "optional keys absent by default")


def t_gen_small_f16_vocab_from():
    src = fixture("fx.f32.gguf")
    out = os.path.join(TMP, "gen_b.gguf")
    gen("--layers", "7", "--embd", "64", "--heads", "2", "--heads-kv", "1", "--head-dim", "32",
        "--ff", "128", "--window", "3", "--type", "f16", "--swa-bools", "--vocab-from", src,
        "-o", out)
    r, f = GGUFReader(out), GGUFReader(src)
    for k in f.kv:
        if k.startswith("tokenizer."):
            a, b = r.kv.get(k), f.kv[k]
            same = np.array_equal(a, b) if isinstance(b, np.ndarray) else a == b
            check(same and r.kv_type[k] == f.kv_type[k], f"{k} not copied")
    check(not any(k.startswith("general.") and k not in
                  ("general.architecture", "general.type", "general.name", "general.file_type")
                  for k in r.kv), "foreign general.* keys removed")
    check(r.kv["general.name"] == "pippa-gen custom" and r.kv["gemma3.block_count"] == 7 and
          r.kv["gemma3.attention.sliding_window"] == 3, "our keys win over the source's")
    check(r.kv["general.file_type"] == 1, "file_type F16")
    check(r.tensors["token_embd.weight"].ne == [64, 4096] and
          r.tensors["token_embd.weight"].type_name == "F16", "token_embd F16 [64, 4096]")
    check(r.tensors["blk.6.attn_q_norm.weight"].type_name == "F32", "norms stay F32")
    pat = r.kv["gemma3.attention.sliding_window_pattern"]
    check(r.kv_arr_type["gemma3.attention.sliding_window_pattern"] == 7 and
          list(pat) == [True] * 5 + [False, True], f"bool pattern {pat}")
    hp = HParams(r)
    check(hp.is_swa == [True] * 5 + [False, True], "is_swa from bools")
    m = Gemma3Ref(out)
    ids = load_json("llamacpp-ref.json")["prompt_ids"]["c"]
    L = m.forward(ids, out_positions=[len(ids) - 1])
    check(L.shape == (1, 4096) and np.isfinite(L).all(), "logits finite")
    # CLI: --out writes the same logits
    npy = os.path.join(TMP, "gen_b.npy")
    rc = gemma3_ref.main([out, "--tokens", ",".join(map(str, ids)), "--out", npy])
    check(rc == 0 and np.array_equal(np.load(npy), L), "CLI --out")


def t_gen_shapes():
    """Presets write the gemma3.md §3 hyper-parameters (checked on small --vocab copies)."""
    want = {"270m": (18, 640, 2048, 4, 1, 256, 512, 32768, None),
            "1b": (26, 1152, 6912, 4, 1, 256, 512, 32768, None),
            "4b": (34, 2560, 10240, 8, 4, 256, 1024, 131072, 8.0),
            "27b": (62, 5376, 21504, 32, 16, 128, 1024, 131072, 8.0),
            "fx": (6, 256, 1024, 4, 1, 64, 64, 2048, None)}
    keys = ["block_count", "embedding_length", "feed_forward_length", "attention.head_count",
            "attention.head_count_kv", "attention.key_length", "attention.sliding_window",
            "context_length"]
    for shape, w in want.items():
        out = os.path.join(TMP, f"shape_{shape}.gguf")
        # shrink layers/embd so the file stays tiny; the preset must still set the rest
        gen("--shape", shape, "--layers", "1", "--embd", "64", "--ff", "64", "--vocab", "512",
            "-o", out)
        r = GGUFReader(out)
        got = tuple(r.kv["gemma3." + k] for k in keys)
        expect = (1, 64, 64) + w[3:8]
        check(got == expect, f"--shape {shape}: {got} != {expect}")
        check(r.kv.get("gemma3.rope.scaling.factor") == w[8], f"--shape {shape}: rope scaling")
        check(r.kv["gemma3.rope.freq_base"] == 1e6, f"--shape {shape}: rope base")
    r = GGUFReader(os.path.join(TMP, "shape_fx.gguf"))
    check(r.kv["gemma3.rope.freq_base_swa"] == 10000.0, "fx writes rope.freq_base_swa")


def t_gen_errors():
    cases = [(["--heads", "3", "--heads-kv", "2"], "--heads 3 is not a multiple of --heads-kv 2"),
             (["--type", "q4_0"], "--type: 'q4_0' is not f32, f16 or bf16"),
             (["--layers", "x"], "--layers: 'x' is not an unsigned 32-bit integer"),
             (["--shape", "2b"], "--shape: unknown shape '2b'"),
             (["--vocab", "100"], "--vocab: 100 not in 512.."),
             (["--head-dim", "33"], "--head-dim 33 must be even"),
             (["--bogus", "1"], "unknown option '--bogus'"),
             (["--layers"], "--layers: missing value")]
    for args, want in cases:
        p = gen(*args, "-o", os.path.join(TMP, "never.gguf"), expect_rc=2) \
            if args != ["--layers"] else gen(*args, expect_rc=2)
        check(want in p.stderr, f"{args}: stderr {p.stderr.strip()!r} lacks {want!r}")
    p = gen("--layers", "1", expect_rc=2)
    check("missing -o OUT.gguf" in p.stderr, "missing -o")
    bad = os.path.join(TMP, "bad0.gguf")
    if not os.path.exists(bad):
        with open(bad, "wb") as f:
            f.write(b"GGUX" + bytes(40))
    p = gen("--vocab-from", bad, "-o", os.path.join(TMP, "never.gguf"), expect_rc=1)
    check("bad0.gguf" in p.stderr, f"--vocab-from bad file: {p.stderr.strip()!r}")
    check(not os.path.exists(os.path.join(TMP, "never.gguf")), "no output on error")


def main():
    have_fix = os.path.isdir(FIX)
    run("reader_errors", t_reader_errors)
    if have_fix and os.path.exists(os.path.join(FIX, "dequant-ref.json")):
        for fname in load_json("dequant-ref.json")["files"]:
            run(f"dequant {fname}", t_dequant_file, fname)
    else:
        run("dequant", lambda: fixture("dequant-ref.json"))
    for p in ("a", "b", "c"):
        run(f"forward fx.f32 {p}", t_forward_f32, p)
    run("forward_sensitive", t_forward_sensitive)
    if have_fix and os.path.exists(os.path.join(FIX, "llamacpp-ref.json")):
        for mname in load_json("llamacpp-ref.json")["models"]:
            if mname != "fx.f32":
                run(f"forward {mname}", t_forward_quant, mname)
    run("gen_small_f32", t_gen_small_f32)
    run("gen_small_f16_vocab_from", t_gen_small_f16_vocab_from)
    run("gen_shapes", t_gen_shapes)
    run("gen_errors", t_gen_errors)
    shutil.rmtree(TMP, ignore_errors=True)
    print(f"RESULT reference {passed} {failed} {skipped}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
