"""test_demo.py - the shipped demo model (models/pippa-demo, docs/QAT.md):
  * the three files load, with the layouts they claim (F16; Q4_0 + F16 embeddings twice);
  * `pippa run pippa-demo` on an empty store adds it on first use (only then) and streams
    English; the f16, qat and ptq tags work, unknown tags and a missing demo directory get
    one-line errors; list/show see the entry like any other;
  * the server adds it on first use too (/api/generate by name);
  * the QAT claim holds on held-out text: QAT Q4_0 is closer to F16 than PTQ Q4_0 (lower KLD,
    lower perplexity), and recovers a real share of the PTQ perplexity loss.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(ROOT)
BUILD = os.environ.get("BUILD", "build")
PIPPA = os.path.join(ROOT, BUILD, "pippa")
TMP = tempfile.mkdtemp(dir=os.environ.get("PIPPA_TEST_TMP"))
DEMO = os.path.join(ROOT, "models", "pippa-demo")
F16, QAT, PTQ = (os.path.join(DEMO, "pippa-demo-%s.gguf" % t) for t in ("f16", "qat-q4_0", "ptq-q4_0"))
ENV = dict(os.environ, HOME=os.path.join(TMP, "home"), PIPPA_MODELS=os.path.join(TMP, "store"),
           OLLAMA_MODELS=os.path.join(TMP, "no-ollama"))
ENV.pop("PIPPA_DEMO_DIR", None)
ENV.pop("OLLAMA_HOST", None)
os.makedirs(ENV["HOME"])

sys.path.insert(0, os.path.join(ROOT, "tests"))
from checks import Suite  # noqa: E402

S = Suite(__file__)
check = S.check


def run(*args, env=None):
    p = subprocess.run([PIPPA] + list(args), capture_output=True, text=True, env=env or ENV)
    return p.returncode, p.stdout, p.stderr


WORDS = {"the", "and", "of", "unto", "to", "he", "his", "in", "that", "said", "shall", "for", "be", "they",
         "them", "is", "with", "all", "not", "i", "lord", "god", "my", "you", "a", "king", "it", "was"}


def english(text):
    words = re.findall(r"[A-Za-z']+", text)
    known = sum(1 for w in words if w.lower() in WORDS)
    return len(words) >= 8 and known >= 0.2 * len(words), "%d words, %d common" % (len(words), known)


# ---- the files ----
for path, want in ((F16, "F16"), (QAT, "QAT layout"), (PTQ, "QAT layout")):
    rc, out, err = run("inspect", path)
    check("inspect %s: %s" % (os.path.basename(path), want), rc == 0 and want in out, (out + err)[-300:])
    check("%s is small enough to ship (%d bytes)" % (os.path.basename(path), os.path.getsize(path)),
          os.path.getsize(path) < 12 << 20)

# ---- first use from an empty store ----
prompt = "And the king said unto the prophet,"
rc, out, err = run("run", "pippa-demo", prompt, "-p", "seed=1", "-p", "num_predict=60")
check("run pippa-demo on an empty store", rc == 0, err[-300:])
check("first use adds it to the store", "first use of pippa-demo" in err, err[-300:])
ok, why = english(out)
check("pippa-demo speaks English", ok, why + ": " + out[:200])
rc, out2, err2 = run("run", "pippa-demo", prompt, "-p", "seed=1", "-p", "num_predict=60")
check("second run uses the store entry", rc == 0 and "first use" not in err2 and out2 == out, err2[-200:])
rc, out, err = run("list")
check("list shows pippa-demo:latest", rc == 0 and re.search(r"^pippa-demo:latest\s", out, re.M), out)
rc, out, err = run("show", "pippa-demo", "--modelfile")
check("show --modelfile has the demo's parameters and licence",
      rc == 0 and "num_ctx 256" in out and "public domain" in out.lower(), out[-400:])
for tag in ("f16", "ptq", "qat"):
    rc, out, err = run("run", "pippa-demo:" + tag, prompt, "-p", "seed=2", "-p", "num_predict=40")
    ok, why = english(out)
    check("pippa-demo:%s runs and speaks English" % tag, rc == 0 and ok, why + " " + err[-200:] + out[:200])
rc, out, err = run("run", "pippa-demo:q8", prompt)
check("unknown tag: one-line not found", rc != 0 and "not found" in err and err.strip().count("\n") == 0, err)
env = dict(ENV, PIPPA_MODELS=os.path.join(TMP, "store2"), PIPPA_DEMO_DIR=os.path.join(TMP, "nowhere"))
rc, out, err = run("run", "pippa-demo", prompt, env=env)
check("missing demo directory: one-line error naming it",
      rc != 0 and "nowhere/Modelfile.qat" in err and err.strip().count("\n") == 0, err)

# ---- the server adds it on first use ----
senv = dict(ENV, PIPPA_MODELS=os.path.join(TMP, "store3"), PIPPA_HOST="127.0.0.1:0")
logf = open(os.path.join(TMP, "serve.log"), "w")
srv = subprocess.Popen([PIPPA, "serve"], stdout=logf, stderr=logf, env=senv)
port = None
for _ in range(400):
    time.sleep(0.025)
    m = re.search(r"listening on 127\.0\.0\.1:(\d+)", open(os.path.join(TMP, "serve.log")).read())
    if m:
        port = int(m.group(1))
        break
try:
    body = json.dumps({"model": "pippa-demo:f16", "prompt": prompt, "stream": False,
                       "options": {"seed": 1, "num_predict": 40}}).encode()
    req = urllib.request.Request("http://127.0.0.1:%d/api/generate" % port, data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        j = json.loads(r.read())
    ok, why = english(j.get("response", ""))
    check("server: /api/generate pippa-demo:f16 on an empty store", ok and j.get("done") is True, why + str(j)[:300])
except Exception as e:  # noqa: BLE001
    check("server: /api/generate pippa-demo:f16 on an empty store", False, repr(e))
finally:
    srv.terminate()
    srv.wait(timeout=10)

# ---- QAT is closer to F16 than PTQ on held-out text ----
held = os.path.join(DEMO, "heldout.txt")
res = {}
for name, path in (("qat", QAT), ("ptq", PTQ)):
    rc, out, err = run("perplexity", path, "-f", held, "-c", "256", "--chunks", "64", "--kl-base", F16, "--json")
    if rc != 0:
        check("perplexity %s" % name, False, err[-300:])
        continue
    res[name] = json.loads(out)
if len(res) == 2:
    q, p = res["qat"]["kld"], res["ptq"]["kld"]
    kq, kp = q["mean_kld"][0], p["mean_kld"][0]
    check("QAT Q4_0 KLD vs F16 (%.5f) < 0.6 x PTQ Q4_0's (%.5f)" % (kq, kp), kq < 0.6 * kp)
    pf = q["ppl_base"][0]
    pq, pp = res["qat"]["ppl"], res["ptq"]["ppl"]
    rec = (pp - pq) / (pp - pf) if pp > pf else 0.0
    check("QAT recovers >= 30%% of the PTQ perplexity loss (F16 %.3f, PTQ %.3f, QAT %.3f: %.0f%%)"
          % (pf, pp, pq, 100 * rec), rec >= 0.3)
S.finish()
