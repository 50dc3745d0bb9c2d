"""test_compare.py - `pippa compare` on three fixture quantizations (fx.f32, fx.Q4_0,
fx.qat-q4_0): the text table's layout against tests/data/compare_fx.golden (timing, memory and
quality cells masked as '*'; labels, columns, weight types, sizes and KV bytes exact), the JSON
numbers (PPL against llama-perplexity's running value after the same chunks, KLD, resident
memory, answers), the HTML report (no URLs, no scripts, text escaped) rendered by headless
Chromium (5 SVG charts with 3 bars each, numbers present in the DOM) and bad inputs.
Chromium is optional: without /usr/bin/chromium those cases are skipped.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(ROOT)
BUILD = os.environ.get("BUILD", "build")
PIPPA = os.path.join(BUILD, "pippa")
GEN = os.path.join(BUILD, "pippa-gen")
FX = os.environ.get("PIPPA_FIXTURES", "../shared/fixtures")
TMP = tempfile.mkdtemp(dir=os.environ.get("PIPPA_TEST_TMP"))
CHROMIUM = "/usr/bin/chromium"
GOLDEN = "tests/data/compare_fx.golden"

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
    check(name + " exit %d" % code, rc == code, "exit %d, stderr %r" % (rc, err))
    check(name + " message", err.strip() == msg, "got %r, want %r" % (err.strip(), msg))


def finish():
    print("RESULT compare %d %d %d" % (passed, failed, skipped))
    sys.exit(1 if failed else 0)


err_is("one model", ["compare", "a.gguf"], 2, "pippa: compare: need at least two models\n"
       "usage: pippa compare A.gguf B.gguf [C.gguf ...] [-f TEXT] [-c CTX] [--chunks N] [--prompt P] [--seed S]\n"
       "       [-n NUM_PREDICT] [-t THREADS] [--kv f16|f32] [--html FILE] [--json]")
err_is("bad -c", ["compare", "a", "b", "-c", "x"], 2, "pippa: compare: -c: expected an integer in [4, 1048576], got 'x'")
err_is("bad --seed", ["compare", "a", "b", "--seed", "-5"], 2,
       "pippa: compare: --seed: expected an integer in [0, 2147483647], got '-5'")

if not os.path.isdir(FX):
    skip("fixtures", FX + " not found")
    finish()

F32, Q4, QAT = (os.path.join(FX, "fx.%s.gguf" % q) for q in ("f32", "Q4_0", "qat-q4_0"))
TEXT = os.path.join(FX, "ppl.txt")
REF = json.load(open(os.path.join(FX, "llama-ppl-ref.json")))["models"]

err_is("missing model", ["compare", F32, os.path.join(TMP, "none.gguf")], 1,
       "pippa: %s: cannot open: No such file or directory" % os.path.join(TMP, "none.gguf"))
err_is("missing text", ["compare", F32, Q4, "-f", os.path.join(TMP, "none.txt")], 1,
       "pippa: %s: No such file or directory" % os.path.join(TMP, "none.txt"))
small = os.path.join(TMP, "small.gguf")
subprocess.run([GEN, "--layers", "1", "--embd", "64", "--heads", "1", "--heads-kv", "1", "--head-dim", "64",
                "--ff", "128", "--vocab", "600", "-o", small], check=True, capture_output=True)
err_is("vocab mismatch", ["compare", F32, small, "-n", "1"], 1,
       "pippa: %s: vocab of 600 tokens does not match %s's 4096" % (small, F32))
err_is("ctx beyond training", ["compare", F32, Q4, "-f", TEXT, "-c", "4096", "-n", "1"], 1,
       "pippa: compare: -c 4096 exceeds %s's trained context length 2048" % F32)

short = os.path.join(TMP, "short.txt")
open(short, "w").write("Just a few words.")
rc, out, err = run("compare", F32, Q4, "-f", short, "-c", "128", "-n", "1")
check("short text exit 1", rc == 1, err)
check("short text message", err.strip() == "pippa: %s: 7 tokens, need at least 256 for a context of 128" % short, err)

PROMPT = 'Say <b>"hi"</b> & <script>alert(1)</script> \'ok\''
common = [F32, Q4, QAT, "-f", TEXT, "-c", "128", "--chunks", "4", "--kv", "f32", "-n", "8", "--seed", "7",
          "--prompt", PROMPT]
html = os.path.join(TMP, "report.html")

# ---- text table: layout against the golden file ----
rc, out, err = run("compare", *common, "--html", html)
check("text exit 0", rc == 0, err)
table = [l for l in out.split("\n") if l.startswith("|")]
VOLATILE = ("weights resident", "load time", "prefill tok/s", "decode tok/s", "PPL", "mean KLD", "KLD 99%",
            "RMS Δp")


def mask(line):
    cells = line.split("|")
    label = cells[1].strip()
    if label.startswith(VOLATILE):
        cells = cells[:2] + [" * " for c in cells[2:-1]] + cells[-1:]
    return "|".join(cells)


got = "\n".join(mask(l) for l in table) + "\n"
if os.environ.get("PIPPA_UPDATE_GOLDEN"):
    open(GOLDEN, "w").write(got)
want = open(GOLDEN).read()
check("table layout matches %s" % GOLDEN, got == want, "\n--- got ---\n%s--- want ---\n%s" % (got, want))
check("text: KLD note", "KLD, same top and Δp against fx.f32.gguf" in out, out)
check("text: resident note", "\nweights resident: Rss (/proc/self/smaps) of the file mapping after the runs, plus weights "
      "repacked at load\n" in out, out)
for name in ("fx.f32.gguf", "fx.Q4_0.gguf", "fx.qat-q4_0.gguf"):
    check("text: answer header " + name, "\n=== %s ===\n" % name in out)
check("text: prompt and seed", "prompt: " + PROMPT + "\nseed: 7, num_predict: 8" in out)

# ---- JSON numbers ----
rc, out, err = run("compare", *common, "--json")
check("json exit 0", rc == 0, err)
res = json.loads(out) if rc == 0 else {"models": []}
ms = res["models"]
check("json: three models in order", [m["model"] for m in ms] == ["fx.f32.gguf", "fx.Q4_0.gguf", "fx.qat-q4_0.gguf"])
check("json: chunks", res.get("n_chunks") == 4 and res.get("n_ctx") == 128)
for m, q, tol in zip(ms, ("fx.f32", "fx.Q4_0", "fx.qat-q4_0"), (0.001, 0.01, 0.01)):
    want = REF[q]["running_ppl_after_chunk"][3]
    check("%s PPL after 4 chunks %.1f vs llama.cpp %.1f" % (q, m["ppl"], want), abs(m["ppl"] - want) / want <= tol)
    check(q + " file size", m["file_bytes"] == os.path.getsize(os.path.join(FX, q + ".gguf")))
    check(q + " resident (smaps + packed)", m["resident_method"] == "smaps Rss" and
          m["resident_bytes"] == m["resident_mapped_bytes"] + m["resident_packed_bytes"] and
          0.5 * m["weight_bytes"] <= m["resident_bytes"] <= m["file_bytes"] + (1 << 20),
          "%s %d + %d of %d" % (m["resident_method"], m["resident_mapped_bytes"], m["resident_packed_bytes"],
                                m["weight_bytes"]))
    check(q + " KV bytes", 0 < m["kv_bytes_ctx"] < m["kv_bytes_train"] and m["n_ctx_train"] == 2048)
    check(q + " speeds", m["prefill_tok_s"] > 0 and m["decode_tok_s"] > 0 and m["load_ms"] >= 0)
    check(q + " answer: fx echoes the prompt's last token", m["answer"] == "\n" * 8, repr(m["answer"]))
check("first model has no KLD", ms and ms[0]["kld"] is None)
for m in ms[1:]:
    k = m["kld"]
    check(m["model"] + " KLD small, same top 100%", 0 < k["mean_kld"][0] < 1e-3 and k["same_top"][0] == 1.0, str(k))
    check(m["model"] + " KLD PPL(base) is the first's PPL", abs(k["ppl_base"][0] - ms[0]["ppl"]) / ms[0]["ppl"] < 1e-6)

# ---- the HTML page ----
page = open(html, encoding="utf-8").read() if os.path.exists(html) else ""
check("html written", len(page) > 1000)
check("html: no URLs", "http://" not in page and "https://" not in page)
check("html: no script element", "<script" not in page.lower())
check("html: prompt escaped", "Say &lt;b&gt;&quot;hi&quot;&lt;/b&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt; &#39;ok&#39;"
      in page)
check("html: 5 charts in the source", page.count("<svg") == 5 and page.count('<rect class="bar') == 15)

if not os.path.exists(CHROMIUM):
    skip("chromium render", CHROMIUM + " not installed (apt-get install chromium)")
    finish()


def chromium(*args):
    prof = tempfile.mkdtemp(dir=TMP)
    p = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--user-data-dir=" + prof] + list(args) + ["file://" + os.path.abspath(html)],
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout


rc, dom = chromium("--dump-dom")
check("chromium dump-dom", rc == 0 and "<html" in dom, "exit %d" % rc)
svgs = re.findall(r"<svg\b.*?</svg>", dom, re.S)
check("dom: 5 svg charts", len(svgs) == 5, str(len(svgs)))
check("dom: 3 bars per chart", [s.count('<rect class="bar') for s in svgs] == [3] * 5,
      str([s.count('<rect class="bar') for s in svgs]))
ids = re.findall(r'<figure class="chart" id="([^"]+)"', dom)
check("dom: chart ids", ids == ["chart-size", "chart-prefill", "chart-decode", "chart-ppl", "chart-kld"], str(ids))
check("dom: no script element", "<script" not in dom.lower())
check("dom: prompt is text", "&lt;script&gt;alert(1)&lt;/script&gt;" in dom)
check("dom: summary table", dom.count("<tr>") == 15, str(dom.count("<tr>")))
for s in ("27.12 MB", "4.19 MB", "5.43 MB", "27.12", "4.191", "5.428", "0 (reference)"):
    check("dom: number '%s'" % s, s in dom)
for m in ms[1:]:
    check("dom: KLD of %s" % m["model"], ("%.6f" % m["kld"]["mean_kld"][0]) in dom)
check("dom: 3 answers", dom.count('<section class="answer">') == 3)
png = os.path.join(TMP, "shot.png")
rc, _ = chromium("--screenshot=" + png, "--window-size=1200,1400")
check("screenshot", rc == 0 and os.path.exists(png) and os.path.getsize(png) > 10000)
finish()
