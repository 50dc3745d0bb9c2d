#!/usr/bin/python3
"""test_server.py - starts the real `pippa serve` on a free 127.0.0.1 port with generated
tiny models and speaks HTTP to it: every endpoint streaming and not, load/unload and
keep_alive, prefix reuse, 8 concurrent clients with distinct seeds (same output as alone),
a client disconnecting mid-stream, malformed requests with their exact error texts, CORS
and the Host guard, the queue limit (503), `pippa ps`/`pippa stop`, the official npm
clients (ollama 0.6.x, openai 6.x; SKIP without registry access) and a clean SIGTERM
shutdown (under ASan: no leak reports). Prints RESULT server <pass> <fail> <skip>."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", "build")
PIPPA = os.path.join(ROOT, BUILD, "pippa")
GEN = os.path.join(ROOT, BUILD, "pippa-gen")
ASAN = "asan" in BUILD
TMP = tempfile.mkdtemp(prefix="srv.", dir=os.environ.get("PIPPA_TEST_TMP"))
N_PASS = N_FAIL = N_SKIP = 0


def ok(name):
    global N_PASS
    N_PASS += 1
    print("ok   " + name)


def bad(name, why):
    global N_FAIL
    N_FAIL += 1
    print("FAIL %s: %s" % (name, why))


def skip(name, why):
    global N_SKIP
    N_SKIP += 1
    print("SKIP %s: %s" % (name, why))


def check(name, cond, why=""):
    (ok if cond else lambda n: bad(n, why))(name)
    return cond


class Server:
    def __init__(self, env_extra=None, args=()):
        self.log = os.path.join(TMP, "server%d.log" % id(self))
        env = dict(os.environ)
        env.update({"PIPPA_HOST": "127.0.0.1:0", "PIPPA_LOG": "info", "PIPPA_GGUF_DIR": MODELS,
                    "PIPPA_MODELS": STORE, "OLLAMA_MODELS": os.path.join(TMP, "no-ollama-store")})
        env.pop("OLLAMA_HOST", None)
        if env_extra:
            env.update(env_extra)
        self.env = env
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen([PIPPA, "serve"] + list(args), stdout=self.logf, stderr=self.logf, env=env)
        self.port = None
        for _ in range(400):
            time.sleep(0.025)
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.text())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                break
        if not self.port:
            raise RuntimeError("server did not start: " + self.text())
        self.base = "http://127.0.0.1:%d" % self.port

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def stop(self, timeout=30):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = "timeout"
        self.logf.close()
        return rc


def req(srv, method, path, body=None, headers=None, raw=None, timeout=120):
    """Returns (status, headers, bytes)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    r = urllib.request.Request(srv.base + path, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(r, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def jreq(srv, method, path, body=None, **kw):
    st, h, b = req(srv, method, path, body, **kw)
    try:
        return st, json.loads(b) if b else None
    except ValueError:
        return st, b


def ndjson(b):
    return [json.loads(l) for l in b.decode().splitlines() if l.strip()]


def sse(b):
    out = []
    for ev in b.decode().split("\n\n"):
        ev = ev.strip()
        if not ev:
            continue
        assert ev.startswith("data: "), ev
        out.append(ev[6:] if ev[6:] == "[DONE]" else json.loads(ev[6:]))
    return out


def gen_opts(seed, n=8, **extra):
    o = {"num_predict": n, "seed": seed, "temperature": 1.5}
    o.update(extra)
    return o


# ---------------------------------------------------------------------------------------
def test_basics(s):
    st, h, b = req(s, "GET", "/")
    check("GET / text", st == 200 and b == b"Ollama is running", (st, b))
    st, h, b = req(s, "HEAD", "/")
    check("HEAD / 200 no body", st == 200 and b == b"", (st, b))
    st, v = jreq(s, "GET", "/api/version")
    check("version numeric", st == 200 and re.match(r"^\d+\.\d+\.\d+$", v["version"]), v)
    st, t = jreq(s, "GET", "/api/tags")
    names = sorted(m["name"] for m in t["models"])
    check("tags names tagged", names == ["rnd:latest", "rnd:v2"], names)
    m = [m for m in t["models"] if m["name"] == "rnd:latest"][0]
    check("tags fields", m["model"] == "rnd:latest" and m["size"] == os.path.getsize(os.path.join(MODELS, "rnd.gguf"))
          and re.match(r"^[0-9a-f]{64}$", m["digest"]) and m["details"]["family"] == "gemma3"
          and m["details"]["format"] == "gguf" and m["details"]["quantization_level"] == "F32"
          and m["modified_at"].endswith("Z"), m)
    st, sh = jreq(s, "POST", "/api/show", {"model": "rnd"})
    check("show model_info", st == 200 and sh["model_info"]["general.architecture"] == "gemma3"
          and sh["model_info"]["gemma3.context_length"] > 0 and sh["capabilities"] == ["completion"], sh)
    st, sh = jreq(s, "POST", "/api/show", {"model": "RND:V2"})
    check("show case-insensitive tag + sidecar", st == 200 and sh["system"] == "You are terse."
          and "temperature" in sh["parameters"], sh)
    st, e = jreq(s, "POST", "/api/show", {"model": "nope"})
    check("show unknown 404", st == 404 and e == {"error": "model 'nope' not found"}, (st, e))
    st, mo = jreq(s, "GET", "/v1/models")
    check("v1 models", st == 200 and mo["object"] == "list" and
          sorted(d["id"] for d in mo["data"]) == ["rnd:latest", "rnd:v2"] and mo["data"][0]["object"] == "model", mo)
    st, mo = jreq(s, "GET", "/v1/models/rnd")
    check("v1 models one", st == 200 and mo["id"] == "rnd:latest", mo)
    st, h, b = req(s, "GET", "/nothing")
    check("unknown path 404", st == 404, st)


def test_generate(s):
    body = {"model": "rnd", "prompt": "Hello there", "stream": False, "options": gen_opts(7)}
    st, r1 = jreq(s, "POST", "/api/generate", body)
    check("generate non-stream", st == 200 and r1["done"] and r1["done_reason"] == "length" and r1["eval_count"] == 8
          and r1["response"] and isinstance(r1["context"], list) and r1["prompt_eval_count"] > 0, r1)
    for k in ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration"):
        if k == "load_duration" and k not in r1:
            continue  # omitted when zero (model already loaded)
        check("generate %s is ns int" % k, isinstance(r1.get(k), int) and r1[k] > 0, r1.get(k))
    check("created_at RFC3339", re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", r1["created_at"]), r1["created_at"])
    body["stream"] = True
    st, h, b = req(s, "POST", "/api/generate", body)
    lines = ndjson(b)
    check("generate stream content-type", h.get("Content-Type", "").startswith("application/x-ndjson"), h)
    check("generate stream chunks", len(lines) >= 2 and all(not l["done"] for l in lines[:-1]) and lines[-1]["done"], lines)
    text = "".join(l["response"] for l in lines)
    check("stream text == non-stream text (same seed)", text == r1["response"], (text, r1["response"]))
    check("stream final stats", lines[-1]["eval_count"] == 8 and lines[-1]["context"] == r1["context"], lines[-1])
    del body["stream"]  # default is streaming
    st, h, b = req(s, "POST", "/api/generate", body)
    check("stream is the default", len(ndjson(b)) > 1, b[:200])
    # context: the follow-up starts from the previous exchange
    st, r2 = jreq(s, "POST", "/api/generate", {"model": "rnd", "prompt": "More", "stream": False,
                                               "context": r1["context"], "options": gen_opts(3)})
    check("generate with context", st == 200 and r2["context"][:len(r1["context"])] == r1["context"]
          and len(r2["context"]) > len(r1["context"]), r2.get("context"))
    st, e = jreq(s, "POST", "/api/generate", {"model": "rnd", "prompt": "x", "context": [1, -5], "stream": False})
    check("context bad id", st == 400 and e["error"] == "field 'context[1]': expected token id, got integer", e)
    # raw: no template, no context in the reply
    st, rr = jreq(s, "POST", "/api/generate", {"model": "rnd", "prompt": "<start_of_turn>user\nHi<end_of_turn>\n",
                                               "raw": True, "stream": False, "options": gen_opts(1, 4)})
    check("raw generate", st == 200 and rr["eval_count"] == 4 and "context" not in rr, rr)
    st, e = jreq(s, "POST", "/api/generate", {"model": "rnd", "prompt": "x", "raw": True, "system": "s"})
    check("raw + system 400", st == 400 and e == {"error": "raw mode does not support template, system, or context"}, e)
    st, e = jreq(s, "POST", "/api/generate", {"model": "rnd", "prompt": "x", "think": True})
    check("think 400", st == 400 and e == {"error": "\"rnd\" does not support thinking"}, e)
    st, rt = jreq(s, "POST", "/api/generate", {"model": "rnd", "prompt": "Hello there", "stream": False,
                                               "template": "{{ .Prompt }}", "options": gen_opts(7)})
    check("custom template ignored (native rendering)", st == 200 and rt["response"] == r1["response"], rt)
    check("custom template warning logged", "custom template ignored" in s.text(), "")
    # stop sequence
    st, rs = jreq(s, "POST", "/api/generate", {"model": "rnd", "prompt": "Hello there", "stream": False,
                                               "options": gen_opts(7, stop=[r1["response"][2:4]])})
    check("stop option", st == 200 and rs["done_reason"] == "stop" and len(rs["response"]) < len(r1["response"]), rs)


def test_chat(s):
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Tell me a story"}]
    st, c1 = jreq(s, "POST", "/api/chat", {"model": "rnd", "messages": msgs, "stream": False, "options": gen_opts(11, 10)})
    check("chat non-stream", st == 200 and c1["message"]["role"] == "assistant" and c1["message"]["content"]
          and c1["done_reason"] == "length" and c1["eval_count"] == 10 and "context" not in c1, c1)
    st, h, b = req(s, "POST", "/api/chat", {"model": "rnd", "messages": msgs, "options": gen_opts(11, 10)})
    lines = ndjson(b)
    text = "".join(l["message"]["content"] for l in lines)
    check("chat stream == non-stream", text == c1["message"]["content"] and lines[-1]["done"], (text, c1))
    # follow-up reuses the cached prefix: only the new turn is evaluated
    msgs2 = msgs + [c1["message"], {"role": "user", "content": "And then?"}]
    st, c2 = jreq(s, "POST", "/api/chat", {"model": "rnd", "messages": msgs2, "stream": False, "options": gen_opts(12, 4)})
    m = re.findall(r"rnd:latest: prompt (\d+) tokens \((\d+) evaluated\)", s.text())
    check("follow-up chat ok", st == 200 and c2["prompt_eval_count"] > c1["prompt_eval_count"], c2)
    # (the reply is re-tokenized from its text, so the first turn's prompt at least is reused)
    check("follow-up reuses the first turn's prompt",
          m and int(m[-1][0]) == c2["prompt_eval_count"] and
          int(m[-1][1]) <= c2["prompt_eval_count"] - c1["prompt_eval_count"], m[-2:] if m else m)
    # the same seeded follow-up on a cold server answers the same (issue 21: the cached reply's
    # ids used to replace its text in the prompt)
    opts = dict(gen_opts(12, 16), temperature=0.8)
    st, w = jreq(s, "POST", "/api/chat", {"model": "rnd", "messages": msgs2, "stream": False, "options": opts})
    cold = Server()
    try:
        st2, c = jreq(cold, "POST", "/api/chat", {"model": "rnd", "messages": msgs2, "stream": False, "options": opts})
    finally:
        cold.stop(30)
    check("seeded follow-up: cold server = warm server", st == st2 == 200 and
          c["message"]["content"] == w["message"]["content"], (w, c))
    st, e = jreq(s, "POST", "/api/chat", {"model": "rnd", "messages": [{"role": "tool", "content": "x"}]})
    check("chat bad role", st == 400 and "messages[0].role" in e["error"], e)
    st, e = jreq(s, "POST", "/api/chat", {"model": "rnd", "messages": [{"role": "user", "content": "x"}],
                                          "tools": [{"type": "function", "function": {"name": "f"}}]})
    check("chat tools 400", st == 400 and e["error"] == "registry.ollama.ai/library/rnd:latest does not support tools", e)
    st, e = jreq(s, "POST", "/api/chat", {"model": "rnd", "messages": [{"role": "user", "content": 5}]})
    check("chat content type", st == 400 and e["error"] == "field 'messages[0].content': expected string, got integer", e)


def ps_names(s):
    st, p = jreq(s, "GET", "/api/ps")
    return {m["name"]: m for m in p["models"]}


def test_load_unload(s):
    loads_before = s.text().count("loading model rnd:latest")
    # sampler-only changes never reload; num_ctx does rebuild the context
    for t in (0.1, 0.9, 1.7):
        jreq(s, "POST", "/api/generate", {"model": "rnd", "prompt": "a", "stream": False,
                                          "options": {"temperature": t, "num_predict": 2, "top_k": 5}})
    check("sampling options: no reload", s.text().count("loading model rnd:latest") == loads_before,
          s.text().count("loading model rnd:latest"))
    jreq(s, "POST", "/api/generate", {"model": "rnd", "prompt": "a", "stream": False, "options": {"num_ctx": 512, "num_predict": 1}})
    check("num_ctx change rebuilds the context", ps_names(s)["rnd:latest"]["context_length"] == 512, ps_names(s))
    jreq(s, "POST", "/api/generate", {"model": "rnd", "prompt": "a", "stream": False, "options": {"num_predict": 1}})
    p = ps_names(s)["rnd:latest"]
    check("ps fields", p["size"] > 0 and p["size_vram"] == 0 and p["expires_at"].endswith("Z") and
          re.match(r"^[0-9a-f]{64}$", p["digest"]) and p["details"]["family"] == "gemma3", p)
    # unload via empty prompt + keep_alive 0
    st, u = jreq(s, "POST", "/api/generate", {"model": "rnd", "keep_alive": 0})
    check("unload reply", st == 200 and u["done"] and u["done_reason"] == "unload" and u["response"] == "", u)
    check("unloaded from ps", "rnd:latest" not in ps_names(s), ps_names(s))
    st, l = jreq(s, "POST", "/api/generate", {"model": "rnd", "stream": False})
    check("preload reply", st == 200 and l["done_reason"] == "load", l)
    check("preloaded in ps", "rnd:latest" in ps_names(s), ps_names(s))
    st, l = jreq(s, "POST", "/api/chat", {"model": "rnd:v2", "messages": [], "keep_alive": -1})
    check("chat preload", st == 200 and l["done_reason"] == "load" and l["message"]["content"] == "", l)
    exp = ps_names(s)["rnd:v2"]["expires_at"]
    check("keep_alive -1: forever", int(exp[:4]) > 2100, exp)
    out = subprocess.run([PIPPA, "ps"], env=dict(os.environ, OLLAMA_HOST="127.0.0.1:%d" % s.port),
                         capture_output=True, text=True)
    check("pippa ps", out.returncode == 0 and out.stdout.startswith("NAME") and "rnd:v2" in out.stdout
          and "Forever" in out.stdout, out.stdout + out.stderr)
    out = subprocess.run([PIPPA, "stop", "rnd:v2"], env=dict(os.environ, OLLAMA_HOST="127.0.0.1:%d" % s.port),
                         capture_output=True, text=True)
    check("pippa stop", out.returncode == 0 and "rnd:v2" not in ps_names(s), out.stderr)
    out = subprocess.run([PIPPA, "stop", "nope"], env=dict(os.environ, OLLAMA_HOST="127.0.0.1:%d" % s.port),
                         capture_output=True, text=True)
    check("pippa stop unknown", out.returncode == 1 and out.stderr.strip() == "pippa: stop: model 'nope' not found",
          out.stderr)
    # keep_alive 0 on a real request: unloaded after it
    st, r = jreq(s, "POST", "/api/generate", {"model": "rnd", "prompt": "a", "stream": False, "keep_alive": "0s",
                                              "options": {"num_predict": 1}})
    time.sleep(0.3)
    check("keep_alive 0 unloads after the request", st == 200 and "rnd:latest" not in ps_names(s), ps_names(s))
    st, r = jreq(s, "POST", "/api/generate", {"model": "rnd", "prompt": "a", "stream": False, "keep_alive": "1s",
                                              "options": {"num_predict": 1}})
    time.sleep(2.2)
    check("keep_alive 1s expires", "rnd:latest" not in ps_names(s), ps_names(s))
    st, e = jreq(s, "POST", "/api/generate", {"model": "rnd", "prompt": "a", "keep_alive": "soon"})
    check("bad keep_alive", st == 400 and e["error"] == "field 'keep_alive': bad duration 'soon'", e)


def test_openai(s):
    body = {"model": "rnd", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 6, "seed": 5,
            "temperature": 1.5}
    st, c = jreq(s, "POST", "/v1/chat/completions", body)
    check("oai chat", st == 200 and c["object"] == "chat.completion" and c["id"].startswith("chatcmpl-")
          and c["choices"][0]["message"]["role"] == "assistant" and c["choices"][0]["finish_reason"] == "length"
          and c["usage"]["completion_tokens"] == 6 and c["usage"]["total_tokens"] == c["usage"]["prompt_tokens"] + 6
          and c["system_fingerprint"] == "fp_ollama", c)
    body.update(stream=True, stream_options={"include_usage": True})
    st, h, b = req(s, "POST", "/v1/chat/completions", body)
    ev = sse(b)
    check("oai chat stream content-type", h.get("Content-Type", "").startswith("text/event-stream"), h)
    check("oai chat stream [DONE]", ev[-1] == "[DONE]" and ev[-2]["choices"] == [] and ev[-2]["usage"]["completion_tokens"] == 6
          and ev[-3]["choices"][0]["finish_reason"] == "length", ev[-3:])
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in ev[:-2])
    check("oai stream text == non-stream", text == c["choices"][0]["message"]["content"], (text, c))
    body["stream_options"] = {"include_usage": False}
    ev = sse(req(s, "POST", "/v1/chat/completions", body)[2])
    check("oai stream without usage", all("usage" not in e for e in ev[:-1]), ev[-2:])
    st, c = jreq(s, "POST", "/v1/completions", {"model": "rnd", "prompt": "Once", "max_tokens": 5, "seed": 2})
    check("oai completion", st == 200 and c["object"] == "text_completion" and c["id"].startswith("cmpl-")
          and c["choices"][0]["text"] and c["usage"]["completion_tokens"] == 5, c)
    ev = sse(req(s, "POST", "/v1/completions", {"model": "rnd", "prompt": "Once", "max_tokens": 5, "seed": 2,
                                                "stream": True})[2])
    check("oai completion stream", ev[-1] == "[DONE]" and
          "".join(e["choices"][0]["text"] for e in ev[:-1]) == c["choices"][0]["text"], ev)
    st, e = jreq(s, "POST", "/v1/chat/completions", {"model": "nope", "messages": [{"role": "user", "content": "x"}]})
    check("oai 404 error shape", st == 404 and e == {"error": {"message": "model 'nope' not found", "type": "not_found_error",
                                                               "param": None, "code": None}}, e)
    st, e = jreq(s, "POST", "/v1/chat/completions", {"model": "rnd", "messages": [{"role": "user", "content": "x"}],
                                                     "temperature": "hot"})
    check("oai bad type", st == 400 and e["error"]["message"] == "field 'temperature': expected number, got string"
          and e["error"]["type"] == "invalid_request_error", e)
    st, c = jreq(s, "POST", "/v1/chat/completions", {"model": "rnd", "max_tokens": 2, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]}]})
    check("oai content parts", st == 200 and c["usage"]["completion_tokens"] == 2, c)


def test_errors(s):
    def err(name, method, path, status, text, **kw):
        st, h, b = req(s, method, path, **kw)
        try:
            e = json.loads(b)["error"]
        except Exception:
            e = b
        check(name, st == status and (e == text if isinstance(text, str) else text(e)), (st, e))
    err("missing body", "POST", "/api/generate", 400, "missing request body")
    err("bad JSON", "POST", "/api/generate", 400, lambda e: e.startswith("request body: invalid JSON at line 1"), raw=b"{nope")
    err("not an object", "POST", "/api/chat", 400, "request body: expected a JSON object, got array", raw=b"[1]")
    err("deep nesting", "POST", "/api/generate", 400, "request body: JSON nested deeper than 64 levels",
        raw=b'{"a":' + b"[" * 100 + b"]" * 100 + b"}")
    err("nesting at the limit passes parsing", "POST", "/api/generate", 400, "model is required",
        raw=b'{"a":' + b"[" * 63 + b"]" * 63 + b"}")
    err("huge body 413", "POST", "/api/generate", 413, "request body too large (limit 16777216 bytes)",
        raw=b'{"prompt":"' + b"x" * (17 << 20) + b'"}')
    err("wrong type stream", "POST", "/api/generate", 400, "field 'stream': expected boolean, got string",
        body={"model": "rnd", "prompt": "x", "stream": "yes"})
    err("wrong type prompt", "POST", "/api/generate", 400, "field 'prompt': expected string, got integer",
        body={"model": "rnd", "prompt": 5})
    err("unknown model", "POST", "/api/generate", 404, "model 'nope' not found", body={"model": "nope", "prompt": "x"})
    err("path as name", "POST", "/api/generate", 400, "invalid model name '../../etc/passwd'",
        body={"model": "../../etc/passwd", "prompt": "x"})
    err("namespaced name absent", "POST", "/api/generate", 404, "model 'hf.co/user/repo:Q4_K_M' not found",
        body={"model": "hf.co/user/repo:Q4_K_M", "prompt": "x"})
    err("absolute path as name", "POST", "/api/chat", 400, lambda e: e.startswith("invalid model name"),
        body={"model": MODELS + "/rnd.gguf", "messages": []})
    err("option type int", "POST", "/api/generate", 400, 'option "top_k" must be of type integer',
        body={"model": "rnd", "prompt": "x", "options": {"top_k": "x"}})
    err("option type float", "POST", "/api/chat", 400, 'option "temperature" must be of type float32',
        body={"model": "rnd", "messages": [], "options": {"temperature": "hot"}})
    err("option type stop", "POST", "/api/generate", 400, 'option "stop" must be of type array',
        body={"model": "rnd", "prompt": "x", "options": {"stop": "x"}})
    err("option range", "POST", "/api/generate", 400, "option 'top_p': 1.5 is outside [0, 1]",
        body={"model": "rnd", "prompt": "x", "options": {"top_p": 1.5}})
    err("options not object", "POST", "/api/generate", 400, "field 'options': expected object, got array",
        body={"model": "rnd", "prompt": "x", "options": [1]})
    st, r = jreq(s, "POST", "/api/generate", {"model": "rnd", "prompt": "x", "stream": False,
                                              "options": {"num_predict": 1, "colour": "red", "mirostat": 1}})
    check("unknown options ignored", st == 200 and "invalid option provided: colour" in s.text(), r)
    err("duplicate key", "POST", "/api/generate", 400, lambda e: "duplicate" in e,
        raw=b'{"model":"rnd","model":"x"}')
    err("wrong method", "GET", "/api/generate", 405, "method GET not allowed on /api/generate")
    junk = os.path.join(MODELS, "broken.gguf")
    with open(junk, "wb") as f:
        f.write(b"GGUF" + b"\xff" * 60)
    for i in range(2):  # a failed load leaves nothing behind: the retry fails the same way
        err("load failure %d" % i, "POST", "/api/generate", 500, lambda e: e.startswith("broken.gguf: "),
            body={"model": "broken", "prompt": "x"})
    os.unlink(junk)
    err("top_logprobs", "POST", "/api/generate", 400, "top_logprobs must be between 0 and 20",
        body={"model": "rnd", "prompt": "x", "top_logprobs": 50})


def test_cors_host(s):
    st, h, b = req(s, "OPTIONS", "/api/chat", headers={"Origin": "http://localhost:5173",
                                                       "Access-Control-Request-Method": "POST"})
    check("preflight allowed", st == 204 and h.get("Access-Control-Allow-Origin") == "http://localhost:5173"
          and "x-stainless-os" in h.get("Access-Control-Allow-Headers", "").lower(), (st, h))
    st, h, b = req(s, "GET", "/api/tags", headers={"Origin": "app://obsidian.md"})
    check("app:// origin allowed", st == 200 and h.get("Access-Control-Allow-Origin") == "app://obsidian.md", h)
    st, h, b = req(s, "GET", "/api/tags", headers={"Origin": "http://evil.example"})
    check("foreign origin refused", st == 403 and json.loads(b)["error"] == "origin 'http://evil.example' not allowed", b)
    st, h, b = req(s, "GET", "/api/tags", headers={"Origin": "http://allowed.example"})
    check("PIPPA_ORIGINS allows", st == 200, st)
    st, h, b = req(s, "GET", "/api/tags", headers={"Host": "evil.example:11434"})
    check("Host guard", st == 403 and json.loads(b)["error"] == "host not allowed", (st, b))
    st, h, b = req(s, "GET", "/api/tags", headers={"Host": "localhost:11434"})
    check("Host localhost ok", st == 200, st)


def test_manage(s):
    """copy/delete/create/pull go to the model store ($PIPPA_MODELS); pull from a local
    registry (tests/registry/registry.py) built from a model we created."""
    st, h, b = req(s, "POST", "/api/create", {"model": "mine", "from": "rnd", "system": "Pirate.",
                                              "parameters": {"temperature": 0.5, "stop": ["<end_of_turn>"]},
                                              "license": "MIT"})
    lines = ndjson(b)
    check("create stream", st == 200 and lines[-1] == {"status": "success"} and
          any(l["status"] == "writing manifest" for l in lines), lines)
    st, sh = jreq(s, "POST", "/api/show", {"model": "mine"})
    check("created model shows", st == 200 and sh["system"] == "Pirate." and "0.5" in sh["parameters"]
          and '"<end_of_turn>"' in sh["parameters"] and sh["license"] == "MIT"
          and sh["details"]["family"] == "gemma3", sh)
    # /api/show's modelfile: every value quoted, so `pippa create -f` of it makes the same model
    # and a stop value with a newline cannot add a SYSTEM line (issue 21)
    st, h, b = req(s, "POST", "/api/create", {"model": "inj", "from": "rnd", "system": 'say "hi"\nbye """ ',
                                              "parameters": {"stop": ["a\nSYSTEM injected by a parameter value",
                                                                      " spaced ", "q\\\""]},
                                              "stream": False})
    st, sh = jreq(s, "POST", "/api/show", {"model": "inj"})
    mf_path = os.path.join(TMP, "inj.Modelfile")
    with open(mf_path, "w") as f:
        f.write(sh.get("modelfile", ""))
    cr = subprocess.run([PIPPA, "create", "inj2", "-f", mf_path], capture_output=True, text=True, env=s.env)
    st2, sh2 = jreq(s, "POST", "/api/show", {"model": "inj2"})
    check("show modelfile quotes a stop value with a newline",
          'PARAMETER stop "a\nSYSTEM injected by a parameter value"\n' in sh.get("modelfile", ""), sh)
    check("create -f (show modelfile) makes the same model", cr.returncode == 0 and st2 == 200 and
          sh2["system"] == sh["system"] and sh2["parameters"] == sh["parameters"] and
          sh2["modelfile"].split("\n")[3:] == sh["modelfile"].split("\n")[3:], (cr.stderr, sh, sh2))
    st, t = jreq(s, "GET", "/api/tags")
    dg = {m["name"]: m["digest"] for m in t["models"]}
    check("re-created from show's modelfile: same digest", dg.get("inj:latest") == dg.get("inj2:latest") != None, dg)
    for n in ("inj", "inj2"):
        jreq(s, "DELETE", "/api/delete", {"model": n})
    st, t = jreq(s, "GET", "/api/tags")
    mine = [m for m in t["models"] if m["name"] == "mine:latest"]
    check("created model listed", len(mine) == 1 and re.match(r"^[0-9a-f]{64}$", mine[0]["digest"])
          and mine[0]["details"]["parameter_size"], mine)
    st, g = jreq(s, "POST", "/api/chat", {"model": "mine", "messages": [{"role": "user", "content": "hi"}],
                                          "stream": False, "options": {"num_predict": 3}})
    check("store model generates", st == 200 and g["eval_count"] <= 3 and g["model"] == "mine:latest", g)
    st, e = jreq(s, "POST", "/api/create", {"model": "bad", "from": "rnd", "parameters": {"top_k": "x"}})
    check("create bad parameter", st == 400 and e["error"] == 'option "top_k" must be of type integer', e)
    st, e = jreq(s, "POST", "/api/create", {"model": "bad", "from": "/etc/passwd"})
    check("create from a path refused", st == 400 and e["error"].startswith("invalid model name"), e)
    st, e = jreq(s, "POST", "/api/create", {"model": "bad", "files": {"x.gguf": "sha256:" + "0" * 64}})
    check("create from a missing blob", st == 400 and "not found (upload it first)" in e["error"], e)
    st, e = jreq(s, "POST", "/api/create", {"model": "bad", "from": "nope"})
    check("create from unknown", st == 404 and e["error"] == "model 'nope' not found", e)
    st, e = jreq(s, "POST", "/api/create", {"model": "../x", "from": "rnd"})
    check("create bad name", st == 400 and "invalid model name" in e["error"], e)
    st, h, b = req(s, "POST", "/api/copy", {"source": "mine", "destination": "mine-copy"})
    check("copy", st == 200 and "mine-copy:latest" in [m["name"] for m in jreq(s, "GET", "/api/tags")[1]["models"]],
          (st, b))
    st, e = jreq(s, "POST", "/api/copy", {"source": "nope", "destination": "x"})
    check("copy missing 404", st == 404 and "not found" in e["error"], e)
    st, e = jreq(s, "POST", "/api/copy", {"source": "mine", "destination": "../x"})
    check("copy bad destination", st == 400 and "invalid model name" in e["error"], e)
    st, h, b = req(s, "DELETE", "/api/delete", {"model": "mine-copy"})
    check("delete", st == 200 and "mine-copy:latest" not in [m["name"] for m in jreq(s, "GET", "/api/tags")[1]["models"]],
          (st, b))
    st, e = jreq(s, "DELETE", "/api/delete", {"model": "mine-copy"})
    check("delete missing 404", st == 404 and "not found" in e["error"], e)
    # blob upload (bigger than the 16 MiB JSON body limit) + create from files
    import hashlib
    other = os.path.join(TMP, "other.gguf")  # not in the store yet; 27 MB > the JSON body limit
    subprocess.run([GEN, "--shape", "fx", "--untied", "--std", "0.4", "-o", other], check=True,
                   capture_output=True)
    data = open(other, "rb").read()
    dg = "sha256:" + hashlib.sha256(data).hexdigest()
    st, h, b = req(s, "HEAD", "/api/blobs/" + dg)
    check("blob HEAD before upload 404", st == 404, st)
    st, e = jreq(s, "POST", "/api/blobs/sha256:" + "0" * 64, raw=data[:1000])
    check("blob digest mismatch", st == 400 and e["error"] == 'digest mismatch, expected "sha256:%s", got "sha256:%s"'
          % ("0" * 64, hashlib.sha256(data[:1000]).hexdigest()), e)
    st, e = jreq(s, "POST", "/api/blobs/md5:abc", raw=b"x")
    check("blob bad digest", st == 400 and e["error"].startswith("invalid digest 'md5:abc'"), e)
    st, h, b = req(s, "POST", "/api/blobs/" + dg, raw=data)
    check("blob upload 201", st == 201, (st, b))
    st, h, b = req(s, "HEAD", "/api/blobs/" + dg)
    check("blob HEAD after upload 200", st == 200, st)
    check("no upload temp files left", not [f for f in os.listdir(os.path.join(STORE, "blobs")) if "upload" in f],
          os.listdir(os.path.join(STORE, "blobs")))
    st, h, b = req(s, "POST", "/api/create", {"model": "up", "files": {"other.gguf": dg}, "stream": False})
    check("create from files", st == 200 and json.loads(b) == {"status": "success"}, b)
    st, g = jreq(s, "POST", "/api/generate", {"model": "up", "prompt": "hi", "stream": False, "options": {"num_predict": 2}})
    check("uploaded model generates", st == 200 and g["model"] == "up:latest", g)
    req(s, "POST", "/api/generate", {"model": "up", "keep_alive": 0})
    req(s, "DELETE", "/api/delete", {"model": "up"})
    # pull: a registry serving "library/mine:latest", after mine is deleted locally
    reg = os.path.join(TMP, "registry")
    man = os.path.join(STORE, "manifests", "registry.ollama.ai", "library", "mine", "latest")
    os.makedirs(os.path.join(reg, "manifests", "library", "mine"))
    shutil.copy(man, os.path.join(reg, "manifests", "library", "mine", "latest"))
    shutil.copytree(os.path.join(STORE, "blobs"), os.path.join(reg, "blobs"))
    jreq(s, "DELETE", "/api/delete", {"model": "mine"})
    check("blobs pruned after delete", not os.listdir(os.path.join(STORE, "blobs")) or
          len(os.listdir(os.path.join(STORE, "blobs"))) < len(os.listdir(os.path.join(reg, "blobs"))), "")
    portf = os.path.join(TMP, "regport")
    regp = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "registry", "registry.py"), "--root", reg,
                             "--port-file", portf, "--log", os.path.join(TMP, "reglog")])
    try:
        for _ in range(200):
            if os.path.exists(portf) and open(portf).read().strip():
                break
            time.sleep(0.02)
        port = int(open(portf).read().strip())
        name = "http://127.0.0.1:%d/library/mine:latest" % port
        st, e = jreq(s, "POST", "/api/pull", {"model": name, "stream": False})
        check("pull over http needs insecure", st != 200 and "error" in e, (st, e))
        st, h, b = req(s, "POST", "/api/pull", {"model": name, "insecure": True})
        lines = ndjson(b)
        prog = [l for l in lines if "completed" in l]
        check("pull stream", st == 200 and lines[0] == {"status": "pulling manifest"} and lines[-1] == {"status": "success"}
              and any(l["status"] == "verifying sha256 digest" for l in lines), lines)
        check("pull progress lines", prog and all(l["status"] == "pulling " + l["digest"][7:19] and l["total"] > 0
                                                  for l in prog) and any(l["completed"] == l["total"] for l in prog), prog)
        pulled = "127.0.0.1:%d/library/mine:latest" % port
        st, g = jreq(s, "POST", "/api/generate", {"model": pulled, "prompt": "hi", "stream": False,
                                                  "options": {"num_predict": 2}})
        check("pulled model generates", st == 200 and g["model"] == pulled, g)
        st, p = jreq(s, "POST", "/api/pull", {"model": name, "insecure": True, "stream": False})
        check("pull non-stream", st == 200 and p == {"status": "success"}, p)
        st, e = jreq(s, "POST", "/api/pull", {"model": "http://127.0.0.1:%d/library/none:latest" % port,
                                              "insecure": True, "stream": False})
        check("pull missing model", st >= 400 and "error" in e, (st, e))
        req(s, "POST", "/api/generate", {"model": pulled, "keep_alive": 0})
        req(s, "DELETE", "/api/delete", {"model": pulled})
    finally:
        regp.terminate()
        regp.wait()


def test_mutations(s):
    """Valid requests with one field swapped for a value of every other type: the server
    answers each with 200 or a JSON 4xx error and never dies (ASan runs this too)."""
    import random
    rnd = random.Random(1234)
    values = [None, True, 7, -1, 2.5, "", "x" * 300, [], [1, "a", None], {}, {"a": {"b": []}}, "\u0000\ud7ff",
              2 ** 63, -2 ** 63, 1e308]
    bases = [("/api/generate", {"model": "rnd", "prompt": "hi", "system": "s", "raw": False, "stream": False,
                                "keep_alive": "5m", "context": [2, 105], "format": "json", "images": [],
                                "template": "", "suffix": "", "think": False}),
             ("/api/chat", {"model": "rnd", "stream": False, "keep_alive": 5, "format": "",
                            "messages": [{"role": "user", "content": "hi", "images": []}], "tools": []}),
             ("/v1/chat/completions", {"model": "rnd", "messages": [{"role": "user", "content": "hi"}],
                                       "temperature": 1, "top_p": 1, "seed": 1, "stop": ["x"], "n": 1,
                                       "stream": False, "stream_options": {"include_usage": True}}),
             ("/v1/completions", {"model": "rnd", "prompt": "hi", "suffix": "", "seed": 1, "stop": "x",
                                  "frequency_penalty": 0, "presence_penalty": 0}),
             ("/api/show", {"model": "rnd", "verbose": False}),
             ("/api/copy", {"source": "rnd", "destination": "rnd-m"}),
             ("/api/create", {"model": "rnd-m", "from": "rnd", "system": "s", "parameters": {"top_k": 3}})]
    bad_status = []
    n = 0
    for path, base in bases:
        for key in list(base):
            for v in rnd.sample(values, 6):
                body = json.loads(json.dumps(base))
                body[key] = v
                if path in ("/api/generate", "/api/chat"):
                    body["options"] = {"num_predict": 1}
                else:
                    body["max_tokens"] = 1
                st, h, b = req(s, "POST", path, body)
                n += 1
                try:
                    ok_body = st == 200 or "error" in json.loads(b)
                except ValueError:
                    ok_body = False
                if st not in (200, 400, 404) or not ok_body:
                    bad_status.append((path, key, v, st, b[:200]))
    req(s, "DELETE", "/api/delete", {"model": "rnd-m"})
    check("mutated requests: %d answered with 200/400/404 + JSON" % n, not bad_status, bad_status[:5])
    check("server alive after mutations", req(s, "GET", "/")[0] == 200 and s.proc.poll() is None, "")


def run_solo(s, seed, n=12):
    st, r = jreq(s, "POST", "/api/generate", {"model": "rnd", "prompt": "Write a poem", "stream": False,
                                              "options": gen_opts(seed, n)})
    return r["response"] if st == 200 else ("ERR", st, r)


def test_concurrency(s):
    run_solo(s, 999)  # warm-up: load and fill the prefix cache as every later request sees it
    seeds = [101, 202, 303, 404, 505, 606, 707, 808]
    solo = {sd: run_solo(s, sd) for sd in seeds}
    got = {}

    def worker(sd):
        got[sd] = run_solo(s, sd)
    th = [threading.Thread(target=worker, args=(sd,)) for sd in seeds]
    for t in th:
        t.start()
    for t in th:
        t.join()
    check("8 concurrent == solo", all(got[sd] == solo[sd] for sd in seeds),
          [(sd, got.get(sd), solo[sd]) for sd in seeds if got.get(sd) != solo[sd]])
    check("seeds give different outputs", len(set(solo.values())) >= 6, solo)


def test_disconnect(s):
    sock = socket.create_connection(("127.0.0.1", s.port))
    body = json.dumps({"model": "rnd", "prompt": "Go on forever", "options": {"num_predict": 100000, "seed": 1}}).encode()
    sock.sendall(b"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(body) + body)
    buf = b""
    while buf.count(b'"done":false') < 3:
        chunk = sock.recv(4096)
        if not chunk:
            break
        buf += chunk
    n_before = s.text().count("generation cancelled after")
    sock.close()
    t0 = time.time()
    while time.time() - t0 < 5 and s.text().count("generation cancelled after") == n_before:
        time.sleep(0.02)
    dt = time.time() - t0
    check("disconnect cancels the generation", s.text().count("generation cancelled after") > n_before, s.text()[-500:])
    m = re.findall(r"generation cancelled after (\d+) tokens", s.text())
    check("cancelled early (< 500 tokens)", m and int(m[-1]) < 500, m)
    t0 = time.time()
    r = run_solo(s, 5, 2)
    check("next request served promptly", isinstance(r, str) and time.time() - t0 < 5 + (20 if ASAN else 0),
          (r, time.time() - t0))
    print("     (cancel seen after %.0f ms)" % (dt * 1000))
    # a queued request whose client leaves is dropped before it runs
    # A must run long: find a seed whose sample path has no end-of-turn token for 1500 tokens
    seed_a = None
    for sd in range(1, 12):
        st, r = jreq(s, "POST", "/api/generate", {"model": "rnd", "prompt": "A", "stream": False,
                                                  "options": {"num_predict": 1500, "seed": sd}})
        if st == 200 and r["eval_count"] == 1500:
            seed_a = sd
            break
    if seed_a is None:
        return skip("queued client leaving", "no seed gives a long generation")
    global SEED_LONG
    SEED_LONG = seed_a
    a = socket.create_connection(("127.0.0.1", s.port))
    body = json.dumps({"model": "rnd", "prompt": "A", "options": {"num_predict": 1500, "seed": seed_a}}).encode()
    a.sendall(b"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    a.recv(4096)
    runs_before = len(re.findall(r"rnd:latest: prompt \d+ tokens", s.text()))
    b = socket.create_connection(("127.0.0.1", s.port))
    body = json.dumps({"model": "rnd", "prompt": "B", "stream": False}).encode()
    b.sendall(b"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    time.sleep(0.1)
    b.close()
    t0 = time.time()
    while time.time() - t0 < 5 and "client went away while queued" not in s.text():
        time.sleep(0.01)
    a.close()
    time.sleep(0.3)
    runs = len(re.findall(r"rnd:latest: prompt \d+ tokens", s.text())) - runs_before
    check("queued client leaving: dropped", "client went away while queued" in s.text() and runs == 1,
          (runs, s.text()[-800:]))


def test_queue_limit():
    s = Server({"OLLAMA_MAX_QUEUE": "1"})
    try:
        results = []

        def worker(i):
            results.append(jreq(s, "POST", "/api/generate", {"model": "rnd", "prompt": "A", "stream": False,
                                                             "options": {"num_predict": 1500, "seed": SEED_LONG}}))
        jreq(s, "POST", "/api/generate", {"model": "rnd", "stream": False})  # load first
        th = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for t in th:
            t.start()
            time.sleep(0.05)
        for t in th:
            t.join()
        busy = [r for r in results if r[0] == 503]
        check("queue full -> 503", busy and busy[0][1] == {
            "error": "server busy, please try again.  maximum pending requests exceeded"}, results)
        check("others served", any(r[0] == 200 for r in results), [r[0] for r in results])
    finally:
        rc = s.stop()
        check("second server stops", rc == 0, rc)


def test_noprune():
    """PIPPA_NOPRUNE reaches the server: DELETE /api/delete keeps the blobs it leaves
    unreferenced (as OLLAMA_NOPRUNE), in a store of its own."""
    store = os.path.join(TMP, "store-noprune")
    s = Server({"PIPPA_NOPRUNE": "1", "PIPPA_MODELS": store})
    try:
        st, h, b = req(s, "POST", "/api/create", {"model": "keep", "from": "rnd", "stream": False})
        check("noprune: create", st == 200 and json.loads(b) == {"status": "success"}, b)
        before = sorted(os.listdir(os.path.join(store, "blobs")))
        st, h, b = req(s, "DELETE", "/api/delete", {"model": "keep"})
        check("noprune: delete", st == 200 and "keep:latest" not in
              [m["name"] for m in jreq(s, "GET", "/api/tags")[1]["models"]], (st, b))
        after = sorted(os.listdir(os.path.join(store, "blobs")))
        check("noprune: blobs stay after delete", before and after == before, (before, after))
    finally:
        rc = s.stop()
        check("noprune server stops", rc == 0, rc)


def node_clients(s):
    if not shutil.which("node") or not shutil.which("npm"):
        return skip("npm clients", "node/npm not installed")
    d = os.path.join(TMP, "node")
    os.makedirs(d)
    with open(os.path.join(d, "package.json"), "w") as f:
        f.write('{"name":"t","private":true,"type":"module"}')
    try:
        out = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "ollama@0.6.4", "openai@6.49.0"], cwd=d,
                             capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired:
        return skip("npm clients", "npm install timed out (no registry access?)")
    if out.returncode != 0:
        return skip("npm clients", "npm install failed (no registry access?): " + out.stderr.strip().splitlines()[-1:][0]
                    if out.stderr.strip() else "npm install failed")
    script = os.path.join(ROOT, "tests", "server_clients.mjs")
    shutil.copy(script, os.path.join(d, "clients.mjs"))
    out = subprocess.run(["node", "clients.mjs", s.base], cwd=d, capture_output=True, text=True, timeout=300)
    for line in out.stdout.splitlines():
        if line.startswith("ok "):
            ok("node " + line[3:])
        elif line.startswith("FAIL "):
            bad("node " + line[5:].split(":")[0], line)
    if out.returncode != 0 and "FAIL" not in out.stdout:
        bad("node clients", out.stdout[-1000:] + out.stderr[-2000:])


def main():
    global MODELS, STORE
    if not os.path.exists(PIPPA) or not os.path.exists(GEN):
        skip("server", "%s or %s not built" % (PIPPA, GEN))
        print("RESULT server %d %d %d" % (N_PASS, N_FAIL, N_SKIP))
        return 0
    MODELS = os.path.join(TMP, "models")
    os.makedirs(MODELS)
    STORE = os.path.join(TMP, "store")
    # untied output + larger weights: random text whose tokens depend on the seed
    subprocess.run([GEN, "--shape", "fx", "--untied", "--std", "0.5", "-o", os.path.join(MODELS, "rnd.gguf")],
                   check=True, capture_output=True)
    shutil.copy(os.path.join(MODELS, "rnd.gguf"), os.path.join(MODELS, "rnd:v2.gguf"))
    with open(os.path.join(MODELS, "rnd:v2.json"), "w") as f:
        json.dump({"system": "You are terse.", "parameters": {"temperature": 0.7, "stop": ["<end_of_turn>"]}}, f)
    s = Server({"PIPPA_ORIGINS": "http://allowed.example"})
    shutdown_tail = []
    try:
        for t in (test_basics, test_generate, test_chat, test_openai, test_errors, test_cors_host, test_manage,
                  test_load_unload, test_mutations, test_concurrency, test_disconnect, node_clients):
            try:
                t(s)
            except Exception as e:  # a crash in one group is one failure, the rest still run
                import traceback
                traceback.print_exc()
                bad(t.__name__, repr(e))
        # SIGTERM while a stream is running
        started = threading.Event()

        def long_stream():
            try:
                body = json.dumps({"model": "rnd", "prompt": "A",
                                   "options": {"num_predict": 100000, "seed": SEED_LONG}}).encode()
                with urllib.request.urlopen(urllib.request.Request(s.base + "/api/generate", data=body),
                                            timeout=60) as resp:
                    lines = [resp.readline()]
                    started.set()
                    lines += resp.read().splitlines()
                shutdown_tail.append(json.loads([l for l in lines if l.strip()][-1]))
            except Exception as e:
                shutdown_tail.append(repr(e))
            started.set()
        th = threading.Thread(target=long_stream)
        th.start()
        started.wait(30)
    finally:
        t0 = time.time()
        rc = s.stop(60)
    th.join(10)
    check("SIGTERM: clean exit 0", rc == 0, (rc, s.text()[-2000:]))
    check("SIGTERM: stream ends with an error line", shutdown_tail == [{"error": "server is shutting down"}],
          shutdown_tail)
    check("SIGTERM: prompt shutdown", time.time() - t0 < (30 if ASAN else 5), time.time() - t0)
    log = s.text()
    check("no sanitizer reports", "Sanitizer" not in log and "runtime error" not in log, log[-3000:])
    try:
        test_queue_limit()
    except Exception as e:
        bad("queue limit", repr(e))
    try:
        test_noprune()
    except Exception as e:
        bad("noprune", repr(e))
    print("RESULT server %d %d %d" % (N_PASS, N_FAIL, N_SKIP))
    shutil.rmtree(TMP, ignore_errors=True)
    return 1 if N_FAIL else 0


MODELS = None
STORE = None
SEED_LONG = 1  # a seed whose generation after prompt "A" runs >= 1500 tokens (test_disconnect)
if __name__ == "__main__":
    sys.exit(main())
